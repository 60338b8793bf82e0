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
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import { missingService } from '../support/services.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

const logger = silentLogger();
const QUERIES = [
  'attention mechanism for machine translation',
  'retrieval augmented generation for question answering',
  'reinforcement learning from human feedback',
  'efficient fine-tuning of large language models',
  'image generation with diffusion models',
];

describe.skipIf(withoutPostgres)('library with VECTOR_STORE=pgvector (real PostgreSQL)', () => {
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const databases: string[] = [];
  const opened: Array<{ services: Services; dataDir: string }> = [];
  let seeds: Paper[];
  /** The database every test shares, holding the seed library; tests that add papers make one of their own. */
  let seededDatabase: string;
  let onPostgres: Services;
  let onHnsw: Services;

  /** A new empty database on the test server; dropped after the file. */
  async function createDatabase(): Promise<string> {
    const database = `papercord_library_${runId}_${databases.length}`;
    await admin.query(`CREATE DATABASE ${database}`);
    databases.push(database);
    return Object.assign(new URL(serverUrl!), { pathname: `/${database}` }).href;
  }

  /** One bot process: its own data directory, the given database. */
  async function startProcess(vectorStore: 'pgvector' | 'hnsw', databaseUrl: string): Promise<Services> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pglib-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      VECTOR_STORE: vectorStore,
      DATABASE_URL: databaseUrl,
    });
    const services = await createServices(config, logger);
    opened.push({ services, dataDir });
    return services;
  }

  beforeAll(async () => {
    seeds = await loadPapersFromSource('seeds');
    seededDatabase = await createDatabase();
    onPostgres = await startProcess('pgvector', seededDatabase);
    onHnsw = await startProcess('hnsw', seededDatabase);
    await onPostgres.library.add(seeds);
    await onHnsw.library.add(seeds);
  });

  afterAll(async () => {
    for (const { services, dataDir } of opened) {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    for (const database of databases) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('given the seed library, it should give the same top papers on pgvector as on HNSW, for vector and lexical search', async () => {
    expect(await onPostgres.library.count()).toBe(await onHnsw.library.count());
    for (const query of QUERIES) {
      const ids = (hits: Array<{ paper: Paper }>) => hits.map((hit) => hit.paper.id);
      expect(ids(await onPostgres.library.vectorSearch(query, 10)), query).toEqual(
        ids(await onHnsw.library.vectorSearch(query, 10)),
      );
      expect(ids(await onPostgres.library.lexicalSearch(query, 10)), query).toEqual(
        ids(await onHnsw.library.lexicalSearch(query, 10)),
      );
    }
    const stats = await onPostgres.library.stats();
    expect(stats.vectors).toBe(seeds.length);
  });

  it('given the dev question set, hybrid retrieval and eval should give the same results on pgvector as on HNSW', async () => {
    const questions = await readQuestions('bench/data/dev-queries-with-unanswerable.jsonl');
    const [fromPostgres, fromHnsw] = await Promise.all([
      evaluateQuestions(onPostgres.retriever, await onPostgres.library.all(), questions),
      evaluateQuestions(onHnsw.retriever, await onHnsw.library.all(), questions),
    ]);

    expect(questions.length).toBeGreaterThan(20);
    expect(
      fromPostgres.outcomes.map((outcome) => [outcome.question.id, outcome.abstained, outcome.titles.slice(0, 5)]),
    ).toEqual(fromHnsw.outcomes.map((outcome) => [outcome.question.id, outcome.abstained, outcome.titles.slice(0, 5)]));
    expect(fromPostgres.metrics).toEqual(fromHnsw.metrics);
  });

  it('given a second bot process on another machine, it should see the papers the first one ingested, with no library files of its own', async () => {
    const second = await startProcess('pgvector', seededDatabase);

    expect(await second.library.count()).toBe(seeds.length);
    const [best] = await second.library.vectorSearch(`${seeds[3]!.title}\n\n${seeds[3]!.abstract}`, 1);
    expect(best!.paper).toEqual(seeds[3]);
    const files = (await readdir(opened.at(-1)!.dataDir, { recursive: true })).map(String);
    expect(files.filter((file) => file.startsWith('library'))).toEqual([]);
  });

  it('given a paper added by one running process, it should be found by another process that was already running', async () => {
    const databaseUrl = await createDatabase();
    // A library of its own, with papers in it before either process starts, as in a running deployment.
    const first = await startProcess('pgvector', databaseUrl);
    await first.library.add(seeds.slice(0, 5));
    const alreadyRunning = await startProcess('pgvector', databaseUrl);
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
    expect(await alreadyRunning.library.get(newPaper.id)).toEqual(newPaper);
    expect((await alreadyRunning.library.lexicalSearch('zebrafish', 1))[0]!.paper.id).toBe(newPaper.id);
  });
});

describe.skipIf(withoutPostgres)(
  'the bot with VECTOR_STORE=pgvector (real PostgreSQL, emulated Discord, library worker threads)',
  () => {
    const database = `papercord_bot_${process.pid}_${Date.now().toString(36)}`;
    const databaseUrl = serverUrl ? Object.assign(new URL(serverUrl), { pathname: `/${database}` }).href : '';
    const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
    let harness: BotHarness;

    beforeAll(async () => {
      await admin.query(`CREATE DATABASE ${database}`);
      harness = await startBotHarness({
        env: { VECTOR_STORE: 'pgvector', DATABASE_URL: databaseUrl, WORKER_THREADS: '2' },
      });
    });

    afterAll(async () => {
      await harness?.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    });

    it('given /ask, it should answer from the papers in PostgreSQL, citing [1], computed in a worker thread', async () => {
      const record = harness.emulator.dispatchCommand('ask', {
        options: { question: 'How can byte-level models merge tokens to shorten sequences?' },
      });
      const answered = await harness.emulator.waitForInteraction(
        record.id,
        (changed) => (changed.original?.embeds.length ?? 0) > 0,
      );

      expect(answered.callbackType).toBe(5);
      const embed = answered.original!.embeds[0] as { description?: string; fields?: Array<{ value: string }> };
      expect(embed.description).toContain('[1]');
      expect(JSON.stringify(embed.fields)).toContain('MrT5');
    });

    it('given a paper added by another process after the bot started, autocomplete should suggest it at once', async () => {
      await harness.services.library.add([
        {
          id: 'arxiv:2601.00002',
          arxivId: '2601.00002',
          title: 'Axolotl Regeneration Atlases',
          abstract: 'A single-cell atlas of limb regeneration in axolotls.',
          source: 'arxiv',
        },
      ]);

      const suggestion = harness.emulator.dispatchAutocomplete('paper', {
        options: { paper: 'axolotl reg' },
        focused: 'paper',
      });
      await harness.emulator.waitForInteraction(suggestion.id, (changed) => changed.callbackType === 8);
      const choices = (suggestion.callbackBody?.data as { choices: Array<{ name: string; value: string }> }).choices;
      expect(choices[0]).toEqual({ name: 'Axolotl Regeneration Atlases', value: 'arxiv:2601.00002' });
    });
  },
);

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
