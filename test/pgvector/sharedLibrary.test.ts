/**
 * Several processes sharing one library in PostgreSQL (`VECTOR_STORE=pgvector`), as a bot and CLI ingests on other
 * machines share it: a running process built by `createServices`, and real `papercord` CLI processes adding and
 * searching, all on one database (PGVECTOR_TEST_URL, exported by `.ci/run`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { TermStatistics } from '../../src/library/library.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { stemmedTerms } from '../../src/text/analysis.js';
import { createServices, type Services } from '../../src/services.js';
import { LibraryWorkerPool } from '../../src/workers/workerPool.js';
import { missingService } from '../support/services.js';
import { cleanupsAfterEach } from '../support/processes.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

const CLI = path.resolve('scripts/cli.mjs');
const logger = silentLogger();
const cleanups = cleanupsAfterEach();

const ZEBRAFISH: Paper = {
  id: 'arxiv:2601.00001',
  arxivId: '2601.00001',
  title: 'Zebrafish Locomotion Transformers',
  abstract:
    'We model zebrafish swimming bouts with a transformer over pose sequences and predict locomotion from larval video.',
  source: 'arxiv',
};
const AXOLOTL: Paper = {
  id: 'arxiv:2601.00002',
  arxivId: '2601.00002',
  title: 'Axolotl Regeneration Atlases',
  abstract:
    'A single-cell atlas of limb regeneration in axolotls, with blastema states aligned across regeneration time.',
  source: 'arxiv',
};
const NEWT: Paper = {
  id: 'arxiv:2601.00003',
  arxivId: '2601.00003',
  title: 'Newt Lens Regrowth Under Ageing',
  abstract: 'Newts regrow their eye lens many times over a lifetime; we follow lens regrowth in aged newts.',
  source: 'arxiv',
};

describe.skipIf(withoutPostgres)(
  'one library in PostgreSQL shared by several processes (real PostgreSQL, real CLI processes)',
  () => {
    const database = `papercord_shared_${process.pid}_${Date.now().toString(36)}`;
    const databaseUrl = serverUrl ? Object.assign(new URL(serverUrl), { pathname: `/${database}` }).href : '';
    const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
    const work: string[] = [];
    let seeds: Paper[];
    /** The process that opened the library while it was empty and stays open throughout. */
    let running: Services;
    /** The same papers in a local library, for the statistics the shared one should report. */
    let reference: PaperLibrary;

    async function temporary(prefix: string): Promise<string> {
      const directory = await mkdtemp(path.join(tmpdir(), prefix));
      work.push(directory);
      return directory;
    }

    /** `papercord <args>` as `npm run cli` starts it, as another process on another machine: its own DATA_DIR, the shared database. */
    async function papercord(
      args: string[],
      env: { DATABASE_URL?: string } = {},
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
      const dataDir = await temporary('papercord-shared-cli-');
      const child = spawn(process.execPath, [CLI, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          FULL_TEXT: 'off',
          DATA_DIR: dataDir,
          EMBEDDINGS: 'hashing',
          LOG_LEVEL: 'warn',
          VECTOR_STORE: 'pgvector',
          DATABASE_URL: env.DATABASE_URL ?? databaseUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
      });
      const code = await exited;
      return { code, stdout, stderr };
    }

    /** Term statistics as a plain object; a term no paper holds may be absent or 0 (the Library contract). */
    function statistics(found: TermStatistics): { documents: number; frequencies: Record<string, number> } {
      return {
        documents: found.documents,
        frequencies: Object.fromEntries([...found.frequencies].filter(([, papers]) => papers > 0).sort()),
      };
    }

    async function papersFile(papers: readonly Paper[]): Promise<string> {
      const file = path.join(await temporary('papercord-shared-papers-'), 'papers.jsonl');
      await writeFile(file, papers.map((paper) => JSON.stringify(paper)).join('\n') + '\n');
      return file;
    }

    beforeAll(async () => {
      seeds = await loadPapersFromSource('seeds');
      await admin.query(`CREATE DATABASE ${database}`);
      const dataDir = await temporary('papercord-shared-running-');
      running = await createServices(
        loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', VECTOR_STORE: 'pgvector', DATABASE_URL: databaseUrl }),
        logger,
      );
      reference = await PaperLibrary.open({
        dataDir: await temporary('papercord-shared-reference-'),
        embedder: running.embedder,
        logger,
      });
    });

    afterAll(async () => {
      await running?.close();
      await reference?.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
      for (const directory of work) await rm(directory, { recursive: true, force: true });
    });

    it('given a process that opened the library empty, it should find the papers another process ingests afterwards, by every search', async () => {
      const question = 'byte-level models that merge tokens to shorten sequences';
      expect(await running.library.count()).toBe(0);
      expect(await running.retriever.retrieve(question)).toMatchObject({ hits: [], confidence: 'none' });

      const ingest = await papercord(['ingest', '--source', 'seeds', '--json']);
      expect(ingest.code, ingest.stderr).toBe(0);
      await reference.add(seeds);

      expect(await running.library.count()).toBe(seeds.length);
      const answer = await running.retriever.retrieve(question, { k: 3 });
      expect(answer.confidence).toBe('high');
      expect(answer.hits[0]!.paper.title).toMatch(/^MrT5/);
      const ids = (hits: ReadonlyArray<{ paper: Paper }>) => hits.map((hit) => hit.paper.id);
      expect(ids(await running.library.lexicalSearch(question, 5))).toEqual(ids(reference.lexicalSearch(question, 5)));
      expect(ids(await running.library.vectorSearch(question, 5))).toEqual(
        ids(await reference.vectorSearch(question, 5)),
      );
      const terms = [...new Set(stemmedTerms(`${question} zebrafish`))];
      expect(statistics(await running.library.termStatistics(terms))).toEqual(
        statistics(reference.termStatistics(terms)),
      );
      expect((await running.library.suggest('MrT', 1))[0]!.title).toMatch(/^MrT5/);
      expect((await running.library.resolve('MrT5')).title).toMatch(/^MrT5/);
      expect((await running.library.stats()).vectors).toBe(seeds.length);
    });

    it('given the library worker threads of a bot opened the library empty, they should answer from the papers another process ingests afterwards', async () => {
      // The bot reads the library in worker threads (WORKER_THREADS), each with its own connections: the path
      // a Discord question takes. A fresh database, so the threads start on an empty library.
      const botDatabase = `${database}_bot`;
      await admin.query(`CREATE DATABASE ${botDatabase}`);
      cleanups.push(() => admin.query(`DROP DATABASE IF EXISTS ${botDatabase} WITH (FORCE)`).then(() => undefined));
      const botUrl = Object.assign(new URL(serverUrl!), { pathname: `/${botDatabase}` }).href;
      const config = loadConfig({
        DATA_DIR: await temporary('papercord-shared-bot-'),
        EMBEDDINGS: 'hashing',
        FULL_TEXT: 'off',
        VECTOR_STORE: 'pgvector',
        DATABASE_URL: botUrl,
      });
      // One task per thread: two questions at once run on both threads.
      const pool = await LibraryWorkerPool.open({ config, logger, threads: 2, tasksPerThread: 1 });
      cleanups.push(() => pool.close());
      const question = 'byte-level models that merge tokens to shorten sequences';
      expect((await pool.describe()).papers).toBe(0);
      expect((await pool.retriever.retrieve(question)).hits).toEqual([]);

      const ingest = await papercord(['ingest', '--source', 'seeds', '--json'], { DATABASE_URL: botUrl });
      expect(ingest.code, ingest.stderr).toBe(0);

      const answers = await Promise.all([question, question].map((asked) => pool.answers.ask(asked)));
      for (const answer of answers) expect(answer.citations[0]!.title).toMatch(/^MrT5/);
      expect((await pool.describe()).papers).toBe(seeds.length);
      expect((await pool.resolvePaper('MrT5')).title).toMatch(/^MrT5/);
      expect((await pool.suggestPapers('MrT', 1))[0]!.title).toMatch(/^MrT5/);
    });

    it('given the library holds papers, papers other processes add while it runs should be found, and what it adds they should find', async () => {
      const add = await papercord(['ingest', '--source', await papersFile([ZEBRAFISH, AXOLOTL]), '--json']);
      expect(add.code, add.stderr).toBe(0);
      await reference.add([ZEBRAFISH, AXOLOTL]);

      expect(await running.library.count()).toBe(seeds.length + 2);
      expect((await running.retriever.retrieve('zebrafish swimming locomotion', { k: 1 })).hits[0]!.paper).toEqual(
        ZEBRAFISH,
      );
      expect((await running.library.vectorSearch('axolotl limb regeneration atlas', 1))[0]!.paper).toEqual(AXOLOTL);
      expect((await running.library.lexicalSearch('blastema', 1))[0]!.paper).toEqual(AXOLOTL);
      const terms = [...new Set(stemmedTerms('zebrafish axolotl regeneration token'))];
      expect(statistics(await running.library.termStatistics(terms))).toEqual(
        statistics(reference.termStatistics(terms)),
      );
      expect((await running.library.suggest('axolotl reg', 1))[0]!.id).toBe(AXOLOTL.id);

      await running.library.add([NEWT]);
      const search = await papercord(['search', 'newts regrowing the eye lens', '-k', '1', '--json']);
      expect(search.code, search.stderr).toBe(0);
      expect(JSON.parse(search.stdout)).toMatchObject([{ id: NEWT.id, title: NEWT.title }]);
      const stats = await papercord(['stats', '--json']);
      expect(JSON.parse(stats.stdout)).toMatchObject({ papers: seeds.length + 3, vectors: seeds.length + 3 });
    });
  },
);
