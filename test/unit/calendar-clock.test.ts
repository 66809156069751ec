/**
 * Where a process's calendar clock starts (agent/clock.ts): from `VOUCH_NOW`, or from the offset
 * its parent handed down — but only when the parent's offset came from the same `VOUCH_NOW`.
 */
import { describe, expect, it } from 'vitest';
import { startingOffset } from '../../agent/clock.js';

const START = Date.parse('2026-03-01T00:00:00Z');

describe('the calendar clock a process starts with', () => {
  it('is the process clock when nothing is set', () => {
    expect(startingOffset({}, START)).toBe(0);
  });

  it('stands at VOUCH_NOW when the process starts', () => {
    expect(startingOffset({ VOUCH_NOW: '2027-12-31T23:30:00Z' }, START)).toBe(
      Date.parse('2027-12-31T23:30:00Z') - START,
    );
  });

  it("keeps its parent's offset when given the same VOUCH_NOW, so a child started later agrees with the parent", () => {
    const env = {
      VOUCH_NOW: '2027-12-31T23:30:00Z',
      VOUCH_CLOCK_OFFSET_MS: '12345',
      VOUCH_CLOCK_ORIGIN: '2027-12-31T23:30:00Z',
    };
    expect(startingOffset(env, START + 60_000)).toBe(12345);
  });

  it('starts from its own VOUCH_NOW when the inherited offset came from another instant', () => {
    const env = {
      VOUCH_NOW: '2030-06-01T00:00:00Z',
      VOUCH_CLOCK_OFFSET_MS: '12345',
      VOUCH_CLOCK_ORIGIN: '2027-12-31T23:30:00Z',
    };
    expect(startingOffset(env, START)).toBe(Date.parse('2030-06-01T00:00:00Z') - START);
  });

  it('starts from the process clock when the parent had VOUCH_NOW and the child has it removed', () => {
    const env = { VOUCH_CLOCK_OFFSET_MS: '12345', VOUCH_CLOCK_ORIGIN: '2027-12-31T23:30:00Z' };
    expect(startingOffset(env, START)).toBe(0);
  });

  it('keeps an offset from a parent that did not say where it came from', () => {
    expect(startingOffset({ VOUCH_NOW: '2030-06-01T00:00:00Z', VOUCH_CLOCK_OFFSET_MS: '777' }, START)).toBe(
      777,
    );
  });

  it('refuses a VOUCH_NOW without a zone, naming the variable', () => {
    expect(() => startingOffset({ VOUCH_NOW: '2027-12-31 23:30' }, START)).toThrow(
      /^VOUCH_NOW: expected an ISO-8601 instant with a zone/,
    );
  });
});
