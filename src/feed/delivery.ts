import { Cron } from 'croner';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { definedOnly } from '../util/options.js';
import { FEED_LIMITS, type FeedSettings, type FeedStore, type PendingMatch } from './store.js';

/** One delivery as a front end sends it: the papers shown (at most 10, best first) and how many more wait. */
export interface FeedMessage {
  papers: PendingMatch[];
  /** Papers held beyond those shown: "and N more: /feed now". */
  more: number;
}

/** What delivery asks a front end to do: send one message to a member. The Discord sender DMs them. */
export interface FeedSender {
  /** The same `nonce` for every attempt of one delivery: a resend after a crash is deduplicated by Discord. */
  send(userId: string, message: FeedMessage, nonce: string): Promise<{ messageId: string }>;
}

/** The member cannot receive DMs from the bot (Discord 50007); their papers wait for `/feed now`. */
export class DmsClosedError extends Error {
  override readonly name = 'DmsClosedError';
}

/** Orders a member's papers for a delivery (the per-user ranker); without one, by match score. */
export type DeliveryOrder = (userId: string, papers: PendingMatch[]) => Promise<PendingMatch[]>;

export interface FeedDeliveryOptions {
  store: FeedStore;
  sender: FeedSender;
  logger: Logger;
  order?: DeliveryOrder;
  now?: () => Date;
  /** How often delivery looks for due papers; instant deliveries arrive within this (plus the send). */
  tickMs?: number;
  /** A delivery claimed this long ago and never marked sent is taken to be from a dead process, and resent. */
  leaseMs?: number;
}

export const DEFAULT_DELIVERY_OPTIONS: Readonly<{ tickMs: number; leaseMs: number }> = Object.freeze({
  tickMs: 10_000,
  leaseMs: 2 * 60_000,
});

/** The croner pattern of a member's delivery time: daily, or weekly on Mondays. */
export function deliveryPattern(settings: Pick<FeedSettings, 'frequency' | 'time'>): string {
  const [hours, minutes] = settings.time.split(':');
  return `${Number(minutes)} ${Number(hours)} * * ${settings.frequency === 'weekly' ? '1' : '*'}`;
}

/** The latest scheduled delivery at or before `now` (DST handled by croner), within the last 8 days. */
export function lastDeliveryTime(
  settings: Pick<FeedSettings, 'frequency' | 'time' | 'timezone'>,
  now: Date,
): Date | undefined {
  // Without a callback croner schedules nothing; it only computes occurrences.
  const cron = new Cron(deliveryPattern(settings), { timezone: settings.timezone });
  let last: Date | undefined;
  for (let next = cron.nextRun(new Date(now.getTime() - 8 * 86_400_000)); next; next = cron.nextRun(next)) {
    if (next.getTime() > now.getTime()) break;
    last = next;
  }
  cron.stop();
  return last;
}

/** `YYYY-MM-DD` of an instant in a time zone. */
function localDate(instant: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/**
 * Sends each member their papers by DM: `instant` members on the next tick after a paper matched (everything that
 * matched since, in one message), `daily` and `weekly` members at their time in their time zone.
 *
 * Exactly once, across restarts and threads: a delivery claims its slot (`daily:2026-12-07`) and its papers in one
 * transaction (`FeedStore.claimDelivery`), sends with a nonce fixed per delivery, then is marked sent. A process
 * dying between send and mark leaves a claim that is resent with the same nonce. A slot missed while the bot was
 * down is delivered when it comes back, with every paper matched before it: no double, no loss.
 */
export class FeedDelivery {
  private readonly settings: typeof DEFAULT_DELIVERY_OPTIONS & FeedDeliveryOptions;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private closed = false;

  constructor(options: FeedDeliveryOptions) {
    this.settings = { ...DEFAULT_DELIVERY_OPTIONS, ...definedOnly(options) };
    this.now = options.now ?? (() => new Date());
  }

  /** Delivers what is due now, then every `tickMs`. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      void this.deliverDue().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.settings.tickMs).unref();
      });
    };
    tick();
  }

  /** One round: resends unfinished deliveries, then delivers every member whose slot is due. Returns messages sent. */
  deliverDue(): Promise<number> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<number> {
    const { store, leaseMs, logger } = this.settings;
    let sent = 0;
    try {
      const now = this.now();
      for (const delivery of store.unfinishedDeliveries(new Date(now.getTime() - leaseMs))) {
        if (this.closed) return sent;
        logger.info({ userId: delivery.userId, slot: delivery.slot }, 'resending a feed delivery cut off mid-send');
        if (await this.send(delivery.id, delivery.userId, delivery.nonce, store.papersOf(delivery.id))) sent += 1;
      }
      for (const member of store.usersWithPending()) {
        if (this.closed) return sent;
        if (member.dmsClosedAt) continue;
        const due = this.dueSlot(member, now);
        if (!due) continue;
        const claim = store.claimDelivery(member.userId, due.slot, due.until);
        if (!claim) continue;
        if (await this.send(claim.delivery.id, member.userId, claim.delivery.nonce, claim.papers)) sent += 1;
      }
    } catch (error) {
      logger.error({ err: describeError(error) }, 'feed delivery round failed');
    }
    return sent;
  }

  /** The slot due for the member now, and the papers it takes (matched up to `until`); undefined when none is due. */
  private dueSlot(member: FeedSettings, now: Date): { slot: string; until: Date } | undefined {
    if (member.frequency === 'instant') return { slot: `instant:${now.toISOString()}`, until: now };
    const at = lastDeliveryTime(member, now);
    if (!at) return undefined;
    const slot = `${member.frequency}:${localDate(at, member.timezone)}`;
    return this.settings.store.hasDelivery(member.userId, slot) ? undefined : { slot, until: at };
  }

  /** Sends one claimed delivery; true when it reached the member. */
  private async send(deliveryId: number, userId: string, nonce: string, claimed: PendingMatch[]): Promise<boolean> {
    const { store, sender, logger, order } = this.settings;
    try {
      const ordered = order ? await order(userId, claimed) : claimed;
      const shown = ordered.slice(0, FEED_LIMITS.papersPerDelivery);
      const { messageId } = await sender.send(userId, { papers: shown, more: ordered.length - shown.length }, nonce);
      store.markSent(
        deliveryId,
        messageId,
        shown.map((match) => match.paper.id),
      );
      logger.info({ userId, papers: claimed.length, messageId }, 'feed delivered');
      return true;
    } catch (error) {
      store.releaseDelivery(deliveryId);
      if (error instanceof DmsClosedError) {
        store.markDmsClosed(userId);
        logger.info({ userId }, 'feed not delivered: the member does not accept DMs; papers kept for /feed now');
      } else logger.warn({ userId, err: describeError(error) }, 'feed delivery failed; will retry on the next round');
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
