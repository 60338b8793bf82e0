import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.js';

/** A temp DATA_DIR, removed by `cleanup`. */
export function tempDataDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'papercord-trending-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A real pino logger whose lines are kept, so tests can check what an operator would read. */
export function recordingLogger(): {
  logger: Logger;
  lines: () => { level: number; msg: string; [key: string]: unknown }[];
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ LOG_LEVEL: 'info' }, { destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
  };
}

/** A clock tests move by hand. */
export function fakeClock(start: string): { now: () => Date; set: (iso: string) => void } {
  let current = new Date(start);
  return { now: () => new Date(current), set: (iso) => (current = new Date(iso)) };
}
