import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Digest } from '../../src/trending/digest.js';
import { PostTargetGoneError, type PostRequest, type TrendingPoster } from '../../src/trending/poster.js';
import {
  lastScheduledAt,
  localDateOf,
  TrendingScheduler,
  type TrendingSchedulerOptions,
} from '../../src/trending/scheduler.js';
import { SubscriptionStore } from '../../src/trending/subscriptions.js';
import { fakeClock, recordingLogger, tempDataDir } from './helpers.js';

/** Stands in for Discord in these unit tests only; the end-to-end test posts through the emulator. */
class RecordingPoster implements TrendingPoster {
  readonly posts: PostRequest[] = [];
  failures: Error[] = [];
  async post(request: PostRequest) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.posts.push(request);
    return { messageId: String(1000 + this.posts.length) };
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// 09:00 in Tokyo (no DST) is 00:00 UTC.
const SUBSCRIPTION = {
  guildId: '111111111111111111',
  channelId: '222222222222222222',
  time: '09:00',
  timezone: 'Asia/Tokyo',
};
const digestFor = async (_subscription: unknown, localDate: string): Promise<Digest> => ({
  date: localDate,
  papers: [],
  themes: [],
});

function setup(start: string, dir?: string) {
  const data = dir ? { dir, cleanup: () => {} } : tempDataDir();
  const clock = fakeClock(start);
  const store = SubscriptionStore.open({ dataDir: data.dir, now: clock.now });
  const poster = new RecordingPoster();
  const log = recordingLogger();
  const schedulerFor = (options: Partial<TrendingSchedulerOptions> = {}) => {
    const scheduler = new TrendingScheduler({
      store,
      poster,
      digestFor,
      logger: log.logger,
      graceHours: 6,
      now: clock.now,
      ...options,
    });
    cleanups.push(() => scheduler.close());
    return scheduler;
  };
  cleanups.push(() => store.close(), data.cleanup);
  return { dir: data.dir, clock, store, poster, log, schedulerFor };
}

describe('schedule arithmetic', () => {
  it('given a time zone, it should find the last scheduled instant and its local date', () => {
    expect(lastScheduledAt(SUBSCRIPTION, new Date('2025-07-29T03:00:00Z'))?.toISOString()).toBe(
      '2025-07-29T00:00:00.000Z',
    );
    expect(lastScheduledAt(SUBSCRIPTION, new Date('2025-07-28T23:59:00Z'))?.toISOString()).toBe(
      '2025-07-28T00:00:00.000Z',
    );
    // 08:00 in New York during daylight saving time is 12:00 UTC.
    const newYork = { time: '08:00', timezone: 'America/New_York' };
    expect(lastScheduledAt(newYork, new Date('2025-07-29T13:00:00Z'))?.toISOString()).toBe('2025-07-29T12:00:00.000Z');
    expect(localDateOf(new Date('2025-07-29T23:30:00Z'), 'Asia/Tokyo')).toBe('2025-07-30');
  });
});

describe('TrendingScheduler', () => {
  it('given the scheduled minute in the subscription time zone, it should post once from the cron job', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(new Date('2025-07-28T23:59:50Z'));
    const { store, poster, schedulerFor } = setup('2025-07-28T23:59:50Z');
    store.subscribe(SUBSCRIPTION);
    const scheduler = schedulerFor({ now: () => new Date() });
    await scheduler.start();
    expect(poster.posts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(poster.posts).toHaveLength(1);
    expect(poster.posts[0].digest.date).toBe('2025-07-29');
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(poster.posts).toHaveLength(1);
  });

  it('given a restart within the scheduled minute, it should not post the day twice', async () => {
    const first = setup('2025-07-29T00:00:01Z');
    const { id } = first.store.subscribe(SUBSCRIPTION);
    const before = first.schedulerFor();
    expect(await before.fire(id)).toMatchObject({ status: 'sent' });
    await before.close();
    first.store.close();

    // The process comes back 20 seconds later, in the same minute; both the catch-up and a cron tick run.
    const second = setup('2025-07-29T00:00:21Z', first.dir);
    second.poster.posts.push(...first.poster.posts);
    const after = second.schedulerFor();
    expect(await after.start()).toEqual([]);
    expect(await after.fire(id)).toEqual({ status: 'done-before' });
    expect(second.poster.posts).toHaveLength(1);
    expect(second.store.post(id, '2025-07-29')).toMatchObject({ status: 'sent', messageId: '1001' });
  });

  it('given the cron tick and the catch-up at once, it should post once', async () => {
    const { store, poster, schedulerFor } = setup('2025-07-29T00:00:01Z');
    const subscription = store.subscribe(SUBSCRIPTION);
    store.claimDay(subscription.id, '2025-07-29', { leaseMs: 0 });
    store.release(subscription.id, '2025-07-29', 'test');
    const scheduler = schedulerFor();
    await Promise.all([scheduler.start(), scheduler.fire(subscription.id), scheduler.fire(subscription.id)]);
    expect(poster.posts).toHaveLength(1);
  });

  it('given a day missed while down, it should post it at start within the grace window', async () => {
    const { store, poster, schedulerFor } = setup('2025-07-27T12:00:00Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    // Down from before 09:00 Tokyo until 14:00 Tokyo (05:00 UTC): 5 hours late, grace is 6.
    const scheduler = schedulerFor({ now: () => new Date('2025-07-29T05:00:00Z') });
    expect(await scheduler.start()).toEqual([{ status: 'sent', messageId: '1001' }]);
    expect(poster.posts[0]).toMatchObject({
      channelId: SUBSCRIPTION.channelId,
      digest: { date: '2025-07-29' },
      resumed: false,
    });
    expect(store.post(id, '2025-07-29')?.status).toBe('sent');
  });

  it('given three days missed while down, all within the grace window, it should post each once, oldest first', async () => {
    const { store, poster, clock, schedulerFor } = setup('2025-07-26T12:00:00Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    // Down from before 09:00 Tokyo on the 27th until 14:00 Tokyo on the 29th: 53, 29 and 5 hours late.
    clock.set('2025-07-29T05:00:00Z');
    const scheduler = schedulerFor({ graceHours: 72 });
    const sent = [
      { status: 'sent', messageId: '1001' },
      { status: 'sent', messageId: '1002' },
      { status: 'sent', messageId: '1003' },
    ];
    expect(await Promise.all([scheduler.start(), scheduler.catchUp()])).toEqual([sent, sent]);
    expect(poster.posts.map((post) => post.digest.date)).toEqual(['2025-07-27', '2025-07-28', '2025-07-29']);
    for (const date of ['2025-07-27', '2025-07-28', '2025-07-29']) expect(store.post(id, date)?.status).toBe('sent');

    // Back again an hour later: nothing is posted twice.
    clock.set('2025-07-29T06:00:00Z');
    expect(await schedulerFor({ graceHours: 72 }).start()).toEqual([]);
    expect(poster.posts).toHaveLength(3);
  });

  it('given days missed both within and beyond the grace window, it should post only those within it', async () => {
    const { store, poster, clock, schedulerFor } = setup('2025-07-25T12:00:00Z');
    store.subscribe(SUBSCRIPTION);
    clock.set('2025-07-29T05:00:00Z');
    expect(await schedulerFor({ graceHours: 30 }).start()).toHaveLength(2);
    expect(poster.posts.map((post) => post.digest.date)).toEqual(['2025-07-28', '2025-07-29']);
  });

  it('given a day missed beyond the grace window, it should skip it with a log line and not post it later', async () => {
    const { store, poster, log, schedulerFor } = setup('2025-07-27T12:00:00Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    const scheduler = schedulerFor({ now: () => new Date('2025-07-29T07:30:00Z') });
    expect(await scheduler.start()).toEqual([
      { status: 'skipped', reason: 'missed by 7.5 h, beyond TRENDING_GRACE_HOURS=6' },
    ]);
    expect(poster.posts).toHaveLength(0);
    expect(
      log
        .lines()
        .some(
          (line) => line.msg === 'trending post for 2025-07-29 skipped: missed by 7.5 h, beyond TRENDING_GRACE_HOURS=6',
        ),
    ).toBe(true);
    expect(await schedulerFor({ now: () => new Date('2025-07-29T07:31:00Z') }).start()).toEqual([]);
    expect(store.post(id, '2025-07-29')?.status).toBe('skipped');
  });

  it("given a subscription made after today's time, it should start tomorrow rather than catch up", async () => {
    const { store, poster, schedulerFor } = setup('2025-07-29T02:00:00Z');
    store.subscribe(SUBSCRIPTION);
    expect(await schedulerFor().start()).toEqual([]);
    expect(poster.posts).toHaveLength(0);
  });

  it('given a deleted channel, it should disable the subscription with a log line and stop trying', async () => {
    const { store, poster, log, schedulerFor } = setup('2025-07-29T00:00:01Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    poster.failures.push(new PostTargetGoneError('Unknown Channel: the channel was deleted'));
    const scheduler = schedulerFor({ retryBaseDelayMs: 1 });
    expect(await scheduler.fire(id)).toEqual({
      status: 'disabled',
      reason: 'Unknown Channel: the channel was deleted',
    });
    expect(store.get(id)).toMatchObject({ enabled: false, disabledReason: 'Unknown Channel: the channel was deleted' });
    expect(
      log
        .lines()
        .some((line) => line.msg === `trending subscription ${id} disabled: Unknown Channel: the channel was deleted`),
    ).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await scheduler.fire(id)).toMatchObject({ status: 'skipped' });
    expect(scheduler.nextRunOf(id)).toBeUndefined();
    expect(poster.posts).toHaveLength(0);
  });

  it('given a passing failure, it should retry with backoff and post once', async () => {
    const { store, poster, schedulerFor } = setup('2025-07-29T00:00:01Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    poster.failures.push(new Error('socket hang up'), new Error('HTTP 502'));
    const scheduler = schedulerFor({ retryBaseDelayMs: 5, attempts: 3 });
    expect(await scheduler.fire(id)).toEqual({ status: 'failed', reason: 'socket hang up', retryInMs: 5 });
    await vi.waitFor(() => expect(store.post(id, '2025-07-29')?.status).toBe('sent'));
    expect(poster.posts).toHaveLength(1);
    expect(store.post(id, '2025-07-29')?.attempts).toBe(3);
  });

  it('given a process that died between send and mark, it should resend with the same nonce and say so', async () => {
    const { store, poster, clock, schedulerFor } = setup('2025-07-28T12:00:00Z');
    const { id } = store.subscribe(SUBSCRIPTION);
    clock.set('2025-07-29T00:00:01Z');
    const claim = store.claimDay(id, '2025-07-29', { leaseMs: 60_000 });
    clock.set('2025-07-29T00:20:00Z');
    expect(await schedulerFor().start()).toEqual([{ status: 'sent', messageId: '1001' }]);
    expect(poster.posts[0]).toMatchObject({ nonce: claim.record.nonce, resumed: true });
  });
});
