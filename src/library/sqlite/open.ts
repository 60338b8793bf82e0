import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { normalizeTitle } from '../../papers/paper.js';
import { analyzePaper } from '../../text/analysis.js';
import { loadVectors, reembedAll } from './checkpoints.js';
import { attach, DATABASE_FILE, detach } from './database.js';
import { migrateGenerations, hasGenerations } from './migration.js';
import {
  corruptionReason,
  finishInterruptedRecovery,
  findDamage,
  isCorruption,
  LibraryDamagedError,
  RECOVERED_SUFFIX,
  salvage,
  swapInRecovered,
  type SalvagedLibrary,
} from './recovery.js';
import { embedPapers, takeInLatest, withWriteLock, type SqliteLibraryState } from './state.js';
import { isCheckpointFile, removeFile } from './vectorIndex.js';
import { insertNew } from './writes.js';

/**
 * Opening a local library: upgrading one of the old generation format, checking the embedder that built it, loading
 * the graph, and recovering what a damaged database still holds.
 */

/** DATA_DIR pointing at a file or a folder we may not write is the user's to fix, so it is said in their terms. */
export function unusableDataDir(dataDir: string, error: NodeJS.ErrnoException): Error {
  const reasons: Record<string, string> = {
    ENOTDIR: 'a file is in the way, not a folder',
    EEXIST: 'a file is in the way, not a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
  };
  const reason = error.code === undefined ? undefined : reasons[error.code];
  if (!reason) return error;
  return new UserError(
    `DATA_DIR ${dataDir} cannot hold the library (${reason}); set DATA_DIR to a folder papercord can write`,
    { cause: error },
  );
}

/** Opens the database (upgrading a library of the old format first) and the HNSW graph, repairing what it must. */
export async function load(state: SqliteLibraryState): Promise<void> {
  const { logger, embedder, readOnly } = state.options;
  if (await hasGenerations(state.directory)) {
    if (readOnly)
      throw new Error(`the library in ${state.directory} has the old format; open it read-write once to upgrade it`);
    await withWriteLock(state, () =>
      migrateGenerations({
        directory: state.directory,
        embedder,
        logger,
        efSearch: state.options.efSearch,
        onStep: state.options.onSaveStep,
        createDatabase: (file) => attach(state, file),
      }),
    );
  }
  const file = path.join(state.directory, DATABASE_FILE);
  if (state.db) {
    await loadDatabase(state, file);
    return;
  }
  await finishInterruptedRecovery(file);
  try {
    await loadDatabase(state, file);
  } catch (error) {
    if (!isCorruption(error)) throw error;
    detach(state);
    if (readOnly)
      throw new UserError(
        `the library database ${file} is damaged (${corruptionReason(error)}); open it read-write once to repair it`,
      );
    await withWriteLock(state, async () => {
      // Another process may have repaired it while this one waited for the lock.
      try {
        await loadDatabase(state, file);
      } catch (again) {
        if (!isCorruption(again)) throw again;
        detach(state);
        await recover(state, file, corruptionReason(again));
        await loadDatabase(state, file);
      }
    });
  }
}

/** Opens the database and the HNSW graph; throws what SQLite says (or LibraryDamagedError) when the file is damaged. */
export async function loadDatabase(state: SqliteLibraryState, file: string): Promise<void> {
  const { logger, embedder, readOnly } = state.options;
  if (!state.db) {
    const damage = await findDamage(state.directory, file);
    if (damage) throw new LibraryDamagedError(damage);
    attach(state, file);
  }
  takeInLatest(state);

  const storedEmbedder = state.statements.meta.get('embedder')?.value;
  const current = `${embedder.id}\t${embedder.dimension}`;
  if (storedEmbedder === undefined) {
    if (!readOnly) state.statements.setMeta.run('embedder', current);
  } else if (storedEmbedder !== current) {
    if (readOnly)
      throw new Error(
        `the library was embedded by ${storedEmbedder.split('\t')[0]}, not ${embedder.id}; open it read-write once to re-embed it`,
      );
    const [id, dimension] = storedEmbedder.split('\t');
    logger.warn(
      `the library index was built by embedder ${id} (${dimension} dimensions), ` +
        `now configured: ${embedder.id} (${embedder.dimension} dimensions); re-embedding ${state.paperCount} papers`,
    );
    await withWriteLock(state, () => reembedAll(state));
    return;
  }
  await loadVectors(state);
}

/**
 * Copies the papers and vectors SQLite can still read from a damaged database into a new one, embedding the papers
 * whose vectors are lost; the derived indexes are rebuilt as the papers are inserted. One warning says what was
 * recovered and where the damaged file is kept; nothing readable is a UserError saying what to do.
 */
export async function recover(state: SqliteLibraryState, file: string, reason: string): Promise<void> {
  const { embedder, logger } = state.options;
  let salvaged: SalvagedLibrary;
  try {
    salvaged = salvage(file, embedder.dimension);
  } catch (error) {
    if (!isCorruption(error)) throw error;
    salvaged = { papers: [], lost: 0 };
  }
  if (salvaged.papers.length === 0) {
    throw new UserError(
      `the library database ${file} is damaged (${reason}) and no paper in it can be read; ` +
        'move it away (it is the only copy of the library) and run `papercord ingest` again',
    );
  }
  const sameEmbedder = salvaged.embedder === `${embedder.id}\t${embedder.dimension}`;
  const missing = salvaged.papers.filter((entry) => !sameEmbedder || !entry.vector).map((entry) => entry.paper);
  const vectors = missing.length > 0 ? await embedPapers(state, missing) : [];
  const fresh = new Map(missing.map((paper, index) => [paper, vectors[index]!]));
  // Dedupe as a commit would: a damaged unique index may have let a paper in twice.
  const seen = new Set<string>();
  const entries = salvaged.papers.flatMap(({ paper, vector }) => {
    const keys = [paper.id, normalizeTitle(paper.title)];
    if (keys.some((key) => seen.has(key))) return [];
    keys.forEach((key) => seen.add(key));
    return [{ paper, prepared: { vector: fresh.get(paper) ?? vector!, analyzed: analyzePaper(paper) } }];
  });
  const recoveredFile = `${file}${RECOVERED_SUFFIX}`;
  await rm(recoveredFile, { force: true });
  const db = attach(state, recoveredFile);
  state.statements.setMeta.run('embedder', `${embedder.id}\t${embedder.dimension}`);
  db.transaction(() => insertNew(state, entries))();
  // Self-contained before the swap: no -wal beside it.
  db.pragma('wal_checkpoint(TRUNCATE)');
  detach(state);
  await state.options.onSaveStep?.('recovered');
  for (const name of await readdir(state.directory)) {
    if (isCheckpointFile(name)) await removeFile(path.join(state.directory, name));
  }
  const kept = await swapInRecovered(state.directory, file);
  logger.warn(
    `the library database ${file} is damaged (${reason}); recovered ${entries.length} papers into a new one ` +
      `(${entries.length - missing.length} vectors kept, ${missing.length} papers embedded again` +
      `${salvaged.lost > 0 ? `, ${salvaged.lost} unreadable rows lost` : ''}); the damaged file is kept as ${kept}`,
  );
}
