/** `vouch` with the fake drill runner wired in: what tests run as `vouch serve` in a child process. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { runCli } from '../../agent/cli/program.js';
import { fakeRunDrill } from './fake-drill.js';

await runCli(process.argv, { runDrill: fakeRunDrill });
