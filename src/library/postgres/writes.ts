import type pg from 'pg';
import type { Paper } from '../../papers/paper.js';
import { stemmedTerms } from '../../text/analysis.js';
import { boundedForAdd, embedPapers, planAdd, vectorsOfNewPapers, type FindStored } from '../addPlan.js';
import type { AddOptions, AddResult } from '../library.js';
import type { LegacyRow } from './migration.js';
import {
  ADD_LOCK_KEY,
  assertOpen,
  embedding,
  shortKey,
  titleKey,
  vectorLiteral,
  type PaperRow,
  type PostgresStore,
} from './store.js';

/**
 * Adding papers to the PostgreSQL library: planned (see `planAdd`) and embedded outside the lock every process's
 * adds wait for, then planned again and written under it, papers, term frequencies and totals in one transaction.
 */

export async function addPapers(
  store: PostgresStore,
  given: readonly Paper[],
  options: AddOptions = {},
): Promise<AddResult> {
  assertOpen(store);
  const { signal } = options;
  const { papers: incoming, prepared } = boundedForAdd(given, options.prepared, store.settings.paperTextLimits);
  signal?.throwIfAborted();
  // Embedding is the slow part and must not hold the lock that every other process's adds wait for: first find
  // what looks new and embed it, then, under the lock, plan again against what is stored now and write that.
  const firstLook = planAdd(incoming, await storedMatching(store, incoming));
  const vectors = new Map<string, ArrayLike<number>>();
  const embedNew = async (papers: readonly Paper[]) => {
    const found = await vectorsOfNewPapers(papers, prepared, {
      ...embedding(store, signal),
      ...(options.embedBatchSize ? { batchSize: options.embedBatchSize } : {}),
    });
    papers.forEach((paper, index) => vectors.set(paper.id, found[index]!));
  };
  await embedNew(firstLook.fresh);
  signal?.throwIfAborted();

  const client = await store.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADD_LOCK_KEY]);
    const plan = planAdd(incoming, await storedMatching(store, incoming, client));
    // New since the first look and not embedded yet: rare (papers are only ever added), but embedded here rather
    // than lost.
    await embedNew(plan.fresh.filter((paper) => !vectors.has(paper.id)));
    for (const paper of plan.updates)
      await client.query(`UPDATE ${store.tables.papers} SET paper = $2 WHERE id = $1`, [paper.id, paper]);
    if (plan.fresh.length > 0)
      await insertPapers(
        store,
        client,
        plan.fresh,
        plan.fresh.map((paper) => vectors.get(paper.id)!),
      );
    await client.query('COMMIT');
    return { added: plan.fresh, existing: plan.existing, stored: plan.stored };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError as Error));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** The stored papers matching `papers` by id or normalized title, read in one query. */
export async function storedMatching(
  store: PostgresStore,
  papers: readonly Paper[],
  client: pg.Pool | pg.PoolClient = store.pool,
): Promise<FindStored> {
  assertOpen(store);
  if (papers.length === 0) return () => undefined;
  const result = await client.query<PaperRow & { title_key: string }>(
    `SELECT paper, title_key FROM ${store.tables.papers} WHERE id = ANY($1::text[]) OR title_key = ANY($2::text[])`,
    [papers.map((paper) => paper.id), papers.map(titleKey)],
  );
  const byId = new Map(result.rows.map((row) => [row.paper.id, row.paper]));
  const byTitle = new Map<string, Paper>();
  // The first added, as `getByTitle` finds it.
  for (const row of [...result.rows].reverse()) byTitle.set(row.title_key, row.paper);
  return (paper) => byId.get(paper.id) ?? byTitle.get(titleKey(paper));
}

/**
 * Inserts new papers, their term frequencies and the totals, in the caller's transaction. A paper's vector is
 * given, or (`copyFrom`, when upgrading the previous layout) copied inside the database from that table's row.
 */
export async function insertPapers(
  store: PostgresStore,
  client: pg.PoolClient,
  papers: readonly Paper[],
  vectors: ReadonlyArray<ArrayLike<number> | null>,
  copyFrom?: { table: string; rowIds: ReadonlyArray<string | null> },
): Promise<void> {
  const { papers: table, terms, totals } = store.tables;
  // BM25's field lengths count distinct terms, as minisearch (the local index) counts them.
  const analyzed = papers.map((paper) => {
    const titleTerms = stemmedTerms(paper.title);
    const abstractTerms = stemmedTerms(paper.abstract);
    return {
      titleTerms,
      abstractTerms,
      titleLength: new Set(titleTerms).size,
      textLength: new Set([...titleTerms, ...abstractTerms]).size,
    };
  });
  const columns = 'id, title_key, short_key, paper, title_terms, abstract_terms, title_length, text_length';
  const rows =
    'unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::int[], $9::vector[]';
  await client.query(
    copyFrom
      ? `INSERT INTO ${table} (${columns}, embedding)
         SELECT ${columns
           .split(', ')
           .map((column) => `u.${column}`)
           .join(', ')}, coalesce(u.embedding, previous.embedding)
         FROM ${rows}, $10::uuid[]) WITH ORDINALITY AS u(${columns}, embedding, row_id, position)
         LEFT JOIN ${copyFrom.table} previous ON previous.id = u.row_id ORDER BY u.position`
      : `INSERT INTO ${table} (${columns}, embedding) SELECT * FROM ${rows})`,
    [
      papers.map((paper) => paper.id),
      papers.map(titleKey),
      papers.map((paper) => shortKey(paper.title)),
      papers.map((paper) => JSON.stringify(paper)),
      analyzed.map((entry) => entry.titleTerms.join(' ')),
      analyzed.map((entry) => entry.abstractTerms.join(' ')),
      analyzed.map((entry) => entry.titleLength),
      analyzed.map((entry) => entry.textLength),
      vectors.map((vector) => (vector ? vectorLiteral(vector) : null)),
      ...(copyFrom ? [copyFrom.rowIds] : []),
    ],
  );
  const frequencies = new Map<string, { papers: number; titlePapers: number }>();
  for (const { titleTerms, abstractTerms } of analyzed) {
    const inTitle = new Set(titleTerms);
    for (const term of new Set([...titleTerms, ...abstractTerms])) {
      const entry = frequencies.get(term) ?? { papers: 0, titlePapers: 0 };
      entry.papers += 1;
      if (inTitle.has(term)) entry.titlePapers += 1;
      frequencies.set(term, entry);
    }
  }
  await client.query(
    `INSERT INTO ${terms} (term, papers, title_papers) SELECT * FROM unnest($1::text[], $2::int[], $3::int[])
     ON CONFLICT (term) DO UPDATE SET papers = ${terms}.papers + excluded.papers, title_papers = ${terms}.title_papers + excluded.title_papers`,
    [
      [...frequencies.keys()],
      [...frequencies.values()].map((entry) => entry.papers),
      [...frequencies.values()].map((entry) => entry.titlePapers),
    ],
  );
  await client.query(
    `UPDATE ${totals} SET papers = papers + $1, title_length = title_length + $2, text_length = text_length + $3`,
    [
      papers.length,
      analyzed.reduce((sum, entry) => sum + entry.titleLength, 0),
      analyzed.reduce((sum, entry) => sum + entry.textLength, 0),
    ],
  );
}

/**
 * Inserts one batch of an upgrade: papers not in the library yet (by id or title), kept vectors copied from the
 * old table inside the database, the others embedded now.
 */
export async function insertLegacyBatch(
  store: PostgresStore,
  client: pg.PoolClient,
  previousTable: string,
  rows: readonly LegacyRow[],
): Promise<{ inserted: number; embedded: number }> {
  const stored = await storedMatching(
    store,
    rows.map((row) => row.paper),
    client,
  );
  const seen = new Set<string>();
  const fresh = rows.filter(({ paper }) => {
    const keys = [paper.id, titleKey(paper)];
    if (stored(paper) || keys.some((key) => seen.has(key))) return false;
    keys.forEach((key) => seen.add(key));
    return true;
  });
  const toEmbed = fresh.filter((row) => !row.keepVector);
  const vectors = await embedPapers(
    toEmbed.map((row) => row.paper),
    embedding(store),
  );
  const embedded = new Map(toEmbed.map((row, index) => [row, vectors[index]!]));
  if (fresh.length > 0) {
    await insertPapers(
      store,
      client,
      fresh.map((row) => row.paper),
      fresh.map((row) => embedded.get(row) ?? null),
      { table: previousTable, rowIds: fresh.map((row) => (row.keepVector ? row.rowId : null)) },
    );
  }
  return { inserted: fresh.length, embedded: toEmbed.length };
}
