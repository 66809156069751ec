/** The daemon's logger: pino JSON lines on stdout, credentials and tokens redacted wherever they appear. */
import { pino, type DestinationStream, type Logger } from 'pino';
import { logLevel } from './log-level.js';

/** Paths pino replaces with `[redacted]`: any credential-like field at the top level or one object down. */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'apiToken',
  'password',
  'secretAccessKey',
  'accessKeyId',
  'sessionToken',
  'credentials',
  '*.authorization',
  '*.token',
  '*.apiToken',
  '*.password',
  '*.secretAccessKey',
  '*.accessKeyId',
  '*.sessionToken',
  '*.credentials',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default: stdout). */
  destination?: DestinationStream;
}

/** Creates the root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: logLevel(options.level),
      base: { service: 'vouch', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
