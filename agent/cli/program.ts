/** The `vouch` program: global flags, one file per command, and the exit-code contract. */
import { Command, CommanderError, Option } from 'commander';
import { now } from '../clock.js';
import { ConfigError, describeError, StateLockedError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerAccept } from './accept.js';
import { registerAlertRules } from './alert-rules.js';
import { registerDemo } from './demo.js';
import { registerDrill } from './drill.js';
import { registerEvidence } from './evidence.js';
import { EXIT } from './exit-codes.js';
import { registerInspect } from './inspect.js';
import { installInterruptHandlers } from './interrupt.js';
import { registerLastClean } from './last-clean.js';
import { registerRecover } from './recover.js';
import { exitQuietlyOnBrokenPipe, printErrorLines, printJson, setQuiet } from './output.js';
import { logLevel } from '../daemon/log-level.js';
import { registerPolicy } from './policy-check.js';
import { registerScan } from './scan.js';
import { registerServe, type ServeDependencies } from './serve.js';
import type { RunDrill } from '../daemon/drill-contract.js';

/**
 * The real drill runner, loaded on first use: the sandbox, verifiers and report code are only
 * needed when a drill actually runs.
 */
const runDrillOnDemand: RunDrill = async (set, options) =>
  (await import('../drills/run-drill.js')).runDrill(set, options);

/** Builds the command tree; `dependencies` wires the daemon's drill runner (tests inject fakes). */
export function buildProgram(dependencies: ServeDependencies = { runDrill: runDrillOnDemand }): Command {
  const program = new Command('vouch')
    .description(
      'Backup integrity and clean-restore verification: hash drift, ransomware damage, restore drills, evidence.',
    )
    .version(VERSION)
    .addOption(new Option('--config <file>', 'policy file').env('VOUCH_CONFIG').default('vouch.yaml'))
    .addOption(
      new Option('--state <dir>', 'state directory (default: the policy\'s "state", else ./vouch-state)').env(
        'VOUCH_STATE',
      ),
    )
    .option('--json', 'print one JSON document on stdout (logs go to stderr)', false)
    .option(
      '-q, --quiet',
      'print nothing but errors: the exit code says what was found (no report, no progress bar)',
      false,
    )
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
  registerLastClean(program);
  registerRecover(program);
  registerAccept(program);
  registerAlertRules(program);
  registerPolicy(program);
  registerServe(program, dependencies);
  registerDemo(program, dependencies);
  return program;
}

function fail(error: unknown, json: boolean): number {
  const code = error instanceof ConfigError ? EXIT.usage : EXIT.runtime;
  const message =
    error instanceof ConfigError || error instanceof StateLockedError ? error.message : describeError(error);
  if (json)
    printJson({ error: message, ...(error instanceof ConfigError ? { problems: error.problems } : {}) });
  // A policy error lists one problem per line; anything else is one line, whatever it quotes.
  const lines = error instanceof ConfigError ? message.split('\n') : [message];
  printErrorLines([`vouch: ${lines[0]}`, ...lines.slice(1)]);
  return code;
}

/** Runs the CLI on `argv` and sets process.exitCode. */
export async function runCli(argv: string[], dependencies?: ServeDependencies): Promise<void> {
  const program = buildProgram(dependencies);
  const json = argv.includes('--json');
  exitQuietlyOnBrokenPipe();
  installInterruptHandlers();
  program.hook('preAction', (root) => {
    setQuiet(Boolean(root.opts<{ quiet?: boolean }>().quiet));
    if (process.env.VOUCH_LOG_LEVEL !== undefined) logLevel();
  });
  try {
    now(); // a malformed VOUCH_NOW is a usage error before any command starts
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = fail(error, json);
  }
}
