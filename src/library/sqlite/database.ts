import Database from 'better-sqlite3';

/** The local library's database: its schema and format, and the statements every process prepares (open.ts attaches them). */

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
