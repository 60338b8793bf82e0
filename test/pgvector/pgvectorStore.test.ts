/**
 * Runs against a real PostgreSQL with pgvector: `.ci/run` starts one and exports PGVECTOR_TEST_URL
 * (`source .ci/pgvector.sh` does the same on a developer machine, as root). Without it these tests skip and say why.
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
import { PaperLibrary, paperEmbeddingText } from '../../src/library/paperLibrary.js';
import { PgVectorIndex, rowKey } from '../../src/library/pgvectorStore.js';
import { HEALTHZ_PATH, startHealthServer } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { missingService } from '../support/services.js';

const databaseUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  databaseUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

const logger = silentLogger();
const QUERIES = [
  'attention mechanism for machine translation',
  'retrieval augmented generation for question answering',
  'reinforcement learning from human feedback',
  'efficient fine-tuning of large language models',
  'chain of thought prompting for reasoning',
  'image generation with diffusion models',
  'scaling laws for neural language models',
  'speech recognition',
];

let tableCounter = 0;
/** A table of its own per test, so tests never see each other's rows. */
const freshTable = () => `papercord_test_${process.pid}_${Date.now().toString(36)}_${tableCounter++}`;

describe.skipIf(withoutPostgres)('pgvector library store (real PostgreSQL)', () => {
  let embedder: PaperEmbedder;
  let seeds: Paper[];
  let vectors: number[][];
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const tables: string[] = [];

  const open = (tableName: string, overrides: Partial<Parameters<typeof PgVectorIndex.open>[0]> = {}) => {
    tables.push(tableName);
    return PgVectorIndex.open({ connectionString: databaseUrl!, embedder, logger, tableName, ...overrides });
  };

  beforeAll(async () => {
    embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    seeds = await loadPapersFromSource('seeds');
    vectors = await embedder.embeddings.embedDocuments(seeds.map(paperEmbeddingText));
  });

  afterAll(async () => {
    for (const table of new Set(tables)) await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
    await embedder?.close();
  });

  it('given the seed library in pgvector and in the HNSW library, it should return the same top papers for the same queries', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pgvector-'));
    const library = await PaperLibrary.open({ dataDir, embedder, logger });
    const index = await open(freshTable());
    try {
      await library.add(seeds);
      expect(await index.add(seeds, vectors)).toBe(seeds.length);
      expect(await index.count()).toBe(library.size);

      for (const query of QUERIES) {
        const queryVector = await embedder.embeddings.embedQuery(query);
        const fromHnsw = await library.vectorSearch(query, 5);
        const fromPostgres = await index.search(queryVector, 5);
        expect(fromPostgres.map((hit) => hit.id), query).toEqual(fromHnsw.map((hit) => hit.paper.id));
        fromPostgres.forEach((hit, rank) => expect(hit.score, `${query} #${rank + 1}`).toBeCloseTo(fromHnsw[rank]!.score, 4));
      }
    } finally {
      await index.close();
      await library.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('given a search wider than pgvector\'s default ef_search of 40, it should still return k papers', async () => {
    const index = await open(freshTable());
    try {
      await index.add(seeds, vectors);
      const wanted = Math.min(60, seeds.length);
      const hits = await index.search(await embedder.embeddings.embedQuery(QUERIES[0]!), wanted);
      expect(seeds.length).toBeGreaterThan(40);
      expect(hits).toHaveLength(wanted);
    } finally {
      await index.close();
    }
  });

  it('given two bot processes adding overlapping papers at the same time, it should keep one row per paper and both should see all of them', async () => {
    const table = freshTable();
    const first = await open(table);
    const second = await open(table);
    try {
      const half = Math.floor(seeds.length / 2);
      const [addedByFirst, addedBySecond] = await Promise.all([
        first.add(seeds.slice(0, half + 10), vectors.slice(0, half + 10)),
        second.add(seeds.slice(half - 10), vectors.slice(half - 10)),
      ]);

      expect(addedByFirst + addedBySecond).toBe(seeds.length);
      expect(await first.count()).toBe(seeds.length);
      const seenBySecond = await second.papers();
      expect(new Set(seenBySecond.map((paper) => paper.id))).toEqual(new Set(seeds.map((paper) => paper.id)));
      expect(seenBySecond.find((paper) => paper.id === seeds[0]!.id)).toEqual(seeds[0]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('given a library reopened by a new process, it should find the papers and vectors stored before', async () => {
    const table = freshTable();
    const writer = await open(table);
    await writer.add(seeds.slice(0, 20), vectors.slice(0, 20));
    await writer.close();

    const reader = await open(table);
    try {
      expect((await reader.papers()).map((paper) => paper.id)).toEqual(seeds.slice(0, 20).map((paper) => paper.id));
      const [best] = await reader.search(vectors[7]!, 1);
      expect(best).toEqual({ id: seeds[7]!.id, score: expect.closeTo(1, 5) });
      expect(await reader.add(seeds.slice(0, 20), vectors.slice(0, 20))).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('given a table built by an embedder of another dimension, it should refuse to open with both dimensions in the message', async () => {
    const table = freshTable();
    const small = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger, { hashing: { dimension: 64 } });
    const built = await open(table, { embedder: small });
    await built.add(seeds.slice(0, 2), await small.embeddings.embedDocuments(seeds.slice(0, 2).map(paperEmbeddingText)));
    await built.close();
    await small.close();

    const reopened = open(table);
    await expect(reopened).rejects.toThrow(UserError);
    await expect(reopened).rejects.toThrow(`holds 64-dimension vectors, the embedder ${embedder.id} makes ${embedder.dimension}`);
  });

  it('given the database goes away under a running bot, /healthz should turn 503 naming the library', async () => {
    const database = `papercord_gone_${process.pid}_${Date.now().toString(36)}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const index = await PgVectorIndex.open({
      connectionString: Object.assign(new URL(databaseUrl!), { pathname: `/${database}` }).href,
      embedder,
      logger,
    });
    const health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: createMetrics({ defaultMetrics: false }).registry,
      checks: { library: async () => (await index.ping(), true) },
    });
    try {
      expect((await fetch(`${health.url}${HEALTHZ_PATH}`)).status).toBe(200);

      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      const response = await fetch(`${health.url}${HEALTHZ_PATH}`);

      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ failing: ['library'], library: false });
    } finally {
      await health.close();
      await index.close().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    }
  });

  it('given paper ids, it should derive the same well-formed UUID row key every time', () => {
    expect(rowKey('arxiv:1706.03762')).toBe(rowKey('arxiv:1706.03762'));
    expect(rowKey('arxiv:1706.03762')).not.toBe(rowKey('arxiv:1810.04805'));
    expect(rowKey('t:0123456789abcdef')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('pgvector library store without a server', () => {
  it('given a DATABASE_URL where nothing listens, it should fail with a one-line UserError, not hang', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    try {
      const opening = PgVectorIndex.open({ connectionString: `postgres://papercord@127.0.0.1:${closedPort}/papercord`, embedder, logger });
      await expect(opening).rejects.toThrow(UserError);
      await expect(opening).rejects.toThrow(/could not open the pgvector library .*check DATABASE_URL/);
    } finally {
      await embedder.close();
    }
  });
});
