import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FEED_LIMITS, FEED_USER_TABLES, FeedStore, parseExclusions } from '../../src/feed/store.js';
import type { FeedMatch } from '../../src/feed/types.js';
import type { Paper } from '../../src/papers/paper.js';

let dataDir: string;
let store: FeedStore;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-feed-store-'));
  store = FeedStore.open({ dataDir });
});
afterEach(async () => {
  store.close();
  await rm(dataDir, { recursive: true, force: true });
});

const paper = (id: string, title: string): Paper => ({
  id,
  title,
  abstract: `${title} is studied here. More detail follows in a second sentence.`,
  source: 'arxiv',
  authors: ['Lena Fischer'],
});
const match = (userId: string, paperId: string, score = 0.8): FeedMatch => ({
  followId: 'f1',
  userId,
  paperId,
  kind: 'topic',
  score,
  why: 'follows topic "diffusion"',
});

describe('the feed store', () => {
  it('given follows past the per-member limit or typed twice, it should refuse with a message naming the limit', () => {
    store.addFollow({ userId: 'u1', kind: 'topic', text: 'diffusion', exclude: ['video'] });
    expect(() => store.addFollow({ userId: 'u1', kind: 'topic', text: 'Diffusion', exclude: ['video'] })).toThrow(
      /already follow topic "diffusion"/,
    );
    for (let index = 1; index < FEED_LIMITS.followsPerUser; index++)
      store.addFollow({ userId: 'u1', kind: 'question', text: `question ${index}?` });
    expect(() => store.addFollow({ userId: 'u1', kind: 'author', name: 'Lena Fischer' })).toThrow(
      new RegExp(`most allowed is ${FEED_LIMITS.followsPerUser}`),
    );
    expect(() => store.addFollow({ userId: 'u2', kind: 'topic', text: 'x'.repeat(201), exclude: [] })).toThrow(
      /201 characters; at most 200/,
    );
    expect(store.follows('u2')).toEqual([]);
  });

  it('given follows added and removed, it should replay the changes from any cursor with each follow as it is now', () => {
    const topic = store.addFollow({ userId: 'u1', kind: 'topic', text: 'diffusion', exclude: [] });
    const author = store.addFollow({ userId: 'u1', kind: 'author', name: 'Lena Fischer' });
    const first = store.followChangesAfter(0);
    expect(first.map((change) => change.follow)).toEqual([topic, author]);
    store.removeFollow('u1', topic.id);
    expect(store.removeFollow('u2', author.id)).toBeUndefined();
    const later = store.followChangesAfter(first.at(-1)!.seq);
    expect(later).toEqual([{ seq: expect.any(Number), followId: topic.id, follow: undefined }]);
  });

  it('given a paper matched twice for a member, it should keep it once, and a claimed delivery should take it once', () => {
    const papers = [paper('arxiv:1', 'Diffusion for Text'), paper('arxiv:2', 'Sparse Attention')];
    store.recordMatches(
      [match('u1', 'arxiv:1', 0.5), match('u1', 'arxiv:1', 0.9), match('u1', 'arxiv:2', 0.7)],
      papers,
    );
    expect(store.pending('u1').map((pending) => [pending.paper.id, pending.score])).toEqual([
      ['arxiv:1', 0.9],
      ['arxiv:2', 0.7],
    ]);
    expect(store.pending('u1')[0]!.paper.tldr).toBe('Diffusion for Text is studied here.');

    const claim = store.claimDelivery('u1', 'daily:2026-12-07', new Date('9999-12-31T00:00:00Z'));
    expect(claim?.papers).toHaveLength(2);
    expect(store.claimDelivery('u1', 'daily:2026-12-07', new Date('9999-12-31T00:00:00Z'))).toBeUndefined();
    store.markSent(claim!.delivery.id, 'm1', ['arxiv:1']);
    expect(store.pending('u1')).toEqual([]);
    // The paper beyond those shown waits for /feed now, once.
    expect(store.takeUnseen('u1').map((pending) => pending.paper.id)).toEqual(['arxiv:2']);
    expect(store.takeUnseen('u1')).toEqual([]);
    store.recordMatches([match('u1', 'arxiv:1')], papers);
    expect(store.pending('u1')).toEqual([]);
  });

  it('given /feed forget, it should leave no row naming the member in any feed table, and leave other members alone', () => {
    store.addFollow({ userId: 'u1', kind: 'topic', text: 'diffusion', exclude: [] });
    store.addFollow({ userId: 'u2', kind: 'topic', text: 'diffusion', exclude: [] });
    store.updateSettings('u1', { frequency: 'instant' });
    store.recordMatches([match('u1', 'arxiv:1'), match('u2', 'arxiv:1')], [paper('arxiv:1', 'Diffusion')]);
    const claim = store.claimDelivery('u1', 'instant:x', new Date('9999-12-31T00:00:00Z'))!;
    store.markSent(claim.delivery.id, 'm1', ['arxiv:1']);
    store.recordFeedback('u1', 'arxiv:1', 'like');

    const report = store.forget('u1');

    expect(report).toEqual({ follows: 1, matches: 1, deliveries: 1, feedback: 1, settings: 1 });
    // Checked in the database itself, every column of every feed table, not through the store's own queries.
    const db = new Database(path.join(dataDir, 'papercord.sqlite'), { readonly: true });
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'feed_%'")
      .all()
      .map((row) => row.name);
    expect(tables).toEqual(expect.arrayContaining(FEED_USER_TABLES.map(([table]) => table)));
    for (const table of tables) {
      const rows = db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
      expect(rows.filter((row) => Object.values(row).some((value) => String(value).includes('u1')))).toEqual([]);
    }
    db.close();
    expect(store.follows('u2')).toHaveLength(1);
    expect(store.pending('u2')).toHaveLength(1);
  });

  it('given exclusions typed with commas, spaces and repeats, it should keep each word or phrase once', () => {
    expect(parseExclusions(' video,  3D  scenes ,Video,,')).toEqual(['video', '3D scenes']);
    expect(parseExclusions(undefined)).toEqual([]);
  });
});
