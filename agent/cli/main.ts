#!/usr/bin/env node
/** The `vouch` command line: global flags, one file per command, and the exit-code contract. */
// The AWS SDK warns on every run under Node 20, which `engines` supports; keep stderr for vouch's own messages.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, describeError, StateLockedError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerDemo } from './demo.js';
import { registerDrill } from './drill.js';
import { registerEvidence } from './evidence.js';
import { EXIT } from './exit-codes.js';
import { registerInspect } from './inspect.js';
import { installInterruptHandlers } from './interrupt.js';
import { printJson } from './output.js';
import { registerPolicy } from './policy-check.js';
import { registerScan } from './scan.js';

function buildProgram(): Command {
  const program = new Command('vouch')
    .description('Backup integrity and clean-restore verification: hash drift, ransomware damage, restore drills, evidence.')
    .version(VERSION)
    .addOption(new Option('--config <file>', 'policy file').env('VOUCH_CONFIG').default('vouch.yaml'))
    .addOption(new Option('--state <dir>', 'state directory (default: the policy\'s "state", else ./vouch-state)').env('VOUCH_STATE'))
    .option('--json', 'print one JSON document on stdout (logs go to stderr)', false)
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 clean/passed, 1 runtime error, 2 usage or policy error, 3 findings, 130 interrupted.',
    );
  registerScan(program);
  registerDrill(program);
  registerEvidence(program);
  registerInspect(program);
  registerPolicy(program);
  registerDemo(program);
  return program;
}

function fail(error: unknown, json: boolean): number {
  const code = error instanceof ConfigError ? EXIT.usage : EXIT.runtime;
  const message = error instanceof ConfigError || error instanceof StateLockedError ? error.message : describeError(error);
  if (json) printJson({ error: message, ...(error instanceof ConfigError ? { problems: error.problems } : {}) });
  process.stderr.write(`vouch: ${message}\n`);
  return code;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const json = argv.includes('--json');
  installInterruptHandlers();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = fail(error, json);
  }
}

await main(process.argv);
