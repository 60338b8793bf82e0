import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { FIXTURE_MODEL_ID, writeFixtureModel } from '../../scripts/make-fixture-model.js';

/**
 * A temp folder holding the generated fixture models at `<root>/papercord/tiny-bert` (`modelDirectory`) and
 * `<root>/papercord/tiny-bert-contextual`; `remove()` deletes it.
 */
export interface FixtureModelFolder {
  root: string;
  modelDirectory: string;
  remove(): Promise<void>;
}

export async function createFixtureModelFolder(): Promise<FixtureModelFolder> {
  const root = await mkdtemp(join(tmpdir(), 'papercord-fixture-model-'));
  const modelDirectory = await writeFixtureModel(root);
  await writeFixtureModel(root, { contextual: true });
  return { root, modelDirectory, remove: () => rm(root, { recursive: true, force: true }) };
}

export async function createEmptyFolder(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'papercord-empty-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Config for embedder tests: the fixture model, downloads off, unless `overrides` say otherwise. */
export function fixtureConfig(modelCacheDir: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    EMBEDDING_MODEL: FIXTURE_MODEL_ID,
    MODEL_CACHE_DIR: modelCacheDir,
    ALLOW_REMOTE_MODELS: 'false',
    LOG_LEVEL: 'debug',
    ...overrides,
  });
}

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose JSON lines are kept in `records`, so tests can count warnings. */
export function capturingLogger(config: Pick<Config, 'LOG_LEVEL'>): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const destination: DestinationStream = { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) };
  return { logger: createLogger(config, { destination }), records };
}

export const PINO_WARN = 40;

export function dot(left: readonly number[], right: readonly number[]): number {
  return left.reduce((sum, value, index) => sum + value * right[index]!, 0);
}

export function norm(vector: readonly number[]): number {
  return Math.sqrt(dot(vector, vector));
}
