import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import {
  parseTimeOfDay,
  parseTimezone,
  parseTopics,
  postNonce,
  SubscriptionStore,
} from '../../src/trending/subscriptions.js';
import { fakeClock, tempDataDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function openStore(dir?: string, clock = fakeClock('2025-07-29T08:00:00Z')) {
  const data = dir ? { dir, cleanup: () => {} } : tempDataDir();
  const store = SubscriptionStore.open({ dataDir: data.dir, now: clock.now });
  cleanups.push(() => store.close(), data.cleanup);
  return { store, dir: data.dir, clock };
}

const input = { guildId: '111111111111111111', channelId: '222222222222222222', time: '9:30', timezone: 'asia/tokyo' };

describe('subscription settings', () => {
  it('given times, zones and topics as typed, it should normalize them or say what is wrong', () => {
    expect(parseTimeOfDay('7:05')).toBe('07:05');
    expect(() => parseTimeOfDay('25:00')).toThrow(
      new UserError('"25:00" is not a time of day; use 24-hour HH:MM such as 09:30'),
    );
    expect(parseTimezone('europe/paris')).toBe('Europe/Paris');
    expect(() => parseTimezone('Mars/Olympus')).toThrow(/"Mars\/Olympus" is not a time zone/);
    expect(parseTopics(' agents, video ,agents,')).toEqual(['agents', 'video']);
    expect(() => parseTopics(Array.from({ length: 11 }, (_, i) => `t${i}`).join(','))).toThrow(
      /11 topics given; at most 10/,
    );
  });
});

describe('SubscriptionStore', () => {
  it('given a subscription, it should keep it across a reopen, in WAL mode', () => {
    const { store, dir } = openStore();
    const created = store.subscribe({ ...input, topics: ['agents'], exclude: ['video'], count: 3 });
    expect(existsSync(path.join(dir, 'papercord.sqlite-wal'))).toBe(true);
    expect(created).toMatchObject({
      time: '09:30',
      timezone: 'Asia/Tokyo',
      topics: ['agents'],
      exclude: ['video'],
      count: 3,
      enabled: true,
    });
    store.close();
    const reopened = openStore(dir).store;
    expect(reopened.list()).toEqual([created]);
  });

  it('given the same channel again, it should update that subscription instead of adding one', () => {
    const { store } = openStore();
    const first = store.subscribe(input);
    store.disable(first.id, 'Missing Access');
    const second = store.subscribe({ ...input, time: '18:00' });
    expect(second.id).toBe(first.id);
    expect(store.list()).toEqual([expect.objectContaining({ time: '18:00', enabled: true, disabledReason: null })]);
  });

  it('given a bad count, it should refuse with the allowed range', () => {
    const { store } = openStore();
    expect(() => store.subscribe({ ...input, count: 11 })).toThrow('count must be 1 to 10 (got 11)');
  });

  it('given unsubscribe, it should remove the channel and its post records', () => {
    const { store } = openStore();
    const subscription = store.subscribe(input);
    store.claimDay(subscription.id, '2025-07-29', { leaseMs: 60_000 });
    expect(store.unsubscribe(input.guildId, input.channelId)).toHaveLength(1);
    expect(store.list()).toEqual([]);
    expect(store.post(subscription.id, '2025-07-29')).toBeUndefined();
  });

  it('given a day claimed and sent, it should never let it be claimed again, even from another connection', () => {
    const { store, dir } = openStore();
    const { id } = store.subscribe(input);
    const first = store.claimDay(id, '2025-07-29', { leaseMs: 60_000 });
    expect(first).toMatchObject({
      claimed: true,
      resumed: false,
      record: { status: 'sending', nonce: postNonce(id, '2025-07-29') },
    });
    const other = openStore(dir).store;
    expect(other.claimDay(id, '2025-07-29', { leaseMs: 60_000 }).claimed).toBe(false);
    store.markSent(id, '2025-07-29', '999');
    expect(other.claimDay(id, '2025-07-29', { leaseMs: 0 })).toMatchObject({
      claimed: false,
      record: { status: 'sent', messageId: '999' },
    });
    expect(postNonce(id, '2025-07-29').length).toBeLessThanOrEqual(25);
  });

  it('given a claim left by a dead process past its lease, it should be resumed with the same nonce', () => {
    const { store, clock } = openStore();
    const { id } = store.subscribe(input);
    const first = store.claimDay(id, '2025-07-29', { leaseMs: 60_000 });
    clock.set('2025-07-29T08:05:00Z');
    const resumed = store.claimDay(id, '2025-07-29', { leaseMs: 60_000 });
    expect(resumed).toMatchObject({ claimed: true, resumed: true, record: { nonce: first.record.nonce, attempts: 2 } });
  });
});
