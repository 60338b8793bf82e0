import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DmsClosedError, FeedDelivery, type FeedMessage, type FeedSender } from '../../src/feed/delivery.js';
import { FeedStore } from '../../src/feed/store.js';
import { silentLogger } from '../../src/logger.js';
import type { Paper } from '../../src/papers/paper.js';

/** What reached each member, in order; `closed` members refuse DMs; `dieAfterSend` plays a process killed mid-send. */
class RecordingSender implements FeedSender {
  readonly sent: Array<{ userId: string; message: FeedMessage; nonce: string }> = [];
  readonly closed = new Set<string>();
  dieAfterSend = false;
  async send(userId: string, message: FeedMessage, nonce: string): Promise<{ messageId: string }> {
    if (this.closed.has(userId)) throw new DmsClosedError('Cannot send messages to this user');
    this.sent.push({ userId, message, nonce });
    if (this.dieAfterSend) throw new Error('process killed after the send');
    return { messageId: `m${this.sent.length}` };
  }
}

let dataDir: string;
let clock: Date;
const stores: FeedStore[] = [];
const openStore = () => {
  const store = FeedStore.open({ dataDir, now: () => clock });
  stores.push(store);
  return store;
};
const delivery = (store: FeedStore, sender: FeedSender) =>
  new FeedDelivery({ store, sender, logger: silentLogger(), now: () => clock, leaseMs: 60_000 });

const papers = Array.from({ length: 14 }, (_, index): Paper => ({
  id: `arxiv:${index}`,
  title: `Paper ${index}`,
  abstract: `Abstract ${index}.`,
  source: 'arxiv',
}));
function matchPapers(store: FeedStore, userId: string, count: number): void {
  store.recordMatches(
    papers.slice(0, count).map((paper, index) => ({
      followId: 'f1',
      userId,
      paperId: paper.id,
      kind: 'topic',
      score: 1 - index / 100,
      why: 'follows topic "x"',
    })),
    papers,
  );
}

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-feed-delivery-'));
  clock = new Date('2026-12-07T08:00:00Z');
});
afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('feed delivery', () => {
  it('given a daily member, it should deliver once at their local time, and a restart after it should not deliver again', async () => {
    const store = openStore();
    store.updateSettings('u1', { frequency: 'daily', time: '09:00', timezone: 'Europe/Paris' });
    matchPapers(store, 'u1', 3);
    const sender = new RecordingSender();

    clock = new Date('2026-12-07T07:59:00Z'); // 08:59 in Paris
    expect(await delivery(store, sender).deliverDue()).toBe(0);
    clock = new Date('2026-12-07T08:00:30Z'); // 09:00:30 in Paris
    expect(await delivery(store, sender).deliverDue()).toBe(1);
    // The bot restarts: a new process, a new store on the same file.
    clock = new Date('2026-12-07T08:30:00Z');
    expect(await delivery(openStore(), sender).deliverDue()).toBe(0);

    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]!.message.papers.map((match) => match.paper.id)).toEqual(['arxiv:0', 'arxiv:1', 'arxiv:2']);
  });

  it('given the bot down at the delivery time, it should deliver at restart with every paper matched before, once', async () => {
    const store = openStore();
    store.updateSettings('u1', { frequency: 'daily', time: '09:00', timezone: 'UTC' });
    matchPapers(store, 'u1', 2);
    const sender = new RecordingSender();
    // Down from 08:00 to 11:00; a paper matched at 10:00 (after the slot) waits for tomorrow.
    clock = new Date('2026-12-07T10:00:00Z');
    store.recordMatches(
      [{ followId: 'f1', userId: 'u1', paperId: 'arxiv:9', kind: 'topic', score: 0.1, why: 'w' }],
      papers,
    );
    clock = new Date('2026-12-07T11:00:00Z');
    expect(await delivery(openStore(), sender).deliverDue()).toBe(1);
    expect(await delivery(openStore(), sender).deliverDue()).toBe(0);
    clock = new Date('2026-12-08T09:00:00Z');
    expect(await delivery(openStore(), sender).deliverDue()).toBe(1);

    expect(sender.sent.map((sent) => sent.message.papers.map((match) => match.paper.id))).toEqual([
      ['arxiv:0', 'arxiv:1'],
      ['arxiv:9'],
    ]);
  });

  it('given a process killed between the send and its record, it should resend the same papers with the same nonce, once', async () => {
    const store = openStore();
    store.updateSettings('u1', { frequency: 'instant' });
    matchPapers(store, 'u1', 1);
    const sender = new RecordingSender();
    sender.dieAfterSend = true;
    const dying = delivery(store, sender);
    // The failed send is released and retried: a claim left 'sending' is what a killed process leaves.
    (store as unknown as { releaseDelivery: () => void }).releaseDelivery = () => undefined;
    await dying.deliverDue();
    sender.dieAfterSend = false;

    clock = new Date(clock.getTime() + 5 * 60_000);
    const restarted = openStore();
    expect(await delivery(restarted, sender).deliverDue()).toBe(1);
    expect(await delivery(restarted, sender).deliverDue()).toBe(0);
    expect(sender.sent.map((sent) => sent.nonce)).toEqual([sender.sent[0]!.nonce, sender.sent[0]!.nonce]);
    expect(sender.sent[1]!.message.papers.map((match) => match.paper.id)).toEqual(['arxiv:0']);
  });

  it('given an instant member with 14 new papers, it should send one message of 10 and say how many more wait', async () => {
    const store = openStore();
    store.updateSettings('u1', { frequency: 'instant' });
    matchPapers(store, 'u1', 14);
    const sender = new RecordingSender();
    expect(await delivery(store, sender).deliverDue()).toBe(1);
    expect(await delivery(store, sender).deliverDue()).toBe(0);
    expect(sender.sent[0]!.message.papers).toHaveLength(10);
    expect(sender.sent[0]!.message.more).toBe(4);
    expect(store.takeUnseen('u1').map((match) => match.paper.id)).toEqual([
      'arxiv:10',
      'arxiv:11',
      'arxiv:12',
      'arxiv:13',
    ]);
  });

  it('given closed DMs, it should keep the papers for /feed now, stop trying, and flag the notice once', async () => {
    const store = openStore();
    store.updateSettings('u1', { frequency: 'instant' });
    matchPapers(store, 'u1', 2);
    const sender = new RecordingSender();
    sender.closed.add('u1');
    expect(await delivery(store, sender).deliverDue()).toBe(0);
    expect(await delivery(store, sender).deliverDue()).toBe(0);
    expect(store.takeDmsClosedNotice('u1')).toBe(true);
    expect(store.takeDmsClosedNotice('u1')).toBe(false);
    expect(store.takeUnseen('u1')).toHaveLength(2);
  });
});
