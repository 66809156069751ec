/** `vouch policy check FILE`: validate a policy and print every problem with its path. */
import type { Command } from 'commander';
import { loadPolicy } from '../config/load-policy.js';
import { describeSource } from '../config/resolve-policy.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines } from './output.js';

/** Registers `policy check`. */
export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('work with policy files');
  policy
    .command('check')
    .description('validate a policy file; prints every error with its path (exit 2 when invalid)')
    .argument('<file>', 'policy file (YAML)')
    .action(async (file: string, _options, command: Command) => {
      const loaded = await loadPolicy(file);
      const summary = loaded.sets.map((set) => ({
        name: set.name,
        source: describeSource(set.source),
        layout:
          set.source.kind === 'restic' || set.source.kind === 'borg' ? `${set.source.kind}` : set.layout,
      }));
      if (globalOptions(command).json) printJson({ file: loaded.file, valid: true, sets: summary });
      else
        printLines([
          `${file}: valid, ${summary.length} set${summary.length === 1 ? '' : 's'}`,
          ...summary.map((set) => `  ${set.name}: ${set.layout} snapshots in ${set.source}`),
        ]);
    });
}
