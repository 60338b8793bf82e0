/**
 * `docker build --build-arg PRELOAD_MODEL=true` runs scripts/preload-model: it must fill MODEL_CACHE_DIR so that the
 * container then embeds with downloads off, and must fail the build (exit 1, one line) when it cannot.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_HIDDEN_SIZE, FIXTURE_MODEL_ID } from '../../scripts/make-fixture-model.js';
import { createEmptyFolder, createFixtureModelFolder } from '../embeddings/fixtureModel.js';

const TSX = path.resolve('node_modules/.bin/tsx');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Serves `<modelDirectory>` the way the Hub does: `/<model id>/resolve/main/<file>`. */
async function startModelHost(modelDirectory: string): Promise<string> {
  const prefix = `/${FIXTURE_MODEL_ID}/resolve/main/`;
  const server = createServer((request, response) => {
    const url = decodeURIComponent(request.url ?? '');
    if (!url.startsWith(prefix) || url.includes('..')) return void response.writeHead(404).end();
    readFile(path.join(modelDirectory, url.slice(prefix.length))).then(
      (body) => response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function preload(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(TSX, ['scripts/preload-model.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'silent',
      EMBEDDING_MODEL: FIXTURE_MODEL_ID,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('preload-model (the PRELOAD_MODEL build argument)', () => {
  it('given a reachable model host, it should download the model so that it then loads with downloads off', async () => {
    const fixture = await createFixtureModelFolder();
    cleanups.push(fixture.remove);
    const cache = await createEmptyFolder();
    cleanups.push(cache.remove);
    const host = await startModelHost(fixture.modelDirectory);

    const online = await preload({ MODEL_CACHE_DIR: cache.path, MODEL_REMOTE_HOST: host, ALLOW_REMOTE_MODELS: 'true' });
    const offline = await preload({ MODEL_CACHE_DIR: cache.path, ALLOW_REMOTE_MODELS: 'false' });

    expect(online.code, online.stderr).toBe(0);
    expect(online.stdout).toBe(
      `preloaded transformers:${FIXTURE_MODEL_ID} (${FIXTURE_HIDDEN_SIZE} dimensions) into ${cache.path}\n`,
    );
    expect(offline.code, offline.stderr).toBe(0);
  });

  it('given no model and downloads off, it should fail the build with one line saying why', async () => {
    const cache = await createEmptyFolder();
    cleanups.push(cache.remove);

    const { code, stdout, stderr } = await preload({ MODEL_CACHE_DIR: cache.path, ALLOW_REMOTE_MODELS: 'false' });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^could not preload ${FIXTURE_MODEL_ID}: .*ALLOW_REMOTE_MODELS`));
  });
});
