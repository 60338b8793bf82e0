import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';
import type { Paper } from '../papers/paper.js';
import { splitSentences } from '../text/sentences.js';
import type { FeedbackEvent, FeedMatch, Follow, FollowInput, FollowKind } from './types.js';

/**
 * The research feed's own data (issue 24), in `<DATA_DIR>/papercord.sqlite` beside the trending subscriptions:
 * follows, the matches waiting for delivery and the delivery log, feedback, and each member's delivery settings.
 * Every row about a member carries their user id, so `/feed forget` is one delete per table.
 *
 * Several threads and processes share it (the library's worker threads record matches, the bot's thread delivers):
 * SQLite in WAL mode with a busy timeout, and every multi-row change in one transaction.
 */

export const FEED_LIMITS = {
  followsPerUser: 50,
  topicChars: 200,
  excludeChars: 200,
  excludeItems: 10,
  questionChars: 300,
  authorChars: 100,
  /** Papers shown in one delivery message; the rest wait for `/feed now`. */
  papersPerDelivery: 10,
} as const;

export type FeedFrequency = 'instant' | 'daily' | 'weekly';
export const FEED_FREQUENCIES: readonly FeedFrequency[] = ['instant', 'daily', 'weekly'];

export interface FeedSettings {
  userId: string;
  frequency: FeedFrequency;
  /** `HH:MM` in `timezone`. */
  time: string;
  timezone: string;
  /** When a DM to the user was refused (Discord 50007); deliveries wait until they use `/feed` again. */
  dmsClosedAt: string | null;
}

export const DEFAULT_FEED_SETTINGS = { frequency: 'daily', time: '09:00', timezone: 'UTC' } as const;

/** What a delivery shows of a paper, kept with the match so the bot's thread needs no library to deliver. */
export interface PaperSnapshot {
  id: string;
  title: string;
  url?: string;
  arxivId?: string;
  authors: string[];
  tldr: string;
}

/** A paper that matched one of a member's follows, not yet shown to them. */
export interface PendingMatch {
  paper: PaperSnapshot;
  followId: string;
  kind: FollowKind;
  score: number;
  why: string;
  matchedAt: string;
}

export type DeliveryStatus = 'sending' | 'sent';

export interface Delivery {
  id: number;
  userId: string;
  /** `instant:<time>`, `daily:<local date>`, `weekly:<local date>` or `now:<time>`: one delivery per slot, ever. */
  slot: string;
  status: DeliveryStatus;
  /** At most 25 characters, fixed per delivery: a resend after a crash carries the same nonce. */
  nonce: string;
  messageId: string | null;
  claimedAt: string;
}

/** What `/feed forget` removed, per table. */
export interface ForgetReport {
  follows: number;
  matches: number;
  deliveries: number;
  feedback: number;
  settings: number;
}

/** A change to the follows, in the order made: what keeps every thread's follow index in step with the store. */
export interface FollowChange {
  seq: number;
  followId: string;
  /** The follow as it is now; undefined when it was removed. */
  follow: Follow | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS feed_follows (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  follow TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_follows_by_user ON feed_follows (user_id);
-- Holds follow ids only (no user id): a follow index in another thread replays it from its cursor.
CREATE TABLE IF NOT EXISTS feed_follow_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, follow_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feed_settings (
  user_id TEXT PRIMARY KEY,
  frequency TEXT NOT NULL,
  time TEXT NOT NULL,
  timezone TEXT NOT NULL,
  dms_closed_at TEXT,
  dms_notice INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_papers (paper_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feed_matches (
  user_id TEXT NOT NULL,
  paper_id TEXT NOT NULL,
  follow_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  score REAL NOT NULL,
  why TEXT NOT NULL,
  matched_at TEXT NOT NULL,
  delivery_id INTEGER,
  shown INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, paper_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_matches_pending ON feed_matches (delivery_id, user_id);
CREATE TABLE IF NOT EXISTS feed_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  slot TEXT NOT NULL,
  status TEXT NOT NULL,
  nonce TEXT NOT NULL,
  message_id TEXT,
  claimed_at TEXT NOT NULL,
  finished_at TEXT,
  UNIQUE (user_id, slot)
);
CREATE TABLE IF NOT EXISTS feed_feedback (
  subject_id TEXT NOT NULL,
  paper_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (subject_id, paper_id)
) WITHOUT ROWID;
`;

/** The tables `/feed forget` clears, with the column naming the member. */
export const FEED_USER_TABLES = [
  ['feed_follows', 'user_id'],
  ['feed_matches', 'user_id'],
  ['feed_deliveries', 'user_id'],
  ['feed_feedback', 'subject_id'],
  ['feed_settings', 'user_id'],
] as const;

interface FollowRow {
  id: string;
  follow: string;
}

interface MatchRow {
  paper_id: string;
  follow_id: string;
  kind: FollowKind;
  score: number;
  why: string;
  matched_at: string;
  snapshot: string | null;
}

interface DeliveryRow {
  id: number;
  user_id: string;
  slot: string;
  status: DeliveryStatus;
  nonce: string;
  message_id: string | null;
  claimed_at: string;
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  userId: row.user_id,
  slot: row.slot,
  status: row.status,
  nonce: row.nonce,
  messageId: row.message_id,
  claimedAt: row.claimed_at,
});

/** The one line a delivery shows under a title: the source's own summary, else the abstract's first sentence. */
export function tldrOf(paper: Pick<Paper, 'abstract' | 'aiSummary'>): string {
  const summary = paper.aiSummary?.trim() || splitSentences(paper.abstract)[0] || paper.abstract;
  return summary.length > 240 ? `${summary.slice(0, 239)}…` : summary;
}

export function snapshotOf(paper: Paper): PaperSnapshot {
  return {
    id: paper.id,
    title: paper.title,
    ...(paper.url ? { url: paper.url } : {}),
    ...(paper.arxivId ? { arxivId: paper.arxivId } : {}),
    authors: paper.authors ?? [],
    tldr: tldrOf(paper),
  };
}

export interface FeedStoreOptions {
  /** `DATA_DIR`. */
  dataDir: string;
  now?: () => Date;
}

export class FeedStore {
  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  static open(options: FeedStoreOptions): FeedStore {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(path.join(options.dataDir, 'papercord.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.exec(SCHEMA);
    return new FeedStore(db, options.now ?? (() => new Date()));
  }

  // ---- Follows ---------------------------------------------------------------------------------------------------

  /** Stores a follow checked against the limits; a UserError when the member is at the limit or follows it already. */
  addFollow(input: FollowInput): Follow {
    checkFollowText(input);
    return this.db.transaction(() => {
      const existing = this.follows(input.userId);
      if (existing.length >= FEED_LIMITS.followsPerUser) {
        throw new UserError(
          `you follow ${existing.length} things, the most allowed is ${FEED_LIMITS.followsPerUser}; remove one with /follow remove`,
        );
      }
      const same = existing.find((follow) => followKey(follow) === followKey(input));
      if (same) throw new UserError(`you already follow ${describeFollow(same)}`);
      const change = this.db.prepare('INSERT INTO feed_follow_changes (follow_id) VALUES (?)').run('');
      const id = `f${change.lastInsertRowid}`;
      this.db.prepare('UPDATE feed_follow_changes SET follow_id = ? WHERE seq = ?').run(id, change.lastInsertRowid);
      const follow = { ...input, id } as Follow;
      this.db
        .prepare('INSERT INTO feed_follows (id, user_id, kind, follow, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, input.userId, input.kind, JSON.stringify(follow), this.now().toISOString());
      return follow;
    })();
  }

  /** A member's follows, oldest first. */
  follows(userId: string): Follow[] {
    return this.db
      .prepare<[string], FollowRow>('SELECT id, follow FROM feed_follows WHERE user_id = ? ORDER BY created_at, id')
      .all(userId)
      .map((row) => JSON.parse(row.follow) as Follow);
  }

  /** Removes one of the member's follows; undefined when they have none with that id. */
  removeFollow(userId: string, followId: string): Follow | undefined {
    return this.db.transaction(() => {
      const row = this.db
        .prepare<[string, string], FollowRow>('SELECT id, follow FROM feed_follows WHERE id = ? AND user_id = ?')
        .get(followId, userId);
      if (!row) return undefined;
      this.db.prepare('DELETE FROM feed_follows WHERE id = ?').run(followId);
      this.db.prepare('INSERT INTO feed_follow_changes (follow_id) VALUES (?)').run(followId);
      return JSON.parse(row.follow) as Follow;
    })();
  }

  /** Follows added or removed after `seq` (0: from the start), in order; each follow once, as it is now. */
  followChangesAfter(seq: number, limit = 10_000): FollowChange[] {
    const rows = this.db
      .prepare<[number, number], { seq: number; follow_id: string; follow: string | null }>(
        `SELECT c.seq, c.follow_id, f.follow FROM feed_follow_changes c LEFT JOIN feed_follows f ON f.id = c.follow_id
         WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
      )
      .all(seq, limit);
    return rows.map((row) => ({
      seq: row.seq,
      followId: row.follow_id,
      follow: row.follow ? (JSON.parse(row.follow) as Follow) : undefined,
    }));
  }

  // ---- Settings --------------------------------------------------------------------------------------------------

  settings(userId: string): FeedSettings {
    const row = this.db
      .prepare<[string], { frequency: FeedFrequency; time: string; timezone: string; dms_closed_at: string | null }>(
        'SELECT frequency, time, timezone, dms_closed_at FROM feed_settings WHERE user_id = ?',
      )
      .get(userId);
    return row
      ? { userId, frequency: row.frequency, time: row.time, timezone: row.timezone, dmsClosedAt: row.dms_closed_at }
      : { userId, ...DEFAULT_FEED_SETTINGS, dmsClosedAt: null };
  }

  /** Changes the given fields; using `/feed` again also reopens delivery after closed DMs. */
  updateSettings(
    userId: string,
    changes: Partial<Pick<FeedSettings, 'frequency' | 'time' | 'timezone'>>,
  ): FeedSettings {
    const next = { ...this.settings(userId), ...changes, dmsClosedAt: null };
    this.db
      .prepare(
        `INSERT INTO feed_settings (user_id, frequency, time, timezone, dms_closed_at, dms_notice) VALUES (?, ?, ?, ?, NULL, 0)
         ON CONFLICT (user_id) DO UPDATE SET frequency = excluded.frequency, time = excluded.time,
           timezone = excluded.timezone, dms_closed_at = NULL, dms_notice = 0`,
      )
      .run(userId, next.frequency, next.time, next.timezone);
    return next;
  }

  /** Settings of the members with papers waiting, the only ones a delivery round looks at. */
  usersWithPending(): FeedSettings[] {
    const users = this.db
      .prepare<[], { user_id: string }>('SELECT DISTINCT user_id FROM feed_matches WHERE delivery_id IS NULL')
      .all();
    return users.map((row) => this.settings(row.user_id));
  }

  /** Discord refused a DM: deliveries stop until the member uses `/feed`, and their next command says why. */
  markDmsClosed(userId: string): void {
    const settings = this.settings(userId);
    this.db
      .prepare(
        `INSERT INTO feed_settings (user_id, frequency, time, timezone, dms_closed_at, dms_notice) VALUES (?, ?, ?, ?, ?, 1)
         ON CONFLICT (user_id) DO UPDATE SET dms_closed_at = excluded.dms_closed_at, dms_notice = 1`,
      )
      .run(userId, settings.frequency, settings.time, settings.timezone, this.now().toISOString());
  }

  /** True once after DMs were found closed: the member is told on their next command. */
  takeDmsClosedNotice(userId: string): boolean {
    return (
      this.db.prepare('UPDATE feed_settings SET dms_notice = 0 WHERE user_id = ? AND dms_notice = 1').run(userId)
        .changes > 0
    );
  }

  // ---- Matches and deliveries ------------------------------------------------------------------------------------

  /** Records what new papers matched; a paper already matched for a member (by another follow) is kept once. */
  recordMatches(matches: readonly FeedMatch[], papers: readonly Paper[]): number {
    if (matches.length === 0) return 0;
    const byId = new Map(papers.map((paper) => [paper.id, paper]));
    const matchedAt = this.now().toISOString();
    const insertPaper = this.db.prepare('INSERT OR REPLACE INTO feed_papers (paper_id, snapshot) VALUES (?, ?)');
    const insertMatch = this.db.prepare(
      `INSERT OR IGNORE INTO feed_matches (user_id, paper_id, follow_id, kind, score, why, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db.transaction(() => {
      let recorded = 0;
      for (const paperIdMatched of new Set(matches.map((match) => match.paperId))) {
        const paper = byId.get(paperIdMatched);
        if (paper) insertPaper.run(paper.id, JSON.stringify(snapshotOf(paper)));
      }
      // Best first, so the follow a paper is kept under is its best match.
      for (const match of [...matches].sort((a, b) => b.score - a.score)) {
        recorded += insertMatch.run(
          match.userId,
          match.paperId,
          match.followId,
          match.kind,
          match.score,
          match.why,
          matchedAt,
        ).changes;
      }
      return recorded;
    })();
  }

  /** Matches no delivery has taken yet, matched at or before `until`, best first. */
  pending(userId: string, until?: Date): PendingMatch[] {
    return this.db
      .prepare<[string, string], MatchRow>(
        `SELECT m.paper_id, m.follow_id, m.kind, m.score, m.why, m.matched_at, p.snapshot FROM feed_matches m
         LEFT JOIN feed_papers p ON p.paper_id = m.paper_id
         WHERE m.user_id = ? AND m.delivery_id IS NULL AND m.matched_at <= ? ORDER BY m.score DESC, m.matched_at`,
      )
      .all(userId, until?.toISOString() ?? '9999-12-31T23:59:59.999Z')
      .map(toPending);
  }

  /** What the member has not seen: matches no delivery took, and those a delivery held beyond its shown papers. */
  unseen(userId: string): PendingMatch[] {
    return this.db
      .prepare<[string], MatchRow>(
        `SELECT m.paper_id, m.follow_id, m.kind, m.score, m.why, m.matched_at, p.snapshot FROM feed_matches m
         LEFT JOIN feed_papers p ON p.paper_id = m.paper_id
         WHERE m.user_id = ? AND m.shown = 0 ORDER BY m.score DESC, m.matched_at`,
      )
      .all(userId)
      .map(toPending);
  }

  /**
   * Claims the member's delivery for `slot` and the papers it takes (pending ones matched at or before `until`), in
   * one transaction: no other thread or process can claim the same slot or the same papers. Undefined when the slot
   * was claimed before or there is nothing to deliver.
   */
  claimDelivery(userId: string, slot: string, until: Date): { delivery: Delivery; papers: PendingMatch[] } | undefined {
    return this.db.transaction(() => {
      const papers = this.pending(userId, until);
      if (papers.length === 0) return undefined;
      const inserted = this.db
        .prepare(
          `INSERT OR IGNORE INTO feed_deliveries (user_id, slot, status, nonce, claimed_at) VALUES (?, ?, 'sending', '', ?)`,
        )
        .run(userId, slot, this.now().toISOString());
      if (inserted.changes === 0) return undefined;
      const id = Number(inserted.lastInsertRowid);
      const nonce = `pcf${id}`;
      this.db.prepare('UPDATE feed_deliveries SET nonce = ? WHERE id = ?').run(nonce, id);
      const take = this.db.prepare(
        'UPDATE feed_matches SET delivery_id = ? WHERE user_id = ? AND paper_id = ? AND delivery_id IS NULL',
      );
      for (const match of papers) take.run(id, userId, match.paper.id);
      return { delivery: this.delivery(id)!, papers };
    })();
  }

  delivery(id: number): Delivery | undefined {
    const row = this.db.prepare<[number], DeliveryRow>('SELECT * FROM feed_deliveries WHERE id = ?').get(id);
    return row ? toDelivery(row) : undefined;
  }

  /** Deliveries claimed before `before` and never marked sent: their process died mid-send; they are resent. */
  unfinishedDeliveries(before: Date): Delivery[] {
    return this.db
      .prepare<[string], DeliveryRow>(
        `SELECT * FROM feed_deliveries WHERE status = 'sending' AND claimed_at < ? ORDER BY id`,
      )
      .all(before.toISOString())
      .map(toDelivery);
  }

  /** The papers a delivery took, best first. */
  papersOf(deliveryId: number): PendingMatch[] {
    return this.db
      .prepare<[number], MatchRow>(
        `SELECT m.paper_id, m.follow_id, m.kind, m.score, m.why, m.matched_at, p.snapshot FROM feed_matches m
         LEFT JOIN feed_papers p ON p.paper_id = m.paper_id WHERE m.delivery_id = ? ORDER BY m.score DESC, m.matched_at`,
      )
      .all(deliveryId)
      .map(toPending);
  }

  /** The delivery reached the member: `shownPaperIds` were in the message, the rest wait for `/feed now`. */
  markSent(deliveryId: number, messageId: string | null, shownPaperIds: readonly string[]): void {
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE feed_deliveries SET status = 'sent', message_id = ?, finished_at = ? WHERE id = ?`)
        .run(messageId, this.now().toISOString(), deliveryId);
      const show = this.db.prepare('UPDATE feed_matches SET shown = 1 WHERE delivery_id = ? AND paper_id = ?');
      for (const paperIdShown of shownPaperIds) show.run(deliveryId, paperIdShown);
    })();
  }

  /** The delivery did not happen (DMs closed): its papers wait again, and the slot is free. */
  releaseDelivery(deliveryId: number): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE feed_matches SET delivery_id = NULL WHERE delivery_id = ?').run(deliveryId);
      this.db.prepare('DELETE FROM feed_deliveries WHERE id = ?').run(deliveryId);
    })();
  }

  /** `/feed now`: everything unseen, recorded as shown in one delivery, so nothing is shown twice. */
  takeUnseen(userId: string): PendingMatch[] {
    return this.db.transaction(() => {
      const papers = this.unseen(userId);
      if (papers.length === 0) return papers;
      const now = this.now().toISOString();
      const inserted = this.db
        .prepare(
          `INSERT INTO feed_deliveries (user_id, slot, status, nonce, claimed_at, finished_at) VALUES (?, ?, 'sent', '', ?, ?)`,
        )
        .run(userId, `now:${now}:${papers.length}`, now, now);
      this.db
        .prepare(
          'UPDATE feed_matches SET delivery_id = coalesce(delivery_id, ?), shown = 1 WHERE user_id = ? AND shown = 0',
        )
        .run(Number(inserted.lastInsertRowid), userId);
      return papers;
    })();
  }

  /** The member's last delivery that reached them, if any. */
  lastDelivery(userId: string): Delivery | undefined {
    const row = this.db
      .prepare<[string], DeliveryRow>(
        `SELECT * FROM feed_deliveries WHERE user_id = ? AND status = 'sent' ORDER BY id DESC LIMIT 1`,
      )
      .get(userId);
    return row ? toDelivery(row) : undefined;
  }

  hasDelivery(userId: string, slot: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM feed_deliveries WHERE user_id = ? AND slot = ?').get(userId, slot) !== undefined
    );
  }

  // ---- Feedback --------------------------------------------------------------------------------------------------

  /** A 👍 or 👎 by a member (or on a channel's post); a second click on the same paper replaces the first. */
  recordFeedback(subjectId: string, paperIdRated: string, verdict: FeedbackEvent['verdict']): void {
    this.db
      .prepare(
        `INSERT INTO feed_feedback (subject_id, paper_id, verdict, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (subject_id, paper_id) DO UPDATE SET verdict = excluded.verdict, at = excluded.at`,
      )
      .run(subjectId, paperIdRated, verdict, this.now().toISOString());
  }

  feedback(subjectId: string): FeedbackEvent[] {
    return this.db
      .prepare<[string], FeedbackEvent>(
        'SELECT paper_id AS paperId, verdict FROM feed_feedback WHERE subject_id = ? ORDER BY at',
      )
      .all(subjectId);
  }

  /** `/feed reset`: forgets the member's feedback, keeps their follows. */
  resetFeedback(subjectId: string): number {
    return this.db.prepare('DELETE FROM feed_feedback WHERE subject_id = ?').run(subjectId).changes;
  }

  /** `/feed forget`: every row about the member, in every feed table, in one transaction. */
  forget(userId: string): ForgetReport {
    return this.db.transaction(() => {
      const followIds = this.follows(userId).map((follow) => follow.id);
      const logRemoval = this.db.prepare('INSERT INTO feed_follow_changes (follow_id) VALUES (?)');
      for (const id of followIds) logRemoval.run(id);
      const removed = (table: string, column: string) =>
        this.db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).run(userId).changes;
      return {
        follows: removed('feed_follows', 'user_id'),
        matches: removed('feed_matches', 'user_id'),
        deliveries: removed('feed_deliveries', 'user_id'),
        feedback: removed('feed_feedback', 'subject_id'),
        settings: removed('feed_settings', 'user_id'),
      };
    })();
  }

  /** Rows naming the member, per table: what `/feed forget` must bring to zero (tests and `/feed forget`'s reply). */
  rowsAbout(userId: string): Record<string, number> {
    return Object.fromEntries(
      FEED_USER_TABLES.map(([table, column]) => [
        table,
        (this.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`).get(userId) as { n: number }).n,
      ]),
    );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toPending(row: MatchRow): PendingMatch {
  const paper: PaperSnapshot = row.snapshot
    ? (JSON.parse(row.snapshot) as PaperSnapshot)
    : { id: row.paper_id, title: row.paper_id, authors: [], tldr: '' };
  return {
    paper,
    followId: row.follow_id,
    kind: row.kind,
    score: row.score,
    why: row.why,
    matchedAt: row.matched_at,
  };
}

/** The same follow typed twice has the same key. */
function followKey(follow: FollowInput | Follow): string {
  switch (follow.kind) {
    case 'topic':
      return `topic:${follow.text.trim().toLowerCase()}:${[...follow.exclude].sort().join(',')}`;
    case 'author':
      return `author:${follow.name.trim().toLowerCase()}`;
    case 'category':
      return `category:${follow.code}`;
    case 'paper':
      return `paper:${follow.paperId}`;
    case 'question':
      return `question:${follow.text.trim().toLowerCase()}`;
  }
}

/** How `/follow list` and replies name a follow: `topic "diffusion" (not: video)`. */
export function describeFollow(follow: FollowInput | Follow): string {
  switch (follow.kind) {
    case 'topic':
      return `topic "${follow.text}"${follow.exclude.length > 0 ? ` (not: ${follow.exclude.join(', ')})` : ''}`;
    case 'author':
      return `author ${follow.name}`;
    case 'category':
      return `category ${follow.code}`;
    case 'paper':
      return `papers like "${follow.title}"`;
    case 'question':
      return `question "${follow.text}"`;
  }
}

function checkFollowText(input: FollowInput): void {
  const check = (what: string, value: string, max: number) => {
    if (value.trim().length === 0) throw new UserError(`the ${what} is empty`);
    if (value.length > max) throw new UserError(`the ${what} is ${value.length} characters; at most ${max}`);
  };
  switch (input.kind) {
    case 'topic':
      check('topic', input.text, FEED_LIMITS.topicChars);
      if (input.exclude.length > FEED_LIMITS.excludeItems)
        throw new UserError(`${input.exclude.length} exclusions given; at most ${FEED_LIMITS.excludeItems}`);
      if (input.exclude.join(', ').length > FEED_LIMITS.excludeChars)
        throw new UserError(`the exclusions are longer than ${FEED_LIMITS.excludeChars} characters`);
      return;
    case 'author':
      return check('author name', input.name, FEED_LIMITS.authorChars);
    case 'question':
      return check('question', input.text, FEED_LIMITS.questionChars);
    case 'category':
    case 'paper':
      return;
  }
}

/** `diffusion, video ,, Video` → `["diffusion", "video"]`: comma-separated words or phrases, trimmed and deduped. */
export function parseExclusions(value: string | null | undefined): string[] {
  const seen = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const phrase = part.trim().replace(/\s+/g, ' ');
    if (phrase && !seen.has(phrase.toLowerCase())) seen.set(phrase.toLowerCase(), phrase);
  }
  return [...seen.values()];
}
