/** placeholder replaced below */
import type { Command } from 'commander';
export function registerEvidenceReport(_evidence: Command): void {}
