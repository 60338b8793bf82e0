/**
 * Upgrading a PostgreSQL library of the previous layout (LangChain's PGVectorStore table `papercord_papers`, written
 * here as that version wrote it, see previousLayout.ts) in place, against a real PostgreSQL with pgvector
 * (PGVECTOR_TEST_URL, exported by `.ci/run`). Each test gets a database of its own.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresLibrary } from '../../src/library/postgres/postgresLibrary.js';
import type { Logger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { countingEmbedder } from '../library/support.js';
import { missingService } from '../support/services.js';
import { writePreviousLayout } from './previousLayout.js';
import { signalThatEnds } from '../support/processes.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

/** What a user reads: the lines other than the routine "opened" line. */
const said = (lines: ReadonlyArray<{ msg: string }>) =>
  lines.map((line) => line.msg).filter((msg) => msg !== 'PostgreSQL library opened');

describe.skipIf(withoutPostgres)(
  'PostgreSQL library upgraded from the previous layout (real PostgreSQL with pgvector)',
  () => {
    const runId = `${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
    const databases: string[] = [];
    const opened: PostgresLibrary[] = [];
    let seeds: Paper[];
    let databaseUrl: string;

    async function open(
      logger: Logger,
      embedder = countingEmbedder(),
      extra: { onMigrationBatch?: () => void } = {},
    ): Promise<PostgresLibrary> {
      const library = await PostgresLibrary.open({ connectionString: databaseUrl, embedder, logger, ...extra });
      opened.push(library);
      return library;
    }

    async function rows<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<T>(sql)).rows;
      } finally {
        await client.end();
      }
    }

    /** The order the previous version listed its papers in (`ORDER BY ctid`: its `all()`, lookups' first papers). */
    const previousOrder = async () =>
      (await rows<{ id: string }>(`SELECT metadata->>'id' AS id FROM papercord_papers ORDER BY ctid`)).map(
        (row) => row.id,
      );

    const tableExists = async (table: string) =>
      (await rows<{ found: string | null }>(`SELECT to_regclass('${table}')::text AS found`))[0]!.found !== null;

    beforeAll(async () => {
      seeds = await loadPapersFromSource('seeds');
    });

    /** A fresh database holding `papers` in the previous layout, written by `embedder`. */
    async function previousLibrary(papers: readonly Paper[], embedder = countingEmbedder()): Promise<void> {
      const database = `papercord_upgrade_${runId}_${databases.length}`;
      await admin.query(`CREATE DATABASE ${database}`);
      databases.push(database);
      databaseUrl = Object.assign(new URL(serverUrl!), { pathname: `/${database}` }).href;
      await writePreviousLayout(databaseUrl, embedder, papers);
    }

    afterEach(async () => {
      for (const library of opened.splice(0)) await library.close();
    });

    afterAll(async () => {
      for (const database of databases) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    });

    it('given a library of the previous layout and the same embedder, it should upgrade it in place with one log line, keeping every paper in order and every vector without embedding', async () => {
      await previousLibrary(seeds);
      const order = await previousOrder();
      const before = new Map(
        (
          await rows<{ id: string; vector: string }>(
            `SELECT metadata->>'id' AS id, embedding::text AS vector FROM papercord_papers`,
          )
        ).map((row) => [row.id, row.vector]),
      );
      const { logger, lines } = capturingLogger();
      const embedder = countingEmbedder();

      const library = await open(logger, embedder);

      expect(said(lines)).toEqual([
        `upgraded the PostgreSQL library papercord_papers (LangChain PGVectorStore, ${seeds.length} rows) to papercord_library: ${seeds.length} papers, every vector kept; papercord_papers is dropped`,
      ]);
      expect(embedder.embeddings.embeddedDocuments).toBe(0);
      expect((await library.all()).map((paper) => paper.id)).toEqual(order);
      expect(new Map((await library.all()).map((paper) => [paper.id, paper]))).toEqual(
        new Map(seeds.map((paper) => [paper.id, paper])),
      );
      const after = new Map(
        (await rows<{ id: string; vector: string }>('SELECT id, embedding::text AS vector FROM papercord_library')).map(
          (row) => [row.id, row.vector],
        ),
      );
      expect(after).toEqual(before);
      expect(await tableExists('papercord_papers')).toBe(false);
      expect(await library.stats()).toMatchObject({ papers: seeds.length, vectors: seeds.length });
      expect((await library.vectorSearch(`${seeds[9]!.title}\n\n${seeds[9]!.abstract}`, 1))[0]!.paper).toEqual(
        seeds[9],
      );
      expect((await library.lexicalSearch('byte-level token merging', 1))[0]!.paper.title).toMatch(/^MrT5/);
      expect((await library.termStatistics(['byte'])).documents).toBe(seeds.length);
      await library.close();

      const again = capturingLogger();
      const reopened = await open(again.logger, embedder);
      expect(said(again.lines)).toEqual([]);
      expect(await reopened.count()).toBe(seeds.length);
      expect(embedder.embeddings.embeddedDocuments).toBe(0);
    });

    it('given a library of the previous layout built by another embedder, it should embed its papers again while upgrading, saying so once', async () => {
      await previousLibrary(seeds.slice(0, 12), countingEmbedder({ dimension: 64 }));
      const { logger, lines } = capturingLogger();
      const embedder = countingEmbedder();

      const library = await open(logger, embedder);

      expect(said(lines)).toEqual([
        expect.stringMatching(
          /: 12 papers, 0 vectors kept, 12 papers embedded again \(built by hashing:v1:64:\S+, now hashing:v1:1024:\S+\); papercord_papers is dropped$/,
        ),
      ]);
      expect(lines.find((line) => line.msg.startsWith('upgraded'))!.level).toBe(40);
      expect(embedder.embeddings.embeddedDocuments).toBe(12);
      expect(await library.stats()).toMatchObject({ papers: 12, vectors: 12, dimension: 1024 });
      expect((await library.vectorSearch(`${seeds[4]!.title}\n\n${seeds[4]!.abstract}`, 1))[0]!.paper).toEqual(
        seeds[4],
      );
    });

    it('given two processes opening a library of the previous layout at the same moment, it should be upgraded once, each paper stored once', async () => {
      await previousLibrary(seeds);
      const first = capturingLogger();
      const second = capturingLogger();

      const [one, two] = await Promise.all([open(first.logger), open(second.logger)]);

      expect([...said(first.lines), ...said(second.lines)]).toEqual([
        expect.stringMatching(/^upgraded the PostgreSQL library papercord_papers/),
      ]);
      expect(await one.count()).toBe(seeds.length);
      expect(await two.count()).toBe(seeds.length);
      expect(
        (await rows<{ papers: string }>('SELECT count(DISTINCT id) AS papers FROM papercord_library'))[0]!.papers,
      ).toBe(String(seeds.length));
    });

    it('given a process killed in the middle of the upgrade, the old table should be left whole and the next open should upgrade it fully', async () => {
      // More than one batch of 500 rows, so the process dies with part of the papers copied.
      const generated: Paper[] = Array.from({ length: 520 }, (_, index) => ({
        id: `t:generated${index}`,
        title: `Generated Paper Number ${index} on Sparse Retrieval`,
        abstract: `We study sparse retrieval variant ${index} with inverted indexes and learned term weights over ${index % 7} corpora.`,
        source: 'seed',
      }));
      const papers = [...seeds, ...generated];
      await previousLibrary(papers);
      const order = await previousOrder();
      const work = await mkdtemp(path.join(tmpdir(), 'papercord-pg-upgrade-'));
      try {
        const script = path.join(work, 'killed.mts');
        await writeFile(
          script,
          [
            `import { PostgresLibrary } from ${JSON.stringify(path.join(REPO, 'src/library/postgres/postgresLibrary.ts'))};`,
            `import { countingEmbedder } from ${JSON.stringify(path.join(REPO, 'test/library/support.ts'))};`,
            `import { silentLogger } from ${JSON.stringify(path.join(REPO, 'src/logger.ts'))};`,
            `await PostgresLibrary.open({ connectionString: ${JSON.stringify(databaseUrl)}, embedder: countingEmbedder(), logger: silentLogger(),`,
            `  onMigrationBatch: () => process.kill(process.pid, 'SIGKILL') });`,
          ].join('\n'),
        );
        const signal = await signalThatEnds(script, REPO);
        expect(signal).toBe('SIGKILL');
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      expect((await rows<{ papers: string }>('SELECT count(*) AS papers FROM papercord_papers'))[0]!.papers).toBe(
        String(papers.length),
      );
      expect(await tableExists('papercord_library')).toBe(false);

      const { logger, lines } = capturingLogger();
      const embedder = countingEmbedder();
      const library = await open(logger, embedder);

      expect(said(lines)).toEqual([expect.stringContaining(`: ${papers.length} papers, every vector kept`)]);
      expect(await library.count()).toBe(papers.length);
      expect((await library.all()).map((paper) => paper.id)).toEqual(order);
      expect(embedder.embeddings.embeddedDocuments).toBe(0);
    });

    it('given a table of that name that papercord did not write, it should leave it alone with one warning', async () => {
      await previousLibrary([]);
      await rows('DROP TABLE papercord_papers');
      await rows('CREATE TABLE papercord_papers (id int PRIMARY KEY, note text)');
      const { logger, lines } = capturingLogger();

      const library = await open(logger);

      expect(said(lines)).toEqual([
        'PostgreSQL table papercord_papers is not a papercord library of the previous version (it has no id uuid, metadata jsonb, embedding vector column); left as it is',
      ]);
      expect(await library.count()).toBe(0);
      expect(await tableExists('papercord_papers')).toBe(true);
    });
  },
);
