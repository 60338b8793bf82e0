import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

export type { Logger };

/** Paths pino blanks out wherever they appear, so a token never reaches a log line. */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'DISCORD_TOKEN',
  '*.DISCORD_TOKEN',
  'LLM_API_KEY',
  '*.LLM_API_KEY',
  'DATABASE_URL',
  '*.DATABASE_URL',
];

export interface LoggerOptions {
  /** Human-readable single lines (the CLI) instead of JSON lines (the bot, for log shippers). */
  human?: boolean;
  destination?: DestinationStream;
}

/** Logs go to stderr so that CLI output on stdout (including --json) stays machine-readable. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, options: LoggerOptions = {}): Logger {
  const destination =
    options.destination ??
    (options.human
      ? pretty({ destination: 2, sync: true, colorize: false, ignore: 'pid,hostname,app,time' })
      : pino.destination({ dest: 2, sync: true }));
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { app: 'papercord' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** A logger that discards everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
