#!/usr/bin/env node
/** The `vouch` executable. */
// The AWS SDK warns on every run under Node 20, which `engines` supports; keep stderr for vouch's own messages.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { runCli } from './program.js';

await runCli(process.argv);
