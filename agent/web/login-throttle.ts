/**
 * Slows down token guessing at the login form: after `maxFailures` wrong tokens from one address
 * within `windowMs`, further attempts from it are refused until the window passes. Bounded memory:
 * at most `maxAddresses` addresses are tracked, the oldest dropped first.
 */

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxAddresses: number;
}

export interface LoginThrottle {
  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfter(address: string, now?: number): number;
  failed(address: string, now?: number): void;
  succeeded(address: string): void;
}

/** Creates a throttle. */
export function createLoginThrottle(options: ThrottleOptions): LoginThrottle {
  const failures = new Map<string, number[]>();
  const recent = (address: string, now: number) =>
    (failures.get(address) ?? []).filter((at) => now - at < options.windowMs);
  return {
    retryAfter(address, now = Date.now()) {
      const times = recent(address, now);
      if (times.length < options.maxFailures) return 0;
      return Math.ceil((times[0]! + options.windowMs - now) / 1000);
    },
    failed(address, now = Date.now()) {
      const times = recent(address, now);
      times.push(now);
      failures.delete(address);
      failures.set(address, times.slice(-options.maxFailures));
      while (failures.size > options.maxAddresses) failures.delete(failures.keys().next().value!);
    },
    succeeded(address) {
      failures.delete(address);
    },
  };
}
