import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** A thread opened by `/read` (or a "Discuss in a thread" button): its messages are answered from these papers only. */
export interface ReadingSession {
  threadId: string;
  guildId: string;
  /** Library ids, in the order they were named (their citation order). */
  paperIds: string[];
  openedBy: string;
  openedAt: string;
}

export interface ReadingSessionStoreOptions {
  /** `DATA_DIR`; the table lives in `<dataDir>/papercord.sqlite`, beside the link-pickup channels. */
  dataDir: string;
  now?: () => Date;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reading_sessions (
  thread_id TEXT NOT NULL PRIMARY KEY,
  guild_id TEXT NOT NULL,
  paper_ids TEXT NOT NULL,
  opened_by TEXT NOT NULL,
  opened_at TEXT NOT NULL
);
`;

interface SessionRow {
  thread_id: string;
  guild_id: string;
  paper_ids: string;
  opened_by: string;
  opened_at: string;
}

/** Sessions looked up so far, kept for the messages that follow; beyond this many the oldest are read again. */
const CACHED_SESSIONS = 1_000;

/**
 * Which threads are reading sessions and on which papers, in SQLite so a session survives a restart and holds for
 * every shard. `get` runs for every message in the bot's threads, so it is one primary-key lookup, cached.
 */
export class ReadingSessionStore {
  private readonly cache = new Map<string, ReadingSession | null>();

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  static open(options: ReadingSessionStoreOptions): ReadingSessionStore {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(path.join(options.dataDir, 'papercord.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new ReadingSessionStore(db, options.now ?? (() => new Date()));
  }

  /** Records a session on a new thread. */
  open(session: Omit<ReadingSession, 'openedAt'>): ReadingSession {
    const opened: ReadingSession = { ...session, paperIds: [...session.paperIds], openedAt: this.now().toISOString() };
    this.db
      .prepare(
        'INSERT OR REPLACE INTO reading_sessions (thread_id, guild_id, paper_ids, opened_by, opened_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(opened.threadId, opened.guildId, JSON.stringify(opened.paperIds), opened.openedBy, opened.openedAt);
    this.remember(opened.threadId, opened);
    return opened;
  }

  /** The session a thread holds, or undefined for any other thread. */
  get(threadId: string): ReadingSession | undefined {
    let session = this.cache.get(threadId);
    if (session === undefined) {
      const row = this.db.prepare('SELECT * FROM reading_sessions WHERE thread_id = ?').get(threadId) as
        SessionRow | undefined;
      session = row ? toSession(row) : null;
      this.remember(threadId, session);
    }
    return session ?? undefined;
  }

  /** Ends a session (its thread was archived or deleted); true when there was one. */
  end(threadId: string): boolean {
    const result = this.db.prepare('DELETE FROM reading_sessions WHERE thread_id = ?').run(threadId);
    this.remember(threadId, null);
    return result.changes > 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private remember(threadId: string, session: ReadingSession | null): void {
    this.cache.delete(threadId);
    this.cache.set(threadId, session);
    if (this.cache.size > CACHED_SESSIONS) this.cache.delete(this.cache.keys().next().value!);
  }
}

function toSession(row: SessionRow): ReadingSession {
  return {
    threadId: row.thread_id,
    guildId: row.guild_id,
    paperIds: JSON.parse(row.paper_ids) as string[],
    openedBy: row.opened_by,
    openedAt: row.opened_at,
  };
}
