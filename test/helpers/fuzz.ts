/**
 * Property and fuzz test parameters: fixed seeds and bounded runs in `npm test` (CI is
 * reproducible and fast); `npm run fuzz` sets VOUCH_FUZZ_RUNS (and a fresh VOUCH_FUZZ_SEED) to run
 * the same properties much longer. A failure prints its seed and path; re-run with
 * `VOUCH_FUZZ_SEED=… VOUCH_FUZZ_RUNS=…` to reproduce it.
 */

/** The seed and run count for one property; `runs` is its CI budget. */
export function fuzzParameters(runs: number, seed = 20251019): { numRuns: number; seed: number } {
  const scale = process.env.VOUCH_FUZZ_RUNS ? Number(process.env.VOUCH_FUZZ_RUNS) : null;
  const chosenSeed = process.env.VOUCH_FUZZ_SEED ? Number(process.env.VOUCH_FUZZ_SEED) : seed;
  return {
    numRuns: scale !== null && Number.isFinite(scale) ? Math.max(runs, scale) : runs,
    seed: chosenSeed,
  };
}
