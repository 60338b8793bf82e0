import type pg from 'pg';
import type { PaperMatch, RetrievedPaper } from '../library.js';
import { queryRows, vectorLiteral, type PaperRow, type PostgresStore, type Tables } from './store.js';

/**
 * Nearest papers by cosine from pgvector's HNSW index. Every connection sets the index's search breadth to
 * `HNSW_EF_SEARCH` and turns on iterative index scans (pgvector 0.8), so the index serves any k a search asks for.
 */

/**
 * Settings of every connection. `hnsw.ef_search` is `HNSW_EF_SEARCH`, as for the local graph. Without an iterative
 * scan an index scan returns at most ef_search rows, so a 100-candidate hybrid search needed ef_search ≥ 100, and at
 * such breadths the planner preferred reading and sorting the whole table; an iterative scan goes on past ef_search
 * candidates until the query has its k rows. Older pgvector ignores the setting. JIT is off: the BM25 statement's
 * estimated cost is above `jit_above_cost`, and compiling it took 1.5 s of a 1.7 s statement (20,000 papers) to run
 * a plan that takes 0.25 s interpreted.
 */
export function connectionSettings(efSearch: number): string {
  return [`hnsw.ef_search=${Math.trunc(efSearch)}`, 'hnsw.iterative_scan=relaxed_order', 'jit=off']
    .map((setting) => `-c ${setting}`)
    .join(' ');
}

/**
 * The vector query, as the statements sent in one round trip: the nearest k rows from the index (only their sequence
 * numbers and distances), then their papers; the final sort puts right the relaxed order an iterative scan may
 * return rows in. Sequential scans are off for this query only (`SET LOCAL`, in the implicit transaction of a
 * multi-statement query; pgvector's README gives this remedy): the papers' vectors, abstracts and terms are stored
 * out of line (TOAST), so the planner costs a scan of the table at a few thousand pages when it reads over a hundred
 * thousand (20,000 papers: 368 ms scanning and sorting every vector, 66 ms from the index). The values are numbers
 * written into the text, which a multi-statement query needs (it cannot take parameters).
 */
export function nearestPapersStatements(
  tables: Tables,
  vector: ArrayLike<number>,
  k: number,
  read: 'paper' | 'id' = 'paper',
): string[] {
  const literal = `'${vectorLiteral(Array.from(vector, finiteNumber))}'::vector`;
  return [
    'SET LOCAL enable_seqscan = off',
    `WITH nearest AS MATERIALIZED (
      SELECT seq, embedding <=> ${literal} AS distance FROM ${tables.papers} ORDER BY embedding <=> ${literal}
      LIMIT ${Math.trunc(k)})
    SELECT p.${read}, nearest.distance FROM nearest JOIN ${tables.papers} p USING (seq)
    ORDER BY nearest.distance, nearest.seq`,
  ];
}

export async function nearestPapers(
  store: PostgresStore,
  vector: ArrayLike<number>,
  k: number,
): Promise<RetrievedPaper[]> {
  const rows = await nearestRows<PaperRow>(store, vector, k, 'paper');
  // Cosine distance, as hnswlib's cosine space reports it: similarity is 1 - distance in both stores.
  return rows.map((row) => ({ paper: row.paper, score: 1 - row.distance }));
}

/** As `nearestPapers`, paper ids only (hybrid retrieval reads only the papers it keeps). */
export async function nearestIds(store: PostgresStore, vector: ArrayLike<number>, k: number): Promise<PaperMatch[]> {
  const rows = await nearestRows<{ id: string }>(store, vector, k, 'id');
  return rows.map((row) => ({ id: row.id, score: 1 - row.distance }));
}

async function nearestRows<Row extends object>(
  store: PostgresStore,
  vector: ArrayLike<number>,
  k: number,
  read: 'paper' | 'id',
): Promise<Array<Row & { distance: number }>> {
  const results = (await queryRows(
    store,
    nearestPapersStatements(store.tables, vector, k, read).join(';\n'),
  )) as unknown as Array<pg.QueryResult<Row & { distance: number }>>;
  return results.at(-1)!.rows;
}

function finiteNumber(value: number): number {
  if (!Number.isFinite(value)) throw new Error(`a query vector holds ${value}`);
  return value;
}
