import type pg from 'pg';
import type { PaperEmbedder } from '../../embeddings/types.js';
import type { Paper } from '../../papers/paper.js';

/**
 * Upgrades a PostgreSQL library of the previous layout in place. Before the library moved wholly into PostgreSQL,
 * `VECTOR_STORE=pgvector` kept papers in LangChain's `PGVectorStore` table (`papercord_papers`): one row per paper,
 * `id uuid` (derived from the paper id), `content text`, `metadata jsonb` holding `{ id, title, embedder, paper }`,
 * `embedding vector(d)`, rows in the order added. Every process also copied all of them into memory at start.
 *
 * The upgrade runs inside the transaction that creates the library's tables, under the advisory lock every open and
 * every add takes, so it is all or nothing (a process killed half-way leaves the old table as it was, upgraded again at
 * the next start) and a second process opening at the same moment waits, then finds nothing left to upgrade. Papers
 * whose vectors were made by the configured embedder keep them (copied inside the database, never re-embedded); the
 * others are embedded again. The old table is dropped in the same transaction.
 */

export const PREVIOUS_TABLE_NAME = 'papercord_papers';

/** Rows read from the old table at a time: bounds memory on a 100,000-paper library. */
const BATCH = 500;

export interface LegacyRow {
  /** The old row's uuid, to copy its vector across inside the database. */
  rowId: string;
  paper: Paper;
  /** Its vector can be kept: made by the configured embedder, with its dimension. */
  keepVector: boolean;
}

export interface LegacyMigrationContext {
  client: pg.PoolClient;
  previousTable: string;
  embedder: PaperEmbedder;
  /**
   * Inserts the papers of one batch that are new to the library, in order, copying kept vectors from the old table
   * and embedding the rest; returns how many were new.
   */
  insertBatch(rows: readonly LegacyRow[]): Promise<{ inserted: number; embedded: number }>;
  /** Test hook, called after each batch is inserted (a test kills the process there). */
  onBatch?: () => void | Promise<void>;
}

export type LegacyMigrationResult =
  | { kind: 'none' }
  | { kind: 'foreign'; reason: string }
  | { kind: 'migrated'; rows: number; papers: number; kept: number; embedded: number; previousEmbedders: string[] };

/** Moves the old table's papers into the library and drops it; `none` when there is no old table. */
export async function migrateLegacyTable(context: LegacyMigrationContext): Promise<LegacyMigrationResult> {
  const { client, previousTable, embedder } = context;
  const exists = await client.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [previousTable]);
  if (!exists.rows[0]?.table) return { kind: 'none' };
  const columns = await client.query<{ name: string; type: string; dimension: number }>(
    `SELECT attname AS name, format_type(atttypid, NULL) AS type, atttypmod AS dimension FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [previousTable],
  );
  const byName = new Map(columns.rows.map((column) => [column.name, column]));
  const layout = [
    ['id', 'uuid'],
    ['metadata', 'jsonb'],
    ['embedding', 'vector'],
  ] as const;
  const missing = layout.filter(([name, type]) => byName.get(name)?.type !== type);
  if (missing.length > 0) {
    return {
      kind: 'foreign',
      reason: `it has no ${missing.map(([name, type]) => `${name} ${type}`).join(', ')} column`,
    };
  }
  // A column declared without a dimension (atttypmod -1) holds vectors of any length: compared row by row below.
  const columnDimension = byName.get('embedding')!.dimension;

  const previousEmbedders = new Set<string>();
  let rows = 0;
  let papers = 0;
  let kept = 0;
  let embedded = 0;
  // ctid order is insertion order for a table that was only appended to, which the old one was.
  await client.query(
    `DECLARE papercord_legacy NO SCROLL CURSOR FOR
     SELECT id::text AS row_id, metadata, vector_dims(embedding) AS dimension FROM ${previousTable} ORDER BY ctid`,
  );
  for (;;) {
    const batch = await client.query<{
      row_id: string;
      metadata: { embedder?: unknown; paper?: Paper } | null;
      dimension: number | null;
    }>(`FETCH ${BATCH} FROM papercord_legacy`);
    if (batch.rows.length === 0) break;
    rows += batch.rows.length;
    const legacy: LegacyRow[] = [];
    for (const row of batch.rows) {
      const paper = row.metadata?.paper;
      // A row the old code did not write (no paper in its metadata) has nothing to upgrade.
      if (!paper || typeof paper.id !== 'string' || typeof paper.title !== 'string') continue;
      const madeBy = typeof row.metadata?.embedder === 'string' ? row.metadata.embedder : 'unknown';
      previousEmbedders.add(madeBy);
      const dimension = columnDimension > 0 ? columnDimension : row.dimension;
      legacy.push({ rowId: row.row_id, paper, keepVector: madeBy === embedder.id && dimension === embedder.dimension });
    }
    const result = await context.insertBatch(legacy);
    papers += result.inserted;
    embedded += result.embedded;
    kept += result.inserted - result.embedded;
    await context.onBatch?.();
  }
  await client.query('CLOSE papercord_legacy');
  await client.query(`DROP TABLE ${previousTable}`);
  return { kind: 'migrated', rows, papers, kept, embedded, previousEmbedders: [...previousEmbedders] };
}
