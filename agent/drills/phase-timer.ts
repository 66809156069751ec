/**
 * Wall-clock seconds per drill phase: fetch (download), extract (restore), verify (digests,
 * structure), app (user commands and application checks). A phase may be entered more than once
 * (several application checks); its seconds add up.
 */
import type { DrillPhaseSeconds } from '../model/drill.js';

export type DrillPhase = keyof DrillPhaseSeconds;

/** Accumulates seconds per phase. */
export class PhaseTimer {
  private readonly seconds: DrillPhaseSeconds = { fetch: 0, extract: 0, verify: 0, app: 0 };

  constructor(private readonly onPhase?: (phase: DrillPhase) => void | Promise<void>) {}

  /** Runs `work` as part of `phase` and adds its wall time, even when it throws. */
  async time<T>(phase: DrillPhase, work: () => Promise<T>): Promise<T> {
    await this.onPhase?.(phase);
    const started = process.hrtime.bigint();
    try {
      return await work();
    } finally {
      this.seconds[phase] += Number(process.hrtime.bigint() - started) / 1e9;
    }
  }

  /** Seconds so far, rounded to milliseconds. */
  snapshot(): DrillPhaseSeconds {
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return {
      fetch: round(this.seconds.fetch),
      extract: round(this.seconds.extract),
      verify: round(this.seconds.verify),
      app: round(this.seconds.app),
    };
  }
}
