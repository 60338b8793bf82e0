import Database from 'better-sqlite3';
import { describeError, UserError } from '../../errors.js';
import { LEXICAL_FORMAT, LexicalIndex } from './lexicalIndex.js';
import { NameIndex } from './names.js';
import type { SqliteLibraryState } from './state.js';

/** The local library's database: its schema and format, the statements every process prepares, opening and closing it. */

export const DATABASE_FILE = 'library.db';
/** Bumped when the schema changes incompatibly. */
export const DATABASE_FORMAT = '2';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS papers (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title_key TEXT NOT NULL, paper TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS papers_by_title ON papers (title_key);
  -- Search hits are sequence numbers; their ids come from this index's small pages instead of the papers' rows (two
  -- abstracts a page), half the time of a query's id lookups at 100,000 papers. Built on the first open of an older library.
  CREATE INDEX IF NOT EXISTS papers_ids_by_seq ON papers (seq, id);
  CREATE TABLE IF NOT EXISTS vectors (seq INTEGER PRIMARY KEY, vector BLOB NOT NULL);
`;

export function vectorBlob(vector: ArrayLike<number>): Buffer {
  return Buffer.from(Float32Array.from(vector).buffer);
}

export function blobVector(blob: Buffer): Float32Array {
  return new Float32Array(new Uint8Array(blob).buffer);
}

/** Opens (creating) the library database with the settings every process must share. */
export function openLibraryDatabase(file: string): Database.Database {
  const db = new Database(file);
  // Readers never block the writer nor see a half commit; a killed writer's transaction is rolled back on open.
  db.pragma('journal_mode = WAL');
  // A committed paper survives a crash of the machine, not only of the process.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 30000');
  db.exec(SCHEMA);
  return db;
}

export interface Statements {
  meta: Database.Statement<[string], { value: string }>;
  setMeta: Database.Statement<[string, string]>;
  byId: Database.Statement<[string], { seq: number; paper: string }>;
  byTitle: Database.Statement<[string], { seq: number; paper: string }>;
  bySeq: Database.Statement<[number], { paper: string }>;
  bySeqs: Database.Statement<[string], { seq: number; paper: string }>;
  idsBySeqs: Database.Statement<[string], { seq: number; id: string }>;
  byIds: Database.Statement<[string], { id: string; paper: string }>;
  maxSeq: Database.Statement<[], { seq: number | null }>;
  insertPaper: Database.Statement<[number, string, string, string]>;
  updatePaper: Database.Statement<[string, string]>;
  insertVector: Database.Statement<[number, Buffer]>;
  vectorsAfter: Database.Statement<[number], { seq: number; vector: Buffer }>;
  vectorCount: Database.Statement<[], { count: number }>;
  first: Database.Statement<[number], { paper: string }>;
  latest: Database.Statement<[number], { paper: string }>;
  all: Database.Statement<[], { paper: string }>;
}

export function attach(state: SqliteLibraryState, file: string): Database.Database {
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
export function detach(state: SqliteLibraryState): void {
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
