import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FullTextChunk } from './chunking.js';
import { sectionChars, sectionHeading, type FullTextDocument, type FullTextSource } from './document.js';

/**
 * Full texts and their embedded passages, in SQLite (`DATA_DIR/fulltext.sqlite`, WAL). One transaction writes a
 * paper's document and all of its chunks, replacing what was there: a process killed mid-write leaves the paper
 * either whole or absent, never half-chunked or doubled. Reads touch only the papers asked for (primary-key
 * lookups), so their cost does not grow with the library.
 *
 * Its own tables in its own file, so that it can move into the library's database later unchanged.
 */

export interface StoredFullText {
  paperId: string;
  source: FullTextSource;
  url: string | null;
  fetchedAt: string;
  document: FullTextDocument;
  /** Which embedder made the chunk vectors; another one means the chunks must be embedded again. */
  embedder: string;
}

export interface StoredChunk extends FullTextChunk {
  paperId: string;
  vector: Float32Array;
}

export interface OutlineEntry {
  heading: string;
  level: number;
  chars: number;
}

export interface FullTextFailure {
  paperId: string;
  reason: string;
  /** Epoch ms; a failure that may pass (timeout, 429) is retried after this. */
  retryAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fulltext_documents (
  paper_id   TEXT PRIMARY KEY,
  source     TEXT NOT NULL CHECK (source IN ('html', 'pdf', 'local-pdf')),
  url        TEXT,
  fetched_at TEXT NOT NULL,
  document   TEXT NOT NULL,
  embedder   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fulltext_chunks (
  paper_id TEXT NOT NULL REFERENCES fulltext_documents(paper_id) ON DELETE CASCADE,
  seq      INTEGER NOT NULL,
  section  TEXT,
  label    TEXT,
  page     INTEGER,
  text     TEXT NOT NULL,
  vector   BLOB NOT NULL,
  PRIMARY KEY (paper_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fulltext_failures (
  paper_id TEXT PRIMARY KEY,
  reason   TEXT NOT NULL,
  retry_at INTEGER NOT NULL
);
`;

interface ChunkRow {
  paper_id: string;
  seq: number;
  section: string | null;
  label: string | null;
  page: number | null;
  text: string;
  vector: Buffer;
}

interface DocumentRow {
  paper_id: string;
  source: FullTextSource;
  url: string | null;
  fetched_at: string;
  document: string;
  embedder: string;
}

export class FullTextStore {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(dataDir: string): FullTextStore {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(path.join(dataDir, 'fulltext.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // Several processes (the bot, a CLI run) may share DATA_DIR; a writer waits for another instead of failing.
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new FullTextStore(db);
  }

  /** Stores a paper's document and chunks in one transaction, replacing any earlier version: idempotent per paper. */
  put(
    text: Omit<StoredFullText, 'fetchedAt'> & { fetchedAt?: string },
    chunks: ReadonlyArray<FullTextChunk & { vector: ArrayLike<number> }>,
  ): void {
    const write = this.db.transaction(() => {
      this.db.prepare('DELETE FROM fulltext_documents WHERE paper_id = ?').run(text.paperId);
      this.db.prepare('DELETE FROM fulltext_failures WHERE paper_id = ?').run(text.paperId);
      this.db
        .prepare(
          'INSERT INTO fulltext_documents (paper_id, source, url, fetched_at, document, embedder) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(
          text.paperId,
          text.source,
          text.url,
          text.fetchedAt ?? new Date().toISOString(),
          JSON.stringify(text.document),
          text.embedder,
        );
      const insert = this.db.prepare(
        'INSERT INTO fulltext_chunks (paper_id, seq, section, label, page, text, vector) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const chunk of chunks) {
        const vector = Float32Array.from(chunk.vector);
        insert.run(
          text.paperId,
          chunk.seq,
          chunk.section,
          chunk.label,
          chunk.page,
          chunk.text,
          Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
        );
      }
    });
    write();
  }

  get(paperId: string): StoredFullText | undefined {
    const row = this.db.prepare('SELECT * FROM fulltext_documents WHERE paper_id = ?').get(paperId) as
      DocumentRow | undefined;
    return row ? documentOf(row) : undefined;
  }

  has(paperId: string): boolean {
    return this.db.prepare('SELECT 1 FROM fulltext_documents WHERE paper_id = ?').get(paperId) !== undefined;
  }

  /** The embedder each of these papers' chunks were made with, for those that have full text. */
  embeddersOf(paperIds: readonly string[]): Map<string, string> {
    const found = new Map<string, string>();
    const query = this.db.prepare('SELECT embedder FROM fulltext_documents WHERE paper_id = ?');
    for (const id of paperIds) {
      const row = query.get(id) as { embedder: string } | undefined;
      if (row) found.set(id, row.embedder);
    }
    return found;
  }

  outline(paperId: string): OutlineEntry[] | undefined {
    const stored = this.get(paperId);
    if (!stored) return undefined;
    return stored.document.sections.map((section) => ({
      heading: sectionHeading(section) || `Page ${section.page ?? '?'}`,
      level: section.level,
      chars: sectionChars(section),
    }));
  }

  /** The chunks of these papers only (an index lookup per paper), in paper order then reading order. */
  chunksOf(paperIds: readonly string[]): StoredChunk[] {
    const query = this.db.prepare('SELECT * FROM fulltext_chunks WHERE paper_id = ? ORDER BY seq');
    return paperIds.flatMap((id) => (query.all(id) as ChunkRow[]).map(chunkOf));
  }

  recordFailure(failure: FullTextFailure): void {
    this.db
      .prepare(
        'INSERT INTO fulltext_failures (paper_id, reason, retry_at) VALUES (?, ?, ?) ON CONFLICT (paper_id) DO UPDATE SET reason = excluded.reason, retry_at = excluded.retry_at',
      )
      .run(failure.paperId, failure.reason, failure.retryAt);
  }

  failure(paperId: string): FullTextFailure | undefined {
    const row = this.db
      .prepare('SELECT paper_id, reason, retry_at FROM fulltext_failures WHERE paper_id = ?')
      .get(paperId) as { paper_id: string; reason: string; retry_at: number } | undefined;
    return row ? { paperId: row.paper_id, reason: row.reason, retryAt: row.retry_at } : undefined;
  }

  counts(): { papers: number; chunks: number } {
    const papers = (this.db.prepare('SELECT COUNT(*) AS n FROM fulltext_documents').get() as { n: number }).n;
    const chunks = (this.db.prepare('SELECT COUNT(*) AS n FROM fulltext_chunks').get() as { n: number }).n;
    return { papers, chunks };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function documentOf(row: DocumentRow): StoredFullText {
  return {
    paperId: row.paper_id,
    source: row.source,
    url: row.url,
    fetchedAt: row.fetched_at,
    document: JSON.parse(row.document) as FullTextDocument,
    embedder: row.embedder,
  };
}

function chunkOf(row: ChunkRow): StoredChunk {
  // Copied out of the row's buffer: a Float32Array view needs 4-byte alignment, which a Buffer slice may lack.
  const bytes = new Uint8Array(row.vector);
  return {
    paperId: row.paper_id,
    seq: row.seq,
    section: row.section,
    label: row.label,
    page: row.page,
    text: row.text,
    vector: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
  };
}
