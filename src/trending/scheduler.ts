import { definedOnly } from '../util/options.js';
import { Cron } from 'croner';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Digest } from './digest.js';
import { PostTargetGoneError, type TrendingPoster } from './poster.js';
import type { Subscription, SubscriptionStore } from './subscriptions.js';

export interface TrendingSchedulerOptions {
  store: SubscriptionStore;
  poster: TrendingPoster;
  /** The digest a subscription gets for its local date (topics and count applied). */
  digestFor: (subscription: Subscription, localDate: string, signal: AbortSignal) => Promise<Digest>;
  logger: Logger;
  /** `TRENDING_GRACE_HOURS`: a post missed while down is still sent at start if at most this late. */
  graceHours: number;
  /** The clock; tests pass a fake one. */
  now?: () => Date;
  /** A `sending` claim older than this is taken to be from a dead process, and resumed. */
  leaseMs?: number;
  /** Attempts for one day's post after failures that may pass (network, 5xx), the first included. */
  attempts?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: Readonly<
  Required<Pick<TrendingSchedulerOptions, 'leaseMs' | 'attempts' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>>
> = Object.freeze({
  leaseMs: 10 * 60_000,
  attempts: 4,
  retryBaseDelayMs: 60_000,
  retryMaxDelayMs: 15 * 60_000,
});

export type PostOutcome =
  | { status: 'sent'; messageId: string }
  /** Another run (a restart, the cron tick and the catch-up) already posted or skipped the day. */
  | { status: 'done-before' }
  /** Another run holds a fresh claim on the day. */
  | { status: 'busy' }
  | { status: 'skipped'; reason: string }
  | { status: 'disabled'; reason: string }
  | { status: 'failed'; reason: string; retryInMs?: number };

/** `YYYY-MM-DD` of an instant in a time zone. */
export function localDateOf(instant: Date, timezone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/** The croner pattern of a daily time `HH:MM`: minute, hour, every day. */
export function dailyPattern(time: string): string {
  const [hours, minutes] = time.split(':');
  return `${Number(minutes)} ${Number(hours)} * * *`;
}

/** The latest scheduled instant of a subscription at or before `now` (DST handled by croner), if any in 2 days. */
export function lastScheduledAt(subscription: Pick<Subscription, 'time' | 'timezone'>, now: Date): Date | undefined {
  // Without a callback croner schedules nothing; it only computes occurrences.
  const cron = new Cron(dailyPattern(subscription.time), { timezone: subscription.timezone });
  let cursor = new Date(now.getTime() - 50 * 3_600_000);
  let last: Date | undefined;
  for (let step = 0; step < 4; step++) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > now.getTime()) break;
    last = next;
    cursor = next;
  }
  cron.stop();
  return last;
}

/** Every scheduled instant of a subscription in `[from, to]`, oldest first (DST handled by croner). */
export function scheduledBetween(subscription: Pick<Subscription, 'time' | 'timezone'>, from: Date, to: Date): Date[] {
  const cron = new Cron(dailyPattern(subscription.time), { timezone: subscription.timezone });
  const instants: Date[] = [];
  // nextRun is strictly after its argument: start a millisecond early so that `from` itself counts.
  for (
    let next = cron.nextRun(new Date(from.getTime() - 1));
    next && next.getTime() <= to.getTime();
    next = cron.nextRun(next)
  ) {
    instants.push(next);
  }
  cron.stop();
  return instants;
}

/**
 * Posts every enabled subscription's digest once a day, at its time in its time zone (croner jobs), and at start
 * posts every day missed while the bot was down that is still within the grace window, oldest first.
 *
 * Exactly once: the digest is built first, then the day is claimed in SQLite (`claimDay`), then sent with a nonce
 * fixed per (subscription, day) and `enforce_nonce`, then marked sent. A restart, the cron tick and the catch-up
 * all go through the claim, so a day is posted once; a process dying between send and mark leaves a `sending`
 * claim that is resumed with the same nonce (see `SubscriptionStore.claimDay`).
 */
export class TrendingScheduler {
  private readonly settings: typeof DEFAULT_SCHEDULER_OPTIONS & TrendingSchedulerOptions;
  private readonly now: () => Date;
  private readonly jobs = new Map<number, { job: Cron; pattern: string; timezone: string }>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<PostOutcome>>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(options: TrendingSchedulerOptions) {
    this.settings = { ...DEFAULT_SCHEDULER_OPTIONS, ...definedOnly(options) };
    this.now = options.now ?? (() => new Date());
  }

  private get logger(): Logger {
    return this.settings.logger;
  }

  /** Schedules every enabled subscription, then posts what was missed within the grace window. */
  async start(): Promise<PostOutcome[]> {
    this.sync();
    return this.catchUp();
  }

  /** Makes the jobs match the stored subscriptions; call after subscribe and unsubscribe. */
  sync(): void {
    if (this.closed) return;
    const subscriptions = new Map(this.settings.store.list({ enabledOnly: true }).map((s) => [s.id, s]));
    for (const [id, entry] of this.jobs) {
      const subscription = subscriptions.get(id);
      if (
        !subscription ||
        entry.pattern !== dailyPattern(subscription.time) ||
        entry.timezone !== subscription.timezone
      ) {
        entry.job.stop();
        this.jobs.delete(id);
      }
    }
    for (const subscription of subscriptions.values()) {
      if (this.jobs.has(subscription.id)) continue;
      const pattern = dailyPattern(subscription.time);
      const job = new Cron(pattern, { timezone: subscription.timezone, protect: true }, async () => {
        await this.fire(subscription.id).catch((error: unknown) =>
          this.logger.error({ subscriptionId: subscription.id, error: describeError(error) }, 'trending job failed'),
        );
      });
      this.jobs.set(subscription.id, { job, pattern, timezone: subscription.timezone });
    }
  }

  /** When each subscription posts next, for `/trending status`. */
  nextRunOf(subscriptionId: number): Date | undefined {
    return this.jobs.get(subscriptionId)?.job.nextRun() ?? undefined;
  }

  /** What the cron job runs at the scheduled minute: post today's digest (in the subscription's zone). */
  async fire(subscriptionId: number): Promise<PostOutcome> {
    const subscription = this.settings.store.get(subscriptionId);
    if (!subscription?.enabled) return { status: 'skipped', reason: 'no longer subscribed' };
    return this.postDay(subscription, localDateOf(this.now(), subscription.timezone));
  }

  /**
   * For each subscription, every scheduled time within the last `graceHours` that has no post yet is posted, oldest
   * first, each once. When none falls in the window, the latest scheduled time that has passed is recorded as
   * skipped with a log line (a claim left `sending` by a dead process is still resumed).
   */
  async catchUp(): Promise<PostOutcome[]> {
    const now = this.now();
    const graceMs = this.settings.graceHours * 3_600_000;
    const outcomes: PostOutcome[] = [];
    for (const subscription of this.settings.store.list({ enabledOnly: true })) {
      if (this.closed) break;
      // A subscription made after a day's time starts with the next one.
      const createdAt = Date.parse(subscription.createdAt);
      const missed = scheduledBetween(subscription, new Date(Math.max(createdAt, now.getTime() - graceMs)), now);
      if (missed.length === 0) {
        const outcome = await this.skipMissedBeyondGrace(subscription, now, createdAt);
        if (outcome) outcomes.push(outcome);
        continue;
      }
      for (const scheduledAt of missed) {
        if (this.closed) break;
        const localDate = localDateOf(scheduledAt, subscription.timezone);
        const record = this.settings.store.post(subscription.id, localDate);
        if (record && record.status !== 'sending') continue;
        this.logger.info(
          { subscriptionId: subscription.id, localDate, lateMs: now.getTime() - scheduledAt.getTime() },
          'posting a trending digest missed while down',
        );
        outcomes.push(await this.postDay(subscription, localDate));
      }
    }
    return outcomes;
  }

  /** The latest scheduled time, later than the grace window allows: recorded as skipped, or resumed if claimed. */
  private async skipMissedBeyondGrace(
    subscription: Subscription,
    now: Date,
    createdAt: number,
  ): Promise<PostOutcome | undefined> {
    const scheduledAt = lastScheduledAt(subscription, now);
    if (!scheduledAt || scheduledAt.getTime() < createdAt) return undefined;
    const localDate = localDateOf(scheduledAt, subscription.timezone);
    const record = this.settings.store.post(subscription.id, localDate);
    if (record?.status === 'sending') return this.postDay(subscription, localDate);
    if (record) return undefined;
    const lateMs = now.getTime() - scheduledAt.getTime();
    const reason = `missed by ${(lateMs / 3_600_000).toFixed(1)} h, beyond TRENDING_GRACE_HOURS=${this.settings.graceHours}`;
    this.settings.store.markSkipped(subscription.id, localDate, reason);
    this.logger.warn(
      { subscriptionId: subscription.id, channelId: subscription.channelId, localDate },
      `trending post for ${localDate} skipped: ${reason}`,
    );
    return { status: 'skipped', reason };
  }

  /** Posts one subscription's digest for one local date, at most once whoever calls it and however often. */
  postDay(subscription: Subscription, localDate: string, attempt = 1): Promise<PostOutcome> {
    const key = `${subscription.id}:${localDate}`;
    const inFlight = this.running.get(key);
    if (inFlight) return inFlight;
    const run = this.postDayNow(subscription, localDate, attempt).finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  private async postDayNow(subscription: Subscription, localDate: string, attempt: number): Promise<PostOutcome> {
    const { store, poster } = this.settings;
    const context = { subscriptionId: subscription.id, channelId: subscription.channelId, localDate, attempt };
    const before = store.post(subscription.id, localDate);
    if (before && before.status !== 'sending') return { status: 'done-before' };
    let claimed = false;
    try {
      const digest = await this.settings.digestFor(subscription, localDate, this.abort.signal);
      const claim = store.claimDay(subscription.id, localDate, { leaseMs: this.settings.leaseMs });
      if (!claim.claimed) return claim.record.status === 'sending' ? { status: 'busy' } : { status: 'done-before' };
      claimed = true;
      const posted = await poster.post({
        guildId: subscription.guildId,
        channelId: subscription.channelId,
        digest,
        nonce: claim.record.nonce,
        openThread: subscription.thread,
        resumed: claim.resumed,
        signal: this.abort.signal,
      });
      store.markSent(subscription.id, localDate, posted.messageId);
      this.logger.info(
        { ...context, messageId: posted.messageId, papers: digest.papers.length },
        'trending digest posted',
      );
      return { status: 'sent', messageId: posted.messageId };
    } catch (error) {
      if (error instanceof PostTargetGoneError) {
        store.disable(subscription.id, error.reason);
        store.markSkipped(subscription.id, localDate, error.reason);
        this.jobs.get(subscription.id)?.job.stop();
        this.jobs.delete(subscription.id);
        this.logger.warn(context, `trending subscription ${subscription.id} disabled: ${error.reason}`);
        return { status: 'disabled', reason: error.reason };
      }
      const reason = describeError(error);
      if (claimed) store.release(subscription.id, localDate, reason);
      if (this.closed) return { status: 'failed', reason };
      if (attempt >= this.settings.attempts) {
        this.logger.error({ ...context, error: reason }, 'trending digest not posted; giving up for this day');
        return { status: 'failed', reason };
      }
      const retryInMs = Math.min(this.settings.retryMaxDelayMs, this.settings.retryBaseDelayMs * 2 ** (attempt - 1));
      this.logger.warn({ ...context, error: reason, retryInMs }, 'trending digest not posted; will retry');
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        const current = store.get(subscription.id);
        if (current?.enabled) void this.postDay(current, localDate, attempt + 1);
      }, retryInMs);
      timer.unref();
      this.retryTimers.add(timer);
      return { status: 'failed', reason, retryInMs };
    }
  }

  /** Stops the jobs and pending retries, aborts work in progress and waits for it to settle. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { job } of this.jobs.values()) job.stop();
    this.jobs.clear();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.abort.abort(new Error('trending scheduler closed'));
    await Promise.allSettled([...this.running.values()]);
  }
}
