/**
 * The library in PostgreSQL (`VECTOR_STORE=pgvector`) against a real PostgreSQL with pgvector: `.ci/run` starts one
 * and exports PGVECTOR_TEST_URL (`source .ci/pgvector.sh` does the same on a developer machine, as root). Without
 * it these tests skip and say why; under CI=true a missing server fails the suite (`missingService`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { UserError } from '../../src/errors.js';
import { ingestInBatches } from '../../src/library/bulkIngest.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { PostgresLibrary } from '../../src/library/postgres/postgresLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH, startHealthServer } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { missingService } from '../support/services.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

const logger = silentLogger();
const QUERIES = [
  'byte-level models that merge tokens to shorten sequences',
  'token-level preference optimization',
  'learning tokenization end to end with dynamic chunking',
  'swapping a tokenizer without retraining the model',
  'in-context learning emerges from data distribution',
  'hypernet for tokenizer transfer',
];

let tableCounter = 0;
/** Tables of its own per test, so tests never see each other's rows. */
const freshTable = () => `pctest_${process.pid}_${Date.now().toString(36)}_${tableCounter++}`;

describe.skipIf(withoutPostgres)('library in PostgreSQL (real PostgreSQL with pgvector)', () => {
  let embedder: PaperEmbedder;
  let seeds: Paper[];
  let local: PaperLibrary;
  let localDir: string;
  let shared: PostgresLibrary;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const tables: string[] = [];
  const opened: PostgresLibrary[] = [];

  const open = async (tableName: string, overrides: Partial<Parameters<typeof PostgresLibrary.open>[0]> = {}) => {
    tables.push(tableName);
    const library = await PostgresLibrary.open({
      connectionString: serverUrl!,
      embedder,
      logger,
      tableName,
      ...overrides,
    });
    opened.push(library);
    return library;
  };

  beforeAll(async () => {
    embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    seeds = await loadPapersFromSource('seeds');
    localDir = await mkdtemp(path.join(tmpdir(), 'papercord-pglocal-'));
    local = await PaperLibrary.open({ dataDir: localDir, embedder, logger });
    await local.add(seeds);
    shared = await open(freshTable());
    await shared.add(seeds);
  });

  afterAll(async () => {
    for (const library of opened) await library.close();
    for (const table of new Set(tables)) {
      for (const name of [table, `${table}_terms`, `${table}_totals`])
        await admin.query(`DROP TABLE IF EXISTS ${name}`);
    }
    await admin.end();
    await local?.close();
    await rm(localDir, { recursive: true, force: true });
    await embedder?.close();
  });

  it('given the seed library in PostgreSQL and locally, lexical search should rank the same papers with the same BM25 scores', async () => {
    for (const query of QUERIES) {
      const fromPostgres = await shared.lexicalSearch(query, 10);
      const fromLocal = local.lexicalSearch(query, 10);
      expect(
        fromPostgres.map((hit) => hit.paper.id),
        query,
      ).toEqual(fromLocal.map((hit) => hit.paper.id));
      fromPostgres.forEach((hit, rank) =>
        expect(hit.score, `${query} #${rank + 1}`).toBeCloseTo(fromLocal[rank]!.score, 6),
      );
    }
  });

  it('given the seed library in PostgreSQL and locally, vector search should return the same papers with the same cosine', async () => {
    for (const query of QUERIES) {
      const fromPostgres = await shared.vectorSearch(query, 5);
      const fromLocal = await local.vectorSearch(query, 5);
      expect(
        fromPostgres.map((hit) => hit.paper.id),
        query,
      ).toEqual(fromLocal.map((hit) => hit.paper.id));
      fromPostgres.forEach((hit, rank) =>
        expect(hit.score, `${query} #${rank + 1}`).toBeCloseTo(fromLocal[rank]!.score, 4),
      );
    }
  });

  it('given names people type, it should suggest and resolve the same papers as the local library', async () => {
    for (const typed of ['MrT5', 'Mixture-of-Rec', 'zero shot tok', 'TDPO']) {
      expect((await shared.suggest(typed, 5))[0]?.title, typed).toBe(local.suggest(typed, 5)[0]?.title);
    }
    for (const name of ['MrT5', 'Mixture-of-Recursions', seeds[7]!.title.toLowerCase(), seeds[3]!.id]) {
      expect((await shared.resolve(name)).id, name).toBe(local.resolve(name).id);
    }
    await expect(shared.resolve('xyzzy quux')).rejects.toThrow('no paper in the library matches "xyzzy quux"');
    expect(await shared.suggest('', 3)).toEqual(seeds.slice(0, 3));
  });

  it('given two processes adding overlapping papers at once, each paper should be stored once and the term counts should add up', async () => {
    const table = freshTable();
    const [first, second] = [await open(table), await open(table)];
    const half = Math.floor(seeds.length / 2);

    const [byFirst, bySecond] = await Promise.all([
      first.add(seeds.slice(0, half + 10)),
      second.add(seeds.slice(half - 10)),
    ]);

    expect(byFirst.added.length + bySecond.added.length).toBe(seeds.length);
    expect(await second.count()).toBe(seeds.length);
    expect(new Set((await second.all()).map((paper) => paper.id))).toEqual(new Set(seeds.map((paper) => paper.id)));
    const terms = ['byte', 'token', 'model', 'merg'];
    expect(await first.termStatistics(terms)).toEqual(local.termStatistics(terms));
  });

  it("given a search wider than pgvector's default ef_search of 40, it should still return k papers", async () => {
    const hits = await shared.vectorSearch(QUERIES[0]!, 50);
    expect(hits).toHaveLength(50);
  });

  it('given a bulk ingest into a new library, it should insert without the vector index, build it once at the end and find the papers by vector', async () => {
    const table = freshTable();
    const library = await open(table);
    const vectorIndexExists = async () =>
      (await admin.query(`SELECT 1 FROM pg_indexes WHERE indexname = $1`, [`${table}_embedding_idx`])).rowCount === 1;
    expect(await vectorIndexExists()).toBe(true);

    const graph = await library.startBulkGraph();
    expect(await vectorIndexExists()).toBe(false);
    const result = await ingestInBatches(library, seeds, { batchSize: 20, graph });

    expect(result.added).toBe(seeds.length);
    expect(await vectorIndexExists()).toBe(true);
    for (const query of QUERIES.slice(0, 3)) {
      expect((await library.vectorSearch(query, 5)).map((hit) => hit.paper.id)).toEqual(
        (await local.vectorSearch(query, 5)).map((hit) => hit.paper.id),
      );
    }
  });

  it('given a library built by an embedder of another dimension, it should refuse to open, naming both', async () => {
    const table = freshTable();
    const small = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger, { hashing: { dimension: 64 } });
    const built = await open(table, { embedder: small });
    await built.add(seeds.slice(0, 2));
    await small.close();

    const reopened = open(table);
    await expect(reopened).rejects.toThrow(UserError);
    await expect(reopened).rejects.toThrow(
      `embedded by ${small.id} (64 dimensions), the configured embedder is ${embedder.id} (${embedder.dimension} dimensions)`,
    );
  });

  it('given the database goes away under a running bot, /healthz should turn 503 naming the library', async () => {
    const database = `papercord_gone_${process.pid}_${Date.now().toString(36)}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const library = await PostgresLibrary.open({
      connectionString: Object.assign(new URL(serverUrl!), { pathname: `/${database}` }).href,
      embedder,
      logger,
    });
    const health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: createMetrics({ defaultMetrics: false }).registry,
      checks: { library: async () => (await library.ping(), true) },
    });
    try {
      expect((await fetch(`${health.url}${HEALTHZ_PATH}`)).status).toBe(200);

      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      const response = await fetch(`${health.url}${HEALTHZ_PATH}`);

      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ failing: ['library'], library: false });
    } finally {
      await health.close();
      await library.close().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    }
  });
});

describe('library in PostgreSQL without a server', () => {
  it('given a DATABASE_URL where nothing listens, it should fail with a one-line UserError, not hang', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    try {
      const opening = PostgresLibrary.open({
        connectionString: `postgres://papercord@127.0.0.1:${closedPort}/papercord`,
        embedder,
        logger,
      });
      await expect(opening).rejects.toThrow(UserError);
      await expect(opening).rejects.toThrow(/could not open the PostgreSQL library .*check DATABASE_URL/);
    } finally {
      await embedder.close();
    }
  });
});
