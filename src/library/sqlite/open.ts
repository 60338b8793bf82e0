import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { describeError, UserError } from '../../errors.js';
import { normalizeTitle } from '../../papers/paper.js';
import { analyzePaper } from '../../text/analysis.js';
import { loadVectors, reembedAll } from './checkpoints.js';
import { DATABASE_FILE, DATABASE_FORMAT, openLibraryDatabase } from './database.js';
import { LEXICAL_FORMAT, LexicalIndex } from './lexicalIndex.js';
import { migrateGenerations, hasGenerations } from './migration.js';
import { NameIndex } from './names.js';
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
  if (!state.options.deferGraph) await loadVectors(state);
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

/** Opens the database into `state`: its statements, lexical and name indexes; checks (or records) its formats. */
function attach(state: SqliteLibraryState, file: string): Database.Database {
  let db: Database.Database;
  try {
    db = openLibraryDatabase(file);
  } catch (error) {
    throw new UserError(
      `the library database ${file} cannot be opened (${describeError(error)}); move it away and ingest again`,
      { cause: error },
    );
  }
  state.db = db;
  state.statements = {
    meta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    byId: db.prepare('SELECT seq, paper FROM papers WHERE id = ?'),
    byTitle: db.prepare('SELECT seq, paper FROM papers WHERE title_key = ? ORDER BY seq LIMIT 1'),
    bySeq: db.prepare('SELECT paper FROM papers WHERE seq = ?'),
    bySeqs: db.prepare('SELECT seq, paper FROM papers WHERE seq IN (SELECT value FROM json_each(?))'),
    // The planner prefers the rowid; the covering index reads far fewer pages.
    idsBySeqs: db.prepare(
      'SELECT seq, id FROM papers INDEXED BY papers_ids_by_seq WHERE seq IN (SELECT value FROM json_each(?))',
    ),
    byIds: db.prepare('SELECT id, paper FROM papers WHERE id IN (SELECT value FROM json_each(?))'),
    maxSeq: db.prepare('SELECT max(seq) AS seq FROM papers'),
    insertPaper: db.prepare('INSERT INTO papers (seq, id, title_key, paper) VALUES (?, ?, ?, ?)'),
    updatePaper: db.prepare('UPDATE papers SET paper = ? WHERE id = ?'),
    insertVector: db.prepare('INSERT INTO vectors (seq, vector) VALUES (?, ?)'),
    vectorsAfter: db.prepare('SELECT seq, vector FROM vectors WHERE seq > ? ORDER BY seq'),
    vectorCount: db.prepare('SELECT count(*) AS count FROM vectors'),
    first: db.prepare('SELECT paper FROM papers ORDER BY seq LIMIT ?'),
    latest: db.prepare('SELECT paper FROM papers ORDER BY seq DESC LIMIT ?'),
    all: db.prepare('SELECT paper FROM papers ORDER BY seq'),
  };
  state.lexical = new LexicalIndex(db);
  state.names = new NameIndex(db);
  const format = state.statements.meta.get('format')?.value;
  if (format === undefined && !state.options.readOnly) state.statements.setMeta.run('format', DATABASE_FORMAT);
  else if (format !== undefined && format !== DATABASE_FORMAT)
    throw new UserError(
      `the library database ${file} has format ${format}, this papercord reads ${DATABASE_FORMAT}; upgrade papercord`,
    );
  if (state.statements.meta.get('lexical')?.value === undefined && !state.options.readOnly)
    state.statements.setMeta.run('lexical', LEXICAL_FORMAT);
  return db;
}

/** Closes the database after a failed open, so that it can be repaired and opened again. */
function detach(state: SqliteLibraryState): void {
  try {
    state.db?.close();
  } catch {
    // Already unusable.
  }
  state.db = undefined as unknown as Database.Database;
  state.vectors = undefined;
  state.dataVersion = -1;
  state.paperCount = 0;
  state.nextSeq = 0;
}
