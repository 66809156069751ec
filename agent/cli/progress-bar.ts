/** A progress bar on stderr when it is a terminal; nothing otherwise (logs and CI stay clean). */
import cliProgress from 'cli-progress';
import { formatBytes } from '../config/byte-size.js';
import { silentProgress, type ScanProgress } from '../scan/progress.js';
import { isQuiet, terminalSafe } from './output.js';

/** Progress for a CLI command: a bar when stderr is a TTY, silence otherwise. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ScanProgress {
  if (!stream.isTTY || isQuiet()) return silentProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {percentage}% | {done} of {all} | {status}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let done = 0;
  let status = '';
  let started = false;
  const render = () => {
    const payload = { done: formatBytes(done), all: formatBytes(total), status };
    if (!started) {
      bar.start(Math.max(total, 1), done, payload);
      started = true;
    } else {
      bar.setTotal(Math.max(total, 1));
      bar.update(done, payload);
    }
  };
  return {
    addTotal(bytes) {
      total += bytes;
      render();
    },
    advance(bytes) {
      done += bytes;
      render();
    },
    status(text) {
      const safe = terminalSafe(text);
      status = safe.length > 50 ? `…${safe.slice(-49)}` : safe;
      render();
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
