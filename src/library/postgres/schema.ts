import { UserError, describeError } from '../../errors.js';
import { migrateLegacyTable, type LegacyMigrationResult } from './migration.js';
import { ADD_LOCK_KEY, type PostgresStore } from './store.js';
import { insertLegacyBatch } from './writes.js';

/**
 * The PostgreSQL library's tables and indexes, created when missing, and the upgrade of a library of the previous
 * layout (LangChain's `PGVectorStore` table, see migration.ts), in the transaction that opens it.
 */

/** One line saying what an upgrade from the previous layout did (after it committed). */
export function reportMigration(store: PostgresStore, migration: LegacyMigrationResult): void {
  const { logger } = store.settings;
  const previous = store.settings.previousTableName;
  const table = store.tables.tableName;
  if (migration.kind === 'foreign') {
    logger.warn(
      `PostgreSQL table ${previous} is not a papercord library of the previous version (${migration.reason}); left as it is`,
    );
    return;
  }
  if (migration.kind !== 'migrated') return;
  const { rows, papers, kept, embedded, previousEmbedders } = migration;
  const skipped = rows - papers;
  const message =
    `upgraded the PostgreSQL library ${previous} (LangChain PGVectorStore, ${rows} rows) to ${table}: ${papers} papers, ` +
    (embedded === 0
      ? 'every vector kept'
      : `${kept} vectors kept, ${embedded} papers embedded again (built by ${previousEmbedders.join(', ')}, now ${store.embedder.id})`) +
    (skipped > 0 ? `, ${skipped} rows already in the library or without a paper` : '') +
    `; ${previous} is dropped`;
  if (embedded === 0) logger.info(message);
  else logger.warn(message);
}

/**
 * Creates what is missing and upgrades a library of the previous layout, in one transaction; says whether fuzzy
 * matching (`fuzzystrmatch`, a contrib extension) is available and what the upgrade did.
 */
export async function createSchema(
  store: PostgresStore,
): Promise<{ fuzzy: boolean; migration: LegacyMigrationResult }> {
  const { papers, terms, totals, tableName } = store.tables;
  const { dimension, id: embedderId } = store.embedder;
  const client = await store.pool.connect();
  try {
    await client.query('BEGIN');
    // Two processes starting at once on a new database must not both create the tables.
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    let fuzzy = true;
    await client.query('SAVEPOINT fuzzy');
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS fuzzystrmatch');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT fuzzy');
      fuzzy = false;
      store.settings.logger.warn(
        `PostgreSQL extension fuzzystrmatch is not available (${describeError(error)}); misspelled search words will not be matched. ` +
          'Install PostgreSQL contrib, or run CREATE EXTENSION fuzzystrmatch as a superuser.',
      );
    }
    await client.query(`CREATE TABLE IF NOT EXISTS ${totals} (
      embedder text NOT NULL, dimension int NOT NULL,
      papers bigint NOT NULL DEFAULT 0, title_length bigint NOT NULL DEFAULT 0, text_length bigint NOT NULL DEFAULT 0)`);
    const built = await client.query<{ embedder: string; dimension: number; papers: string }>(
      `SELECT embedder, dimension, papers FROM ${totals}`,
    );
    const library = built.rows[0];
    if (library && (library.embedder !== embedderId || library.dimension !== dimension)) {
      throw new UserError(
        `the PostgreSQL library ${tableName} holds ${library.papers} papers embedded by ${library.embedder} (${library.dimension} dimensions), ` +
          `the configured embedder is ${embedderId} (${dimension} dimensions); use the embedder the library was built with, or another table`,
      );
    }
    if (!library)
      await client.query(`INSERT INTO ${totals} (embedder, dimension) VALUES ($1, $2)`, [embedderId, dimension]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${papers} (
      seq bigserial PRIMARY KEY,
      id text NOT NULL UNIQUE,
      title_key text NOT NULL,
      short_key text,
      paper jsonb NOT NULL,
      title_terms text NOT NULL,
      abstract_terms text NOT NULL,
      terms tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title_terms), 'A') || setweight(to_tsvector('simple', abstract_terms), 'B')) STORED,
      title_length int NOT NULL,
      text_length int NOT NULL,
      embedding vector(${Math.trunc(dimension)}) NOT NULL)`);
    await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_title_key_idx ON ${papers} (title_key)`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${terms} (term text PRIMARY KEY, papers int NOT NULL, title_papers int NOT NULL)`,
    );
    // Prefix expansion of unknown query terms (`LIKE 'hypernet%'`) needs an index that orders bytes, not collation.
    await client.query(`CREATE INDEX IF NOT EXISTS ${terms}_prefix_idx ON ${terms} (term text_pattern_ops)`);
    const previousTable = store.settings.previousTableName;
    const migration = previousTable
      ? await migrateLegacyTable({
          client,
          previousTable,
          embedder: store.embedder,
          insertBatch: (rows) => insertLegacyBatch(store, client, previousTable, rows),
          onBatch: store.settings.onMigrationBatch,
        })
      : ({ kind: 'none' } as const);
    // After an upgrade's bulk copy: building the vector and text indexes once is faster than growing them per row.
    await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_terms_idx ON ${papers} USING gin (terms)`);
    await client.query(`CREATE INDEX IF NOT EXISTS ${papers}_short_key_idx ON ${papers} (short_key)`);
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${store.tables.vectorIndex} ON ${papers} USING hnsw (embedding vector_cosine_ops)`,
    );
    await client.query('COMMIT');
    return { fuzzy, migration };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
