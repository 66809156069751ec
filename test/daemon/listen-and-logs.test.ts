import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isLoopback, parseListen, requireTokenFor } from '../../agent/daemon/listen-address.js';
import { createLogger } from '../../agent/daemon/logger.js';

describe('listen address', () => {
  it('parses HOST:PORT and [IPv6]:PORT and tells loopback apart', () => {
    expect(parseListen('127.0.0.1:9740')).toEqual({ host: '127.0.0.1', port: 9740, loopback: true });
    expect(parseListen('[::1]:9740')).toEqual({ host: '::1', port: 9740, loopback: true });
    expect(parseListen('0.0.0.0:9740').loopback).toBe(false);
    expect(parseListen('[::]:80').loopback).toBe(false);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('127.10.0.1')).toBe(true);
    expect(isLoopback('10.0.0.5')).toBe(false);
    for (const bad of ['9740', 'host', '1.2.3.4:99999', '::1:9740'])
      expect(() => parseListen(bad)).toThrow(/expected HOST:PORT/);
  });

  it('requires a token of reasonable length off loopback, and keeps one set on loopback', () => {
    expect(() => requireTokenFor(parseListen('0.0.0.0:9740'), undefined)).toThrow(/without VOUCH_API_TOKEN/);
    expect(() => requireTokenFor(parseListen('0.0.0.0:9740'), 'short')).toThrow(/too short/);
    expect(requireTokenFor(parseListen('0.0.0.0:9740'), 'a-long-enough-token-123')).toBe(
      'a-long-enough-token-123',
    );
    expect(requireTokenFor(parseListen('127.0.0.1:9740'), undefined)).toBeUndefined();
    expect(requireTokenFor(parseListen('127.0.0.1:9740'), 'a-long-enough-token-123')).toBe(
      'a-long-enough-token-123',
    );
  });
});

describe('daemon logger', () => {
  it('writes JSON lines and redacts credentials and tokens', () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }),
    });
    logger.child({ set: 'orders', job: 'scan-1' }).info(
      {
        credentials: { accessKeyId: 'AKIA', secretAccessKey: 'hunter2' },
        source: { secretAccessKey: 'hunter3', bucket: 'b' },
        req: { headers: { authorization: 'Bearer t0k3n' } },
      },
      'scan started',
    );
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'scan started',
      set: 'orders',
      job: 'scan-1',
      source: { bucket: 'b', secretAccessKey: '[redacted]' },
      credentials: '[redacted]',
    });
    expect(lines[0]).not.toMatch(/hunter|AKIA|t0k3n/);
  });
});
