import type { BulkGraph } from '../library.js';
import { ADD_LOCK_KEY, assertOpen, type PostgresStore } from './store.js';

/**
 * A bulk ingest into a new (or nearly empty) PostgreSQL library inserts its rows without the HNSW index and builds
 * the index once at the end: one build is several times faster than growing the graph row by row (20,000 64-dimension
 * vectors: 15 s against 3 minutes on the test cluster). Meanwhile the few papers already there are still found (by a
 * scan of the table). A process that dies before the build leaves no index; the next process to open the library
 * builds it (`createSchema`).
 */

/** Libraries smaller than this give up their vector index while a bulk ingest runs. */
export const REBUILD_INDEX_BELOW = 1_000;

export async function startBulkVectorIndex(store: PostgresStore): Promise<BulkGraph | undefined> {
  assertOpen(store);
  const { papers, totals, vectorIndex } = store.tables;
  const client = await store.pool.connect();
  let dropped = false;
  try {
    await client.query('BEGIN');
    // Under the lock adds and opening take, so no other process is between creating and using the index.
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
    const { rows } = await client.query<{ papers: string }>(`SELECT papers FROM ${totals}`);
    if (Number(rows[0]?.papers ?? 0) < REBUILD_INDEX_BELOW) {
      await client.query(`DROP INDEX IF EXISTS ${vectorIndex}`);
      dropped = true;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  if (!dropped) return undefined;
  return {
    committed: () => {},
    finish: async () => {
      const started = performance.now();
      const builder = await store.pool.connect();
      try {
        await builder.query('BEGIN');
        await builder.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
        await builder.query(
          `CREATE INDEX IF NOT EXISTS ${vectorIndex} ON ${papers} USING hnsw (embedding vector_cosine_ops)`,
        );
        await builder.query('COMMIT');
      } catch (error) {
        await builder.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        builder.release();
      }
      store.settings.logger.info(
        `built the vector index of the PostgreSQL library ${store.tables.tableName} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    },
  };
}
