/** The machine's Chromium (Debian package), headless, as benchmarks and browser tests drive it: never a downloaded browser. */
import { chromium, type Browser } from 'playwright-core';

/** The flags Chromium runs with (no downloads, no background traffic). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts /usr/bin/chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}
