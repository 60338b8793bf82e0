import { createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { FIXTURE_HIDDEN_SIZE, FIXTURE_MODEL_ID } from '../../scripts/make-fixture-model.js';
import {
  PINO_WARN,
  capturingLogger,
  createEmptyFolder,
  createFixtureModelFolder,
  fixtureConfig,
  type FixtureModelFolder,
} from './fixtureModel.js';

/** A loopback server that accepts connections and never answers: what a black-holed proxy looks like. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening: connections are refused at once. */
async function refusedUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A Hub-shaped loopback server for the fixture model (`/<model>/resolve/main/<file>`). With `stallAfterHeaders`,
 * the ONNX file's response starts and then sends nothing more.
 */
async function startModelHost(
  folder: FixtureModelFolder,
  { stallAfterHeaders = false } = {},
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const prefix = `/${FIXTURE_MODEL_ID}/resolve/main/`;
  const server: HttpServer = createHttpServer(async (request, response) => {
    const path = decodeURIComponent(request.url ?? '');
    requests.push(path);
    const file = path.startsWith(prefix) ? join(folder.modelDirectory, path.slice(prefix.length)) : undefined;
    const size = file
      ? await stat(file).then(
          (info) => info.size,
          () => undefined,
        )
      : undefined;
    if (!file || size === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
    if (stallAfterHeaders && file.endsWith('.onnx')) {
      response.write(Buffer.alloc(16));
      return;
    }
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function emptyCache(): Promise<string> {
  const folder = await createEmptyFolder();
  cleanups.push(folder.remove);
  return folder.path;
}

describe('createEmbedder', () => {
  let fixture: FixtureModelFolder;
  beforeAll(async () => {
    fixture = await createFixtureModelFolder();
  });
  afterAll(async () => {
    await fixture?.remove();
  });

  it('given EMBEDDINGS=hashing, it should use the offline embedder without trying the model or warning', async () => {
    const config = fixtureConfig(await emptyCache(), { EMBEDDINGS: 'hashing' });
    const { logger, records } = capturingLogger(config);
    const embedder = await createEmbedder(config, logger);
    expect(embedder.kind).toBe('hashing');
    expect(embedder.dimension).toBe(1024);
    expect(await embedder.embeddings.embedQuery('attention')).toHaveLength(1024);
    expect(records.filter((record) => record.level >= PINO_WARN)).toEqual([]);
    await embedder.close();
  });

  it('given the model in MODEL_CACHE_DIR, it should use transformers.js with an id unlike the hashing one', async () => {
    const config = fixtureConfig(fixture.root);
    const { logger, records } = capturingLogger(config);
    const embedder = await createEmbedder(config, logger);
    expect(embedder.kind).toBe('transformers');
    expect(embedder.dimension).toBe(FIXTURE_HIDDEN_SIZE);
    expect(embedder.id).toBe(`transformers:${FIXTURE_MODEL_ID}`);
    const hashing = await createEmbedder({ ...config, EMBEDDINGS: 'hashing' }, logger);
    expect(hashing.id).not.toBe(embedder.id);
    expect(records.filter((record) => record.level >= PINO_WARN)).toEqual([]);
    await embedder.close();
  });

  it('given auto and a model that is nowhere, it should fall back with exactly one warning saying what to do', async () => {
    const cache = await emptyCache();
    const config = fixtureConfig(cache);
    const { logger, records } = capturingLogger(config);
    const embedder = await createEmbedder(config, logger);
    expect(embedder.kind).toBe('hashing');
    const warnings = records.filter((record) => record.level >= PINO_WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain(`embedding model ${FIXTURE_MODEL_ID} could not be loaded`);
    expect(warnings[0]!.msg).toContain('downloads are disabled (ALLOW_REMOTE_MODELS=false)');
    expect(warnings[0]!.msg).toContain('using the offline hashing embedder');
    expect(warnings[0]!.msg).toContain('Set MODEL_CACHE_DIR');
  });

  it('given EMBEDDINGS=transformers and a model that is nowhere, it should throw a one-line UserError', async () => {
    const cache = await emptyCache();
    const config = fixtureConfig(cache, { EMBEDDINGS: 'transformers' });
    const { logger, records } = capturingLogger(config);
    const error = await createEmbedder(config, logger).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(isUserError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(join(cache, FIXTURE_MODEL_ID));
    expect(message).toMatch(/set ALLOW_REMOTE_MODELS=true, or set EMBEDDINGS=hashing\.$/);
    expect(records.filter((record) => record.level >= PINO_WARN)).toEqual([]);
  });

  it('given a reachable model host, it should download the model into MODEL_CACHE_DIR and use it', async () => {
    const host = await startModelHost(fixture);
    cleanups.push(host.close);
    const cache = await emptyCache();
    const config = fixtureConfig(cache, {
      ALLOW_REMOTE_MODELS: 'true',
      MODEL_REMOTE_HOST: host.url,
      EMBEDDINGS: 'transformers',
    });
    const { logger } = capturingLogger(config);
    const embedder = await createEmbedder(config, logger);
    expect(embedder.kind).toBe('transformers');
    expect(host.requests).toContain(`/${FIXTURE_MODEL_ID}/resolve/main/onnx/model.onnx`);
    await expect(access(join(cache, FIXTURE_MODEL_ID, 'onnx', 'model.onnx'))).resolves.toBeUndefined();
    await embedder.close();
  });

  it('given a model host that accepts connections but never answers, it should give up after MODEL_LOAD_TIMEOUT_MS', async () => {
    const silent = await startSilentServer();
    cleanups.push(silent.close);
    const config = fixtureConfig(await emptyCache(), {
      ALLOW_REMOTE_MODELS: 'true',
      MODEL_REMOTE_HOST: silent.url,
      MODEL_LOAD_TIMEOUT_MS: '300',
      EMBEDDINGS: 'transformers',
    });
    const { logger } = capturingLogger(config);
    await expect(createEmbedder(config, logger)).rejects.toThrow(`no response from ${silent.url} within 300 ms`);

    const auto = capturingLogger(config);
    const fallback = await createEmbedder({ ...config, EMBEDDINGS: 'auto' }, auto.logger);
    expect(fallback.kind).toBe('hashing');
    expect(auto.records.filter((record) => record.level >= PINO_WARN)).toHaveLength(1);
  }, 10_000);

  it('given a model host whose download stalls after it started, it should give up and say so', async () => {
    const host = await startModelHost(fixture, { stallAfterHeaders: true });
    cleanups.push(host.close);
    const config = fixtureConfig(await emptyCache(), {
      ALLOW_REMOTE_MODELS: 'true',
      MODEL_REMOTE_HOST: host.url,
      MODEL_LOAD_TIMEOUT_MS: '300',
      EMBEDDINGS: 'transformers',
    });
    await expect(createEmbedder(config, capturingLogger(config).logger)).rejects.toThrow(
      `download from ${host.url} stalled for 300 ms`,
    );
  }, 10_000);

  it('given a model host that refuses connections, it should fail at once naming the host', async () => {
    const url = await refusedUrl();
    const config = fixtureConfig(await emptyCache(), {
      ALLOW_REMOTE_MODELS: 'true',
      MODEL_REMOTE_HOST: url,
      EMBEDDINGS: 'transformers',
    });
    await expect(createEmbedder(config, capturingLogger(config).logger)).rejects.toThrow(
      `cannot reach ${url} (ECONNREFUSED)`,
    );
  }, 10_000);

  it('given a caller that aborts the load, it should stop with the abort instead of falling back', async () => {
    const silent = await startSilentServer();
    cleanups.push(silent.close);
    const config = fixtureConfig(await emptyCache(), { ALLOW_REMOTE_MODELS: 'true', MODEL_REMOTE_HOST: silent.url });
    const controller = new AbortController();
    const loading = createEmbedder(config, capturingLogger(config).logger, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    await expect(loading).rejects.toThrow('shutting down');
    expect(globalThis.fetch.name).toBe('fetch');
  }, 10_000);
});
