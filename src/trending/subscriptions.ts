import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';

/** A channel that receives the daily digest at `time` (HH:MM) in `timezone`. */
export interface Subscription {
  id: number;
  guildId: string;
  channelId: string;
  /** `HH:MM`, 24-hour, in `timezone`. */
  time: string;
  /** IANA name, e.g. `Europe/Paris`. */
  timezone: string;
  topics: string[];
  /** Words or phrases that keep a paper out of the post (`/trending subscribe exclude:`). */
  exclude: string[];
  count: number;
  /** Open a discussion thread on each post. */
  thread: boolean;
  enabled: boolean;
  /** Why the subscription was turned off (channel deleted, permission missing), for `/trending status`. */
  disabledReason: string | null;
  createdAt: string;
}

export interface SubscriptionInput {
  guildId: string;
  channelId: string;
  time: string;
  timezone: string;
  topics?: string[];
  exclude?: string[];
  count?: number;
  thread?: boolean;
}

export type PostStatus = 'sending' | 'sent' | 'skipped';

/** The record of one subscription's post for one local date: at most one row, ever. */
export interface PostRecord {
  subscriptionId: number;
  localDate: string;
  status: PostStatus;
  /** Deterministic per (subscription, date): Discord's `enforce_nonce` turns a resend into a no-op. */
  nonce: string;
  messageId: string | null;
  claimedAt: string;
  finishedAt: string | null;
  detail: string | null;
  attempts: number;
}

export type ClaimResult =
  { claimed: true; record: PostRecord; resumed: boolean } | { claimed: false; record: PostRecord };

export const SUBSCRIPTION_LIMITS = { minCount: 1, maxCount: 10, maxTopics: 10, maxTopicChars: 80 } as const;
export const DEFAULT_SUBSCRIPTION = { count: 5, topics: [] as string[], thread: false } as const;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** `7:05` → `07:05`; throws a UserError for anything that is not a time of day. */
export function parseTimeOfDay(value: string): string {
  const match = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(value);
  const normalized = match ? `${match[1].padStart(2, '0')}:${match[2]}` : '';
  if (!TIME.test(normalized)) throw new UserError(`"${value}" is not a time of day; use 24-hour HH:MM such as 09:30`);
  return normalized;
}

/** The canonical IANA name (`europe/paris` → `Europe/Paris`); throws a UserError for unknown zones. */
export function parseTimezone(value: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new UserError(`"${value}" is not a time zone; use an IANA name such as Europe/Paris or America/New_York`);
  }
}

/** Comma-separated topics, trimmed and deduped; throws a UserError past the limits. */
export function parseTopics(value: string | null | undefined): string[] {
  const topics = [
    ...new Set(
      (value ?? '')
        .split(',')
        .map((topic) => topic.trim())
        .filter(Boolean),
    ),
  ];
  if (topics.length > SUBSCRIPTION_LIMITS.maxTopics) {
    throw new UserError(`${topics.length} topics given; at most ${SUBSCRIPTION_LIMITS.maxTopics}`);
  }
  const long = topics.find((topic) => topic.length > SUBSCRIPTION_LIMITS.maxTopicChars);
  if (long)
    throw new UserError(
      `topic "${long.slice(0, 30)}…" is ${long.length} characters; at most ${SUBSCRIPTION_LIMITS.maxTopicChars}`,
    );
  return topics;
}

interface SubscriptionRow {
  id: number;
  guild_id: string;
  channel_id: string;
  time: string;
  timezone: string;
  topics: string;
  exclude: string;
  count: number;
  thread: number;
  enabled: number;
  disabled_reason: string | null;
  created_at: string;
}

interface PostRow {
  subscription_id: number;
  local_date: string;
  status: PostStatus;
  nonce: string;
  message_id: string | null;
  claimed_at: string;
  finished_at: string | null;
  detail: string | null;
  attempts: number;
}

const toSubscription = (row: SubscriptionRow): Subscription => ({
  id: row.id,
  guildId: row.guild_id,
  channelId: row.channel_id,
  time: row.time,
  timezone: row.timezone,
  topics: JSON.parse(row.topics) as string[],
  exclude: JSON.parse(row.exclude) as string[],
  count: row.count,
  thread: row.thread === 1,
  enabled: row.enabled === 1,
  disabledReason: row.disabled_reason,
  createdAt: row.created_at,
});

const toPost = (row: PostRow): PostRecord => ({
  subscriptionId: row.subscription_id,
  localDate: row.local_date,
  status: row.status,
  nonce: row.nonce,
  messageId: row.message_id,
  claimedAt: row.claimed_at,
  finishedAt: row.finished_at,
  detail: row.detail,
  attempts: row.attempts,
});

/**
 * Discord nonces are at most 25 characters: `pc` + subscription id + the date without dashes, e.g. `pc42d20250729`.
 * The same (subscription, day) always gives the same nonce, across restarts.
 */
export function postNonce(subscriptionId: number, localDate: string): string {
  return `pc${subscriptionId}d${localDate.replaceAll('-', '')}`;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS trending_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  guild_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  time TEXT NOT NULL,
  timezone TEXT NOT NULL,
  topics TEXT NOT NULL DEFAULT '[]',
  count INTEGER NOT NULL DEFAULT 5,
  thread INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (guild_id, channel_id)
);
CREATE TABLE IF NOT EXISTS trending_posts (
  subscription_id INTEGER NOT NULL REFERENCES trending_subscriptions (id) ON DELETE CASCADE,
  local_date TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped')),
  nonce TEXT NOT NULL,
  message_id TEXT,
  claimed_at TEXT NOT NULL,
  finished_at TEXT,
  detail TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (subscription_id, local_date)
);
`;

export interface SubscriptionStoreOptions {
  /** `DATA_DIR`; the database is `<dataDir>/papercord.sqlite`. */
  dataDir: string;
  /** Clock for `claimed_at` and friends; tests pass their fake clock. */
  now?: () => Date;
}

/**
 * Subscriptions and the record of what was posted, in SQLite (WAL). The `trending_posts` primary key
 * (subscription, local date) is what makes a day's post happen at most once per claim; see `claimDay`.
 */
export class SubscriptionStore {
  private readonly db: Database.Database;
  private readonly now: () => Date;

  private constructor(db: Database.Database, now: () => Date) {
    this.db = db;
    this.now = now;
  }

  static open(options: SubscriptionStoreOptions): SubscriptionStore {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(path.join(options.dataDir, 'papercord.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    // Subscriptions stored before `exclude:` existed get an empty list.
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(trending_subscriptions)').all();
    if (!columns.some((column) => column.name === 'exclude'))
      db.exec(`ALTER TABLE trending_subscriptions ADD COLUMN exclude TEXT NOT NULL DEFAULT '[]'`);
    return new SubscriptionStore(db, options.now ?? (() => new Date()));
  }

  /** Creates or replaces the subscription of `channelId` (re-subscribing a channel changes its settings). */
  subscribe(input: SubscriptionInput): Subscription {
    const count = input.count ?? DEFAULT_SUBSCRIPTION.count;
    if (!Number.isInteger(count) || count < SUBSCRIPTION_LIMITS.minCount || count > SUBSCRIPTION_LIMITS.maxCount) {
      throw new UserError(
        `count must be ${SUBSCRIPTION_LIMITS.minCount} to ${SUBSCRIPTION_LIMITS.maxCount} (got ${count})`,
      );
    }
    const row = this.db
      .prepare<unknown[], SubscriptionRow>(
        `INSERT INTO trending_subscriptions (guild_id, channel_id, time, timezone, topics, exclude, count, thread, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, channel_id) DO UPDATE SET
           time = excluded.time, timezone = excluded.timezone, topics = excluded.topics, exclude = excluded.exclude,
           count = excluded.count,
           thread = excluded.thread, enabled = 1, disabled_reason = NULL
         RETURNING *`,
      )
      .get(
        input.guildId,
        input.channelId,
        parseTimeOfDay(input.time),
        parseTimezone(input.timezone),
        JSON.stringify(input.topics ?? DEFAULT_SUBSCRIPTION.topics),
        JSON.stringify(input.exclude ?? []),
        count,
        (input.thread ?? DEFAULT_SUBSCRIPTION.thread) ? 1 : 0,
        this.now().toISOString(),
      )!;
    return toSubscription(row);
  }

  /** Removes subscriptions of a guild (one channel, or all when `channelId` is omitted); returns what was removed. */
  unsubscribe(guildId: string, channelId?: string): Subscription[] {
    const rows = channelId
      ? this.db
          .prepare<unknown[], SubscriptionRow>(
            'DELETE FROM trending_subscriptions WHERE guild_id = ? AND channel_id = ? RETURNING *',
          )
          .all(guildId, channelId)
      : this.db
          .prepare<unknown[], SubscriptionRow>('DELETE FROM trending_subscriptions WHERE guild_id = ? RETURNING *')
          .all(guildId);
    return rows.map(toSubscription);
  }

  get(id: number): Subscription | undefined {
    const row = this.db
      .prepare<unknown[], SubscriptionRow>('SELECT * FROM trending_subscriptions WHERE id = ?')
      .get(id);
    return row && toSubscription(row);
  }

  list(filter: { guildId?: string; enabledOnly?: boolean } = {}): Subscription[] {
    const rows = this.db
      .prepare<unknown[], SubscriptionRow>(
        `SELECT * FROM trending_subscriptions
         WHERE (? IS NULL OR guild_id = ?) AND (? = 0 OR enabled = 1) ORDER BY id`,
      )
      .all(filter.guildId ?? null, filter.guildId ?? null, filter.enabledOnly ? 1 : 0);
    return rows.map(toSubscription);
  }

  disable(id: number, reason: string): void {
    this.db.prepare('UPDATE trending_subscriptions SET enabled = 0, disabled_reason = ? WHERE id = ?').run(reason, id);
  }

  post(subscriptionId: number, localDate: string): PostRecord | undefined {
    const row = this.db
      .prepare<unknown[], PostRow>('SELECT * FROM trending_posts WHERE subscription_id = ? AND local_date = ?')
      .get(subscriptionId, localDate);
    return row && toPost(row);
  }

  /** The latest post records of a subscription, newest first. */
  recentPosts(subscriptionId: number, limit = 5): PostRecord[] {
    return this.db
      .prepare<unknown[], PostRow>(
        'SELECT * FROM trending_posts WHERE subscription_id = ? ORDER BY local_date DESC LIMIT ?',
      )
      .all(subscriptionId, limit)
      .map(toPost);
  }

  /**
   * Claims the day's post before anything is sent, in one transaction:
   * - no record yet: a `sending` record is written and the caller sends;
   * - `sent` or `skipped`: not claimed, the day is done;
   * - `sending` claimed less than `leaseMs` ago: not claimed, someone is sending right now;
   * - `sending` older than that: the sender died between claim and mark. Claimed again (`resumed`), and the caller
   *   resends with the same nonce, which Discord deduplicates with `enforce_nonce`. At-least-once at the database,
   *   exactly-once at Discord while its nonce window lasts; the poster also looks for the day's post in the channel.
   */
  claimDay(subscriptionId: number, localDate: string, options: { leaseMs: number }): ClaimResult {
    return this.db
      .transaction((): ClaimResult => {
        const now = this.now();
        const existing = this.post(subscriptionId, localDate);
        if (!existing) {
          this.db
            .prepare(
              'INSERT INTO trending_posts (subscription_id, local_date, status, nonce, claimed_at) VALUES (?, ?, ?, ?, ?)',
            )
            .run(subscriptionId, localDate, 'sending', postNonce(subscriptionId, localDate), now.toISOString());
          return { claimed: true, record: this.post(subscriptionId, localDate)!, resumed: false };
        }
        if (existing.status !== 'sending' || now.getTime() - Date.parse(existing.claimedAt) < options.leaseMs) {
          return { claimed: false, record: existing };
        }
        this.db
          .prepare(
            'UPDATE trending_posts SET claimed_at = ?, attempts = attempts + 1 WHERE subscription_id = ? AND local_date = ?',
          )
          .run(now.toISOString(), subscriptionId, localDate);
        return { claimed: true, record: this.post(subscriptionId, localDate)!, resumed: true };
      })
      .immediate();
  }

  markSent(subscriptionId: number, localDate: string, messageId: string): void {
    this.finish(subscriptionId, localDate, 'sent', messageId, null);
  }

  /** The day will not be posted (missed beyond the grace window, channel gone); the reason is kept. */
  markSkipped(subscriptionId: number, localDate: string, reason: string): void {
    this.db
      .prepare(
        `INSERT INTO trending_posts (subscription_id, local_date, status, nonce, claimed_at, finished_at, detail)
         VALUES (?, ?, 'skipped', ?, ?, ?, ?)
         ON CONFLICT (subscription_id, local_date) DO UPDATE SET status = 'skipped', finished_at = excluded.finished_at,
           detail = excluded.detail
         WHERE trending_posts.status != 'sent'`,
      )
      .run(
        subscriptionId,
        localDate,
        postNonce(subscriptionId, localDate),
        this.now().toISOString(),
        this.now().toISOString(),
        reason,
      );
  }

  /** Gives a claim back after a failure that did not post, so the next attempt may claim the day again. */
  release(subscriptionId: number, localDate: string, detail: string): void {
    this.db
      .prepare(
        `UPDATE trending_posts SET claimed_at = ?, detail = ?
         WHERE subscription_id = ? AND local_date = ? AND status = 'sending'`,
      )
      .run(new Date(0).toISOString(), detail, subscriptionId, localDate);
  }

  private finish(
    subscriptionId: number,
    localDate: string,
    status: PostStatus,
    messageId: string | null,
    detail: string | null,
  ): void {
    this.db
      .prepare(
        `UPDATE trending_posts SET status = ?, message_id = ?, finished_at = ?, detail = ?
         WHERE subscription_id = ? AND local_date = ?`,
      )
      .run(status, messageId, this.now().toISOString(), detail, subscriptionId, localDate);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
