import type { Logger } from '../logger.js';
import type { Digest } from './digest.js';
import type { TrendingPoster } from './poster.js';
import { TrendingScheduler, type TrendingSchedulerOptions } from './scheduler.js';
import { SubscriptionStore, type PostRecord, type Subscription, type SubscriptionInput } from './subscriptions.js';
import type { DigestRequest, TrendingService } from './trendingService.js';

export interface TrendingRuntimeOptions {
  /** What makes digests: the service itself, or the worker pool's proxy of it. */
  service: Pick<TrendingService, 'digest'>;
  /** `DATA_DIR`: subscriptions live in `<dataDir>/papercord.sqlite`. */
  dataDir: string;
  /** `TRENDING_GRACE_HOURS`. */
  graceHours: number;
  logger: Logger;
  now?: () => Date;
  /** Retry and lease tuning (tests shorten them). */
  scheduler?: Partial<Pick<TrendingSchedulerOptions, 'leaseMs' | 'attempts' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>>;
}

export interface SubscriptionStatus {
  subscription: Subscription;
  /** Undefined while the schedule is not running or the subscription is disabled. */
  nextRunAt?: Date;
  lastPost?: PostRecord;
}

/**
 * Trending as the bot runs it: on-demand digests, the subscriptions (SQLite) and, once `start` gets a poster, the
 * daily schedule. What `/trending` calls; it knows nothing of Discord beyond the `TrendingPoster` port.
 */
export class TrendingRuntime {
  private scheduler: TrendingScheduler | undefined;

  private constructor(
    private readonly options: TrendingRuntimeOptions,
    readonly store: SubscriptionStore,
  ) {}

  static open(options: TrendingRuntimeOptions): TrendingRuntime {
    return new TrendingRuntime(options, SubscriptionStore.open({ dataDir: options.dataDir, now: options.now }));
  }

  digest(request: DigestRequest): Promise<Digest> {
    return this.options.service.digest(request);
  }

  subscribe(input: SubscriptionInput): SubscriptionStatus {
    const subscription = this.store.subscribe(input);
    this.scheduler?.sync();
    return this.statusOf(subscription);
  }

  unsubscribe(guildId: string, channelId?: string): Subscription[] {
    const removed = this.store.unsubscribe(guildId, channelId);
    this.scheduler?.sync();
    return removed;
  }

  status(guildId: string): SubscriptionStatus[] {
    return this.store.list({ guildId }).map((subscription) => this.statusOf(subscription));
  }

  private statusOf(subscription: Subscription): SubscriptionStatus {
    return {
      subscription,
      nextRunAt: this.scheduler?.nextRunOf(subscription.id),
      lastPost: this.store.recentPosts(subscription.id, 1)[0],
    };
  }

  /** Starts the daily schedule and posts what was missed within the grace window. */
  async start(poster: TrendingPoster): Promise<void> {
    if (this.scheduler) return;
    const { service, logger, graceHours, now } = this.options;
    this.scheduler = new TrendingScheduler({
      ...this.options.scheduler,
      store: this.store,
      poster,
      logger,
      graceHours,
      now,
      digestFor: (subscription, localDate, signal) =>
        service.digest({
          date: localDate,
          count: subscription.count,
          topics: subscription.topics,
          exclude: subscription.exclude,
          signal,
        }),
    });
    await this.scheduler.start();
  }

  /** The running scheduler, for tests that play the cron tick. */
  get schedule(): TrendingScheduler | undefined {
    return this.scheduler;
  }

  async close(): Promise<void> {
    await this.scheduler?.close();
    this.scheduler = undefined;
    this.store.close();
  }
}
