/**
 * The analysis pool hands a worker local files only while their reserved bytes fit under
 * FILE_BYTES_AHEAD_PER_WORKER, except one file of any size to a worker with nothing out: a stop
 * request never waits behind a pile of large files in one worker, and large files spread over the
 * workers instead of queueing behind each other (analysis-pool.ts, `filesWithin`).
 */
import { describe, expect, it } from 'vitest';
import { FILE_BYTES_AHEAD_PER_WORKER, filesWithin } from '../../agent/analysis/analysis-pool.js';

const MiB = 2 ** 20;
const queue = (...sizes: number[]) => sizes.map((maxBytes) => ({ file: { maxBytes } }));

describe('files handed to one worker, by bytes', () => {
  it('takes whole-read small files up to the message size: the byte bound does not limit a tree of small files', () => {
    expect(filesWithin(queue(...Array<number>(40).fill(MiB)), 32, 0)).toBe(32);
    expect(filesWithin(queue(...Array<number>(40).fill(MiB)), 32, 64 * MiB)).toBe(32);
  });

  it('stops before the file that would pass the bound', () => {
    expect(filesWithin(queue(100 * MiB, 100 * MiB, 100 * MiB), 32, 0)).toBe(2);
    expect(filesWithin(queue(100 * MiB, 100 * MiB), 32, 100 * MiB)).toBe(1);
    expect(filesWithin(queue(MiB, 300 * MiB, MiB), 32, 0)).toBe(1);
  });

  it('gives a file larger than the bound to a worker with nothing out, alone, and to no other', () => {
    expect(filesWithin(queue(FILE_BYTES_AHEAD_PER_WORKER * 3, MiB), 32, 0)).toBe(1);
    expect(filesWithin(queue(FILE_BYTES_AHEAD_PER_WORKER * 3, MiB), 32, MiB)).toBe(0);
  });

  it('never takes more than asked or than are queued', () => {
    expect(filesWithin(queue(MiB, MiB, MiB), 2, 0)).toBe(2);
    expect(filesWithin(queue(), 32, 0)).toBe(0);
  });
});
