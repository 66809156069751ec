/**
 * User commands: the policy's own checks (`test -s db/orders.sql`, a script that counts CSV rows,
 * a restored application's self-test), each run in the sandbox with the restored tree as working
 * directory, and judged by exit code and, optionally, a regex on standard output. Scripts are
 * files on this machine (restore-drills/ has ready ones), mounted read-only beside the tree.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../../errors.js';
import { processFailure } from './process-detail.js';
import { reportFrom, type Verifier } from './verifier.js';
import { type VerifierFailure } from '../../model/drill.js';

export const commandsVerifier: Verifier = {
  name: 'commands',
  phase: 'app',
  sandboxed: true,
  enabled: (drill) => drill.commands.length > 0,
  async run({ drill, sandbox, signal }) {
    const failures: VerifierFailure[] = [];
    for (const command of drill.commands) {
      signal?.throwIfAborted();
      let argv: string[];
      let files: { name: string; data: Buffer }[] = [];
      if (command.script) {
        let data: Buffer;
        try {
          data = await readFile(command.script);
        } catch (error) {
          failures.push({
            path: command.name,
            detail: `cannot read script ${command.script}: ${describeError(error)}`,
          });
          continue;
        }
        const name = path.basename(command.script).replace(/[^\w.-]/g, '_');
        files = [{ name, data }];
        argv = ['/bin/sh', `${sandbox!.paths.files}/${name}`, ...command.args];
      } else {
        argv = ['/bin/sh', '-c', command.run!];
      }
      const result = await sandbox!.run({
        argv,
        files,
        timeoutSeconds: command.timeoutSeconds,
        ...(signal ? { signal } : {}),
      });
      signal?.throwIfAborted();
      const failure = processFailure(result, command.expectExit, command.timeoutSeconds);
      if (failure) {
        failures.push({ path: command.name, detail: failure });
      } else if (command.expectOutput && !command.expectOutput.test(result.stdout)) {
        const shown = result.stdout.trim().split('\n').slice(-2).join(' | ').slice(-200);
        failures.push({
          path: command.name,
          detail: `output does not match /${command.expectOutput.source}/${shown ? ` (ended with: ${shown})` : ' (no output)'}`,
        });
      }
    }
    const count = drill.commands.length;
    return reportFrom(
      failures,
      `${count} command${count === 1 ? '' : 's'} passed`,
      `${failures.length} of ${count} command${count === 1 ? '' : 's'} failed`,
    );
  },
};
