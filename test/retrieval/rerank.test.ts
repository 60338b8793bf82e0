import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isUserError } from '../../src/errors.js';
import { createReranker } from '../../src/retrieval/rerank.js';
import { PINO_WARN, capturingLogger } from '../embeddings/fixtureModel.js';

/** No rerank model exists on this machine: every load must fail fast and be handled as the setting says. */
let emptyCache: string;

beforeAll(async () => {
  emptyCache = await mkdtemp(path.join(tmpdir(), 'papercord-rerank-'));
});
afterAll(async () => {
  await rm(emptyCache, { recursive: true, force: true });
});

function configWith(reranker: string, overrides: Record<string, string> = {}) {
  return loadConfig({
    RERANKER: reranker,
    RERANK_MODEL: 'papercord/no-such-cross-encoder',
    MODEL_CACHE_DIR: emptyCache,
    ALLOW_REMOTE_MODELS: 'false',
    LOG_LEVEL: 'debug',
    ...overrides,
  });
}

/** A loopback port with nothing listening: downloads are refused at once. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('createReranker', () => {
  it('given RERANKER=off, it should build no reranker and say nothing', async () => {
    const config = configWith('off');
    const { logger, records } = capturingLogger(config);
    expect(await createReranker(config, logger)).toBeUndefined();
    expect(records.filter((record) => record.level >= PINO_WARN)).toEqual([]);
  });

  it('given RERANKER=auto and a model that is not on disk, it should go on without reranking after one warning', async () => {
    const config = configWith('auto');
    const { logger, records } = capturingLogger(config);

    expect(await createReranker(config, logger)).toBeUndefined();
    const warnings = records.filter((record) => record.level >= PINO_WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(
      /rerank model papercord\/no-such-cross-encoder could not be loaded .*without reranking/,
    );
  });

  it('given RERANKER=auto and a model host that refuses connections, it should fall back with one warning naming the host', async () => {
    const host = await refusedUrl();
    const config = configWith('auto', { ALLOW_REMOTE_MODELS: 'true', MODEL_REMOTE_HOST: host });
    const { logger, records } = capturingLogger(config);

    expect(await createReranker(config, logger)).toBeUndefined();
    const warnings = records.filter((record) => record.level >= PINO_WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('127.0.0.1');
  });

  it('given RERANKER=transformers and no model, it should fail with a message saying how to fix it', async () => {
    const config = configWith('transformers');
    const { logger } = capturingLogger(config);

    const failure = await createReranker(config, logger).catch((error: unknown) => error);
    expect(isUserError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/papercord\/no-such-cross-encoder could not be loaded.*RERANKER=off/);
  });
});
