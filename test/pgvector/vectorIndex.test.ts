/**
 * The vector query in PostgreSQL uses its HNSW index at the sizes users reach: a library of 20,000 papers (generated
 * in SQL, so the test takes seconds, not the minutes embedding them would), at the breadths hybrid retrieval asks for.
 * Needs PGVECTOR_TEST_URL (see postgresLibrary.test.ts).
 */
import pg from 'pg';
import pino from 'pino';
import { startThrowawayCluster, type ThrowawayCluster } from '../../bench/support/pgCluster.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { PostgresLibrary } from '../../src/library/postgres/postgresLibrary.js';
import { tablesOf } from '../../src/library/postgres/store.js';
import { connectionSettings, nearestPapersStatements } from '../../src/library/postgres/vectorSearch.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { missingService } from '../support/services.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

const GENERATED = 20_000;
const DIMENSION = 64;
const EF_SEARCH = 128;
const logger = silentLogger();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

describe.skipIf(withoutPostgres)('vector search in PostgreSQL at 20,000 papers (real PostgreSQL with pgvector)', () => {
  const database = `papercord_vectors_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const url = Object.assign(new URL(serverUrl ?? 'postgres://unset'), { pathname: `/${database}` }).href;
  const tables = tablesOf('papercord_library');
  let embedder: PaperEmbedder;
  let library: PostgresLibrary;
  let seeds: Paper[];
  let client: pg.Client;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger, {
      hashing: { dimension: DIMENSION },
    });
    seeds = await loadPapersFromSource('seeds');
    const first = await PostgresLibrary.open({ connectionString: url, embedder, logger });
    await first.add(seeds);
    await first.close();
    // 20,000 papers as wide as real ones (an abstract, its terms), written without the HNSW index, which opening
    // the library then builds in one pass: inserting them one by one into the index would take minutes.
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    const { rows } = await direct.query<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%USING hnsw%'`,
      [tables.papers],
    );
    for (const { name } of rows) await direct.query(`DROP INDEX ${name}`);
    await direct.query(
      `INSERT INTO ${tables.papers} (id, title_key, paper, title_terms, abstract_terms, title_length, text_length, embedding)
       SELECT 'generated:' || g, 'generated paper ' || g,
              jsonb_build_object('id', 'generated:' || g, 'title', 'Generated paper ' || g, 'source', 'test',
                                 'abstract', repeat('A generated abstract about nothing in particular. ', 25)),
              'generat paper', repeat('generat abstract noth particular ', 25), 2, 6,
              (SELECT array_agg(random() - 0.5) FROM generate_series(1, $2::int) WHERE g > 0)::vector
       FROM generate_series(1, $1::int) g`,
      [GENERATED, DIMENSION],
    );
    await direct.query(`UPDATE ${tables.totals} SET papers = papers + $1`, [GENERATED]);
    await direct.end();
    library = await PostgresLibrary.open({ connectionString: url, embedder, logger, efSearch: EF_SEARCH });
    client = new pg.Client({ connectionString: url, options: connectionSettings(EF_SEARCH) });
    await client.connect();
    await client.query(`ANALYZE ${tables.papers}`);
  }, 300_000);

  afterAll(async () => {
    await client?.end();
    await library?.close();
    await embedder?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('given 20,000 papers, the vector query should read its rows from the HNSW index at every breadth retrieval asks for', async () => {
    expect(await library.count()).toBe(GENERATED + seeds.length);
    const vector = await embedder.embeddings.embedQuery(seeds[0]!.abstract);
    for (const k of [10, 40, 100, 200]) {
      const [setup, select] = nearestPapersStatements(tables, vector, k);
      const results = (await client.query(`${setup}; EXPLAIN (FORMAT JSON) ${select}`)) as unknown as Array<
        pg.QueryResult<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>
      >;
      const { rows } = results.at(-1)!;
      const nodes = nodesOf(rows[0]!['QUERY PLAN'][0]!.Plan);
      expect(
        nodes.some((node) => node['Node Type'] === 'Index Scan' && node['Index Name']?.includes('embedding')),
        `k=${k}`,
      ).toBe(true);
      expect(
        nodes.filter((node) => node['Node Type'] === 'Seq Scan').map((node) => node['Relation Name']),
        `k=${k}`,
      ).not.toContain(tables.papers);
    }
  });

  it('given a search wider than ef_search, it should still return k papers, nearest first, the asked-for paper at the top', async () => {
    const hits = await library.vectorSearch(seeds[3]!.abstract, 2 * EF_SEARCH);
    expect(hits).toHaveLength(2 * EF_SEARCH);
    expect(hits[0]!.paper.id).toBe(seeds[3]!.id);
    const scores = hits.map((hit) => hit.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});

describe.skipIf(withoutPostgres)('a vector index larger than the server memory (a throwaway PostgreSQL)', () => {
  let cluster: ThrowawayCluster | undefined;
  let embedder: PaperEmbedder;
  afterAll(async () => {
    await embedder?.close();
    await cluster?.stop();
  });

  it('given a vector index larger than shared_buffers, opening should warn once, naming both sizes', async () => {
    // The smallest memory PostgreSQL starts with, so a few hundred papers outgrow it.
    cluster = await startThrowawayCluster({ settings: { shared_buffers: '1MB', max_connections: '20', fsync: 'off' } });
    embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    const first = await PostgresLibrary.open({ connectionString: cluster.url, embedder, logger });
    const tables = tablesOf('papercord_library');
    await first.add([
      { id: 'real:1', title: 'A real paper', abstract: 'Tokenizers merge bytes into tokens.', source: 'test' },
    ]);
    const direct = new pg.Client({ connectionString: cluster.url });
    await direct.connect();
    await direct.query(
      `INSERT INTO ${tables.papers} (id, title_key, paper, title_terms, abstract_terms, title_length, text_length, embedding)
       SELECT 'generated:' || g, 'generated paper ' || g, jsonb_build_object('id', 'generated:' || g), 'generat paper', '', 2, 2,
              (SELECT array_agg(random() - 0.5) FROM generate_series(1, $2::int) WHERE g > 0)::vector
       FROM generate_series(1, $1::int) g`,
      [600, embedder.dimension],
    );
    await direct.end();
    await first.close();

    const lines: Array<{ level: number; msg: string }> = [];
    const capturing = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const reopened = await PostgresLibrary.open({ connectionString: cluster.url, embedder, logger: capturing });
    await reopened.close();

    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^the vector index of the PostgreSQL library papercord_library \(\d+ MB\) is larger than the server's shared_buffers \(1 MB\)/,
    );
    // The routine line is for the log, not for a CLI user's terminal.
    expect(lines.find((line) => line.msg === 'PostgreSQL library opened')?.level).toBe(20);
  }, 120_000);
});
