/**
 * Anchors the calendar clock (agent/clock.ts) when a test file starts, so every CLI or daemon the
 * test spawns inherits the same offset. `VOUCH_NOW=2027-12-31T23:30:00Z npm run test:dates` runs
 * the date-sensitive tests as if that were the time they started.
 */
import { now } from '../../agent/clock.js';

now();
