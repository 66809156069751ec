/**
 * Ctrl-C and SIGTERM. By default an interrupt ends vouch at once (exit 130). A command with
 * something to tear down (a drill's sandbox and directory) takes the interrupt over while it
 * runs: the first signal asks it to stop cleanly, a second one ends vouch at once.
 */
import { EXIT } from './exit-codes.js';

let takeover: ((signal: NodeJS.Signals) => void) | null = null;
let interrupted = false;

function exitNow(): never {
  process.stderr.write('\nvouch: interrupted\n');
  process.exit(EXIT.interrupted);
}

function onSignal(signal: NodeJS.Signals): void {
  if (!takeover || interrupted) exitNow();
  interrupted = true;
  process.stderr.write(`\nvouch: ${signal}: stopping (again to quit at once)\n`);
  takeover(signal);
}

/** Installs the default handlers (SIGINT; SIGTERM only while a command has taken over). */
export function installInterruptHandlers(): void {
  process.on('SIGINT', onSignal);
}

/** Lets `handler` stop the running command on SIGINT or SIGTERM; returns the function that gives it back. */
export function takeOverInterrupts(handler: (signal: NodeJS.Signals) => void): () => void {
  takeover = handler;
  process.on('SIGTERM', onSignal);
  return () => {
    takeover = null;
    process.off('SIGTERM', onSignal);
  };
}
