import type { Logger } from '../logger.js';
import { FeedDelivery, type DeliveryOrder, type FeedDeliveryOptions, type FeedSender } from './delivery.js';
import { FeedStore, type FeedSettings, type ForgetReport, type PendingMatch } from './store.js';
import type { FeedbackEvent, Follow, FollowInput } from './types.js';

export interface FeedRuntimeOptions {
  /** `DATA_DIR`: the feed lives in `<dataDir>/papercord.sqlite`. */
  dataDir: string;
  logger: Logger;
  now?: () => Date;
  /** Orders a member's papers for a delivery (the per-user ranker). */
  order?: DeliveryOrder;
  /** Delivery tuning (tests shorten the tick). */
  delivery?: Pick<FeedDeliveryOptions, 'tickMs' | 'leaseMs'>;
}

/**
 * The research feed as the bot runs it: follows, settings, feedback and `/feed now` over the store, and once `start`
 * gets a sender, delivery. What `/follow` and `/feed` call; it knows nothing of Discord beyond the `FeedSender` port.
 */
export class FeedRuntime {
  private delivery: FeedDelivery | undefined;

  private constructor(
    private readonly options: FeedRuntimeOptions,
    readonly store: FeedStore,
  ) {}

  static open(options: FeedRuntimeOptions): FeedRuntime {
    return new FeedRuntime(
      options,
      FeedStore.open({ dataDir: options.dataDir, ...(options.now ? { now: options.now } : {}) }),
    );
  }

  follow(input: FollowInput): Follow {
    return this.store.addFollow(input);
  }

  follows(userId: string): Follow[] {
    return this.store.follows(userId);
  }

  unfollow(userId: string, followId: string): Follow | undefined {
    return this.store.removeFollow(userId, followId);
  }

  settings(userId: string): FeedSettings {
    return this.store.settings(userId);
  }

  updateSettings(
    userId: string,
    changes: Partial<Pick<FeedSettings, 'frequency' | 'time' | 'timezone'>>,
  ): FeedSettings {
    const settings = this.store.updateSettings(userId, changes);
    // An instant member's papers go out now rather than on the next tick.
    if (settings.frequency === 'instant') void this.delivery?.deliverDue();
    return settings;
  }

  /** `/feed now`: what matched since the last delivery, recorded as shown. */
  takeUnseen(userId: string): PendingMatch[] {
    return this.store.takeUnseen(userId);
  }

  recordFeedback(subjectId: string, paperId: string, verdict: FeedbackEvent['verdict']): void {
    this.store.recordFeedback(subjectId, paperId, verdict);
  }

  resetFeedback(userId: string): number {
    return this.store.resetFeedback(userId);
  }

  forget(userId: string): ForgetReport {
    return this.store.forget(userId);
  }

  /** True once after a DM to the member was refused: their next command says so. */
  takeDmsClosedNotice(userId: string): boolean {
    return this.store.takeDmsClosedNotice(userId);
  }

  /** Starts delivering (only the bot process that owns delivery calls this: shard 0). */
  start(sender: FeedSender): void {
    if (this.delivery) return;
    this.delivery = new FeedDelivery({
      ...this.options.delivery,
      store: this.store,
      sender,
      logger: this.options.logger,
      ...(this.options.order ? { order: this.options.order } : {}),
      ...(this.options.now ? { now: this.options.now } : {}),
    });
    this.delivery.start();
  }

  /** The running delivery, for tests that play a round. */
  get deliveries(): FeedDelivery | undefined {
    return this.delivery;
  }

  async close(): Promise<void> {
    await this.delivery?.close();
    this.delivery = undefined;
    this.store.close();
  }
}
