/**
 * The library behind `VECTOR_STORE=pgvector`, built by `createServices` as the bot and the CLI build it, against a
 * real PostgreSQL with pgvector (PGVECTOR_TEST_URL, exported by `.ci/run`). Each run gets a database of its own.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { UserError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { evaluateQuestions, readQuestions } from '../../src/retrieval/evaluate.js';
import type { Paper } from '../../src/papers/paper.js';
import { createServices, type Services } from '../../src/services.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
if (!serverUrl) {
  process.stderr.write('pgvector library tests skipped: PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)\n');
}

const logger = silentLogger();
const QUERIES = [
  'attention mechanism for machine translation',
  'retrieval augmented generation for question answering',
  'reinforcement learning from human feedback',
  'efficient fine-tuning of large language models',
  'image generation with diffusion models',
];

describe.skipIf(!serverUrl)('library with VECTOR_STORE=pgvector (real PostgreSQL)', () => {
  const database = `papercord_library_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = serverUrl ? Object.assign(new URL(serverUrl), { pathname: `/${database}` }).href : '';
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const opened: Array<{ services: Services; dataDir: string }> = [];
  let seeds: Paper[];

  /** One bot process: its own data directory, the shared database. */
  async function startProcess(vectorStore: 'pgvector' | 'hnsw' = 'pgvector'): Promise<Services> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pglib-'));
    const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', VECTOR_STORE: vectorStore, DATABASE_URL: databaseUrl });
    const services = await createServices(config, logger);
    opened.push({ services, dataDir });
    return services;
  }

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    seeds = await loadPapersFromSource('seeds');
  });

  afterAll(async () => {
    for (const { services, dataDir } of opened) {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  let onPostgres: Services;
  let onHnsw: Services;

  it('given the seed library, it should give the same top papers on pgvector as on HNSW, for vector and lexical search', async () => {
    onPostgres = await startProcess('pgvector');
    onHnsw = await startProcess('hnsw');
    await onPostgres.library.add(seeds);
    await onHnsw.library.add(seeds);

    expect(onPostgres.library.size).toBe(onHnsw.library.size);
    for (const query of QUERIES) {
      const ids = (hits: Array<{ paper: Paper }>) => hits.map((hit) => hit.paper.id);
      expect(ids(await onPostgres.library.vectorSearch(query, 10)), query).toEqual(ids(await onHnsw.library.vectorSearch(query, 10)));
      expect(ids(onPostgres.library.lexicalSearch(query, 10)), query).toEqual(ids(onHnsw.library.lexicalSearch(query, 10)));
    }
    const stats = await onPostgres.library.stats();
    expect(stats.vectors).toBe(seeds.length);
  });

  it('given the dev question set, hybrid retrieval and eval should give the same results on pgvector as on HNSW', async () => {
    const questions = await readQuestions('bench/data/dev-queries-with-unanswerable.jsonl');
    const [fromPostgres, fromHnsw] = await Promise.all([
      evaluateQuestions(onPostgres.retriever, onPostgres.library.all(), questions),
      evaluateQuestions(onHnsw.retriever, onHnsw.library.all(), questions),
    ]);

    expect(questions.length).toBeGreaterThan(20);
    expect(fromPostgres.outcomes.map((outcome) => [outcome.question.id, outcome.abstained, outcome.titles.slice(0, 5)])).toEqual(
      fromHnsw.outcomes.map((outcome) => [outcome.question.id, outcome.abstained, outcome.titles.slice(0, 5)]),
    );
    expect(fromPostgres.metrics).toEqual(fromHnsw.metrics);
  });

  it('given a second bot process on another machine, it should see the papers the first one ingested, without re-embedding or HNSW files', async () => {
    const second = await startProcess('pgvector');

    expect(second.library.size).toBe(seeds.length);
    const [best] = await second.library.vectorSearch(`${seeds[3]!.title}\n\n${seeds[3]!.abstract}`, 1);
    expect(best!.paper).toEqual(seeds[3]);
    const libraryDir = path.join(opened.at(-1)!.dataDir, 'library');
    const files = (await readdir(libraryDir, { recursive: true })).map(String);
    expect(files.some((file) => file.endsWith('hnswlib.index'))).toBe(false);
  });

  it('given a paper added by one running process, it should be found by another process that was already running', async () => {
    const first = await startProcess('pgvector');
    const alreadyRunning = await startProcess('pgvector');
    const newPaper: Paper = {
      id: 'arxiv:2601.00001',
      arxivId: '2601.00001',
      title: 'Zebrafish Locomotion Transformers',
      abstract: 'We model zebrafish swimming bouts with a transformer over pose sequences and predict locomotion.',
      source: 'arxiv',
    };

    await first.library.add([newPaper]);
    const hits = await alreadyRunning.library.vectorSearch('zebrafish swimming locomotion', 3);

    expect(hits[0]!.paper).toEqual(newPaper);
    expect(alreadyRunning.library.get(newPaper.id)).toEqual(newPaper);
    expect(alreadyRunning.library.lexicalSearch('zebrafish', 1)[0]!.paper.id).toBe(newPaper.id);
  });
});

describe('library with VECTOR_STORE=pgvector, misconfigured', () => {
  it('given no DATABASE_URL, it should say which variable to set', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pglib-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', VECTOR_STORE: 'pgvector' });
      const starting = createServices(config, logger);
      await expect(starting).rejects.toThrow(UserError);
      await expect(starting).rejects.toThrow('VECTOR_STORE=pgvector needs DATABASE_URL');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
