import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describeError, UserError } from '../../errors.js';
import type { Paper } from '../../papers/paper.js';
import type { GraphWorker } from './bulkGraph.js';
import { vectorBlob } from './database.js';
import {
  checkpointRecord,
  embedPapers,
  takeInLatest,
  vectorRowsAfter,
  withWriteLock,
  type SqliteLibraryState,
} from './state.js';
import { isCheckpointFile, removeFile, VectorIndex } from './vectorIndex.js';

/**
 * The HNSW graph of a local library: loaded from its checkpoint plus the vectors committed after it, repaired or
 * rebuilt from the stored vectors when it cannot be trusted, and checkpointed (written to `vectors-*.hnsw` and
 * recorded in the database) so the next open replays little.
 */

/** Vectors committed after the recorded checkpoint (as of the last look at the database): what an open replays. */
export function vectorsSinceCheckpoint(state: SqliteLibraryState): number {
  return Math.max(0, state.nextSeq - 1 - (checkpointRecord(state)?.throughSeq ?? -1));
}

/**
 * Whether enough vectors were committed since the last checkpoint to write one. Below `checkpointEvery`, the next
 * open replays them cheaply, while a checkpoint rewrites the whole graph (hundreds of MB at 100,000 papers): so a
 * process that added a few papers leaves them to be replayed, and whichever process crosses the threshold writes it.
 */
export function checkpointDue(state: SqliteLibraryState): boolean {
  return vectorsSinceCheckpoint(state) >= state.options.checkpointEvery;
}

/** `rewrite`: the recorded checkpoint is unusable, so write one even when it claims to be up to date. */
export async function checkpointNow(state: SqliteLibraryState, rewrite = false): Promise<void> {
  takeInLatest(state);
  state.lexical.compact();
  // A library opened with `deferGraph` that crosses the checkpoint count loads its graph now.
  if (!state.vectors && state.options.deferGraph) await loadVectors(state);
  const vectors = state.vectors;
  if (!vectors || vectors.count === 0) return;
  const recorded = checkpointRecord(state);
  if (!rewrite && recorded && recorded.throughSeq >= vectors.throughSeq) return;
  const record = await vectors.writeCheckpoint(state.directory, () => state.options.onSaveStep?.('checkpoint-written'));
  state.statements.setMeta.run('checkpoint', JSON.stringify(record));
  await state.options.onSaveStep?.('checkpoint');
  await removeStaleCheckpoints(state, record.file);
}

/** Checkpoint files other than the recorded one, and temporary files of checkpoints that never finished. */
export async function removeStaleCheckpoints(state: SqliteLibraryState, keep: string): Promise<void> {
  for (const name of await readdir(state.directory)) {
    if (name !== keep && isCheckpointFile(name)) await removeFile(path.join(state.directory, name));
  }
}

/**
 * Records the bulk-ingest worker's checkpoint (under the write lock, so no other writer removes its file first), when
 * one is due (see `checkpointDue`).
 */
export async function adoptCheckpoint(state: SqliteLibraryState, worker: GraphWorker): Promise<void> {
  try {
    takeInLatest(state);
    if (!checkpointDue(state)) return;
    const record = await worker.checkpoint();
    if (!record) return;
    if (record.throughSeq <= (checkpointRecord(state)?.throughSeq ?? -1)) {
      await removeFile(path.join(state.directory, record.file));
      return;
    }
    state.statements.setMeta.run('checkpoint', JSON.stringify(record));
    await state.options.onSaveStep?.('checkpoint');
    await removeStaleCheckpoints(state, record.file);
  } catch (error) {
    state.options.logger.warn(
      `could not checkpoint the vector index after the ingest (${describeError(error)}); the next start adds the newest vectors again`,
    );
  } finally {
    await worker.close();
  }
}

/**
 * The graph from its checkpoint plus the vectors committed after it. A checkpoint that is missing, truncated or
 * corrupted is rebuilt from the stored vectors (no re-embedding), with one warning.
 */
export async function loadVectors(state: SqliteLibraryState): Promise<void> {
  const { efSearch, logger } = state.options;
  let record = checkpointRecord(state);
  let vectors: VectorIndex | undefined;
  let problem: string | undefined;
  for (let attempt = 0; record && !vectors && attempt < 2; attempt += 1) {
    try {
      vectors = await VectorIndex.load(state.directory, record, efSearch);
      if (vectors.dimension !== state.options.embedder.dimension)
        throw new Error(`it has ${vectors.dimension} dimensions, the embedder ${state.options.embedder.dimension}`);
    } catch (error) {
      vectors = undefined;
      problem = describeError(error);
      // Another process may have replaced the checkpoint between reading the record and the file.
      const again = checkpointRecord(state);
      if (again?.file === record.file) break;
      record = again;
    }
  }
  const stored = state.statements.vectorCount.get()!.count;
  if (!vectors) {
    if (record && problem)
      logger.warn(
        `the library's vector index ${record.file} is unusable (${problem}); rebuilding it from ${stored} stored vectors`,
      );
    vectors = VectorIndex.empty(state.options.embedder.dimension, efSearch, state.options.efConstruction);
  }
  state.unusableVectors = 0;
  vectors.add(vectorRowsAfter(state, vectors.throughSeq));
  state.vectors = vectors;
  const repair =
    !state.options.readOnly && (state.unusableVectors > 0 || stored < state.paperCount)
      ? await withWriteLock(state, () => repairVectors(state))
      : undefined;
  if (!repair && state.vectors.count !== stored)
    logger.warn(`the library's vector index holds ${state.vectors.count} vectors, the database ${stored}`);
  if (!state.options.readOnly && (problem !== undefined || repair?.rebuilt === true)) {
    await withWriteLock(state, () => checkpointNow(state, true)).catch((error: unknown) => {
      logger.warn(`could not checkpoint the vector index (${describeError(error)})`);
    });
  } else if (!state.options.readOnly && checkpointDue(state)) {
    // Only saves the next open some work, so it never waits: while another process writes (a bulk ingest, which
    // checkpoints when it ends), a search opening the library goes ahead without it.
    await withWriteLock(state, () => checkpointNow(state), undefined, 0).catch((error: unknown) => {
      if (error instanceof UserError) logger.debug(`vector index not checkpointed at open: ${error.message}`);
      else logger.warn(`could not checkpoint the vector index (${describeError(error)})`);
    });
  }
}

/**
 * Papers whose vector is missing or of the wrong length (a damaged or hand-edited database) are embedded again,
 * with one warning; the graph is rebuilt from the stored vectors when such a paper lies inside the checkpoint.
 * Runs only when the open saw a sign of it (fewer vectors than papers, or a bad one replayed): a scan of every
 * vector is O(library).
 */
export async function repairVectors(
  state: SqliteLibraryState,
): Promise<{ repaired: number; rebuilt: boolean } | undefined> {
  const bytes = state.options.embedder.dimension * 4;
  const broken = state.db
    .prepare<[number], { seq: number; paper: string }>(
      'SELECT p.seq, p.paper FROM papers p LEFT JOIN vectors v ON v.seq = p.seq WHERE v.seq IS NULL OR length(v.vector) != ? ORDER BY p.seq',
    )
    .all(bytes);
  if (broken.length === 0) return undefined;
  state.options.logger.warn(
    `${broken.length} paper${broken.length === 1 ? ' has' : 's have'} no usable vector in the library (missing, or not ${state.options.embedder.dimension} dimensions); embedding ${broken.length === 1 ? 'it' : 'them'} again`,
  );
  const vectors = await embedPapers(
    state,
    broken.map((row) => JSON.parse(row.paper) as Paper),
  );
  const replace = state.db.prepare<[number, Buffer]>('INSERT OR REPLACE INTO vectors (seq, vector) VALUES (?, ?)');
  state.db.transaction(() => broken.forEach((row, index) => replace.run(row.seq, vectorBlob(vectors[index]!))))();
  const rebuilt = broken.some((row) => row.seq <= state.vectors!.throughSeq);
  if (rebuilt) {
    state.vectors = VectorIndex.empty(
      state.options.embedder.dimension,
      state.options.efSearch,
      state.options.efConstruction,
    );
    state.vectors.add(vectorRowsAfter(state, -1));
  } else {
    state.vectors!.add(vectorRowsAfter(state, state.vectors!.throughSeq));
  }
  return { repaired: broken.length, rebuilt };
}

/** Embeds every paper again with the configured embedder, replacing the vectors in one transaction. */
export async function reembedAll(state: SqliteLibraryState): Promise<void> {
  const batch: Array<{ seq: number; paper: Paper }> = [];
  const vectors: Array<{ seq: number; vector: number[] }> = [];
  for (const row of state.db
    .prepare<[], { seq: number; paper: string }>('SELECT seq, paper FROM papers ORDER BY seq')
    .iterate()) {
    batch.push({ seq: row.seq, paper: JSON.parse(row.paper) as Paper });
  }
  for (let start = 0; start < batch.length; start += 1000) {
    const slice = batch.slice(start, start + 1000);
    const embedded = await embedPapers(
      state,
      slice.map((entry) => entry.paper),
    );
    slice.forEach((entry, index) => vectors.push({ seq: entry.seq, vector: embedded[index]! }));
  }
  state.db.transaction(() => {
    state.db.exec('DELETE FROM vectors');
    for (const { seq, vector } of vectors) state.statements.insertVector.run(seq, vectorBlob(vector));
    state.db.prepare("DELETE FROM meta WHERE key = 'checkpoint'").run();
    state.statements.setMeta.run('embedder', `${state.options.embedder.id}\t${state.options.embedder.dimension}`);
  })();
  state.vectors = VectorIndex.empty(
    state.options.embedder.dimension,
    state.options.efSearch,
    state.options.efConstruction,
  );
  state.vectors.add(vectorRowsAfter(state, -1));
  await checkpointNow(state, true);
}
