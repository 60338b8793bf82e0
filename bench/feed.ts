import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { ARXIV_CATEGORIES } from '../src/feed/categories.js';
import { IndexedFollowMatcher } from '../src/feed/matcher.js';
import { LinearFeedRanker } from '../src/feed/ranker.js';
import type { Follow } from '../src/feed/types.js';
import { ingestInBatches } from '../src/library/bulkIngest.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../src/logger.js';
import type { Paper } from '../src/papers/paper.js';
import type { Benchmark } from './benchmark.js';
import { generatePapers, readSentencePool, seededRandom, type SentencePool } from './libraryCorpus.js';

/**
 * The feed's matching and ranking at scale: N follows of every kind (a fifth each: topic, author, category, paper,
 * question) over a library of generated papers, then new papers added one at a time and matched against all
 * follows (per-paper p50/p99, deliveries per second); and simulated users who like one topic and dislike another,
 * whose ranker is trained on 10 feedback events and scored by AUC on held-out papers against the untrained order
 * (the follows alone).
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');

const GIVEN = ['Lena', 'Jian', 'Ana', 'Omar', 'Priya', 'Kenji', 'Sofia', 'Lukas', 'Amara', 'Mateo', 'Yuki', 'Noor'];
const SURNAME_PARTS = [
  'fisch',
  'sm',
  'gar',
  'nak',
  'pat',
  'kow',
  'ber',
  'lin',
  'mor',
  'ad',
  'ols',
  'wan',
  'rei',
  'tan',
];
const SURNAME_ENDS = ['er', 'ith', 'cia', 'amura', 'el', 'alski', 'g', 'ova', 'eyemi', 'sen', 'ch', 'az'];
const CATEGORIES = Object.keys(ARXIV_CATEGORIES);
const PAPER_CATEGORIES = ['cs.CL', 'cs.LG', 'cs.CV', 'cs.AI', 'stat.ML', 'q-bio.BM', 'cs.IR', 'cs.RO'];

function authorName(random: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const surname = `${pick(SURNAME_PARTS)}${pick(SURNAME_PARTS)}${pick(SURNAME_ENDS)}`;
  return `${pick(GIVEN)} ${surname[0]!.toUpperCase()}${surname.slice(1)}`;
}

/** Papers of the generated library with authors and a category (the corpus generator gives neither). */
function withMetadata(paper: Paper, index: number): Paper {
  const random = seededRandom(index * 7919 + 17);
  const authors = Array.from({ length: 1 + Math.floor(random() * 4) }, () => authorName(random));
  return { ...paper, authors, primaryCategory: PAPER_CATEGORIES[Math.floor(random() * PAPER_CATEGORIES.length)] };
}

function makeFollows(count: number, pool: SentencePool, libraryIds: readonly string[], seed: number): Follow[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const topics = pool.topics ?? [];
  const follows: Follow[] = [];
  for (let index = 0; index < count; index += 1) {
    const base = { id: `f${index}`, userId: `u${index % Math.max(1, Math.floor(count / 5))}` };
    switch (index % 5) {
      case 0: {
        const words = pick(topics).titleWords;
        const text = [
          ...new Set(Array.from({ length: 3 }, () => pick(words.length > 0 ? words : pool.titleWords))),
        ].join(' ');
        follows.push({ ...base, kind: 'topic', text, exclude: random() < 0.3 ? [pick(pool.titleWords)] : [] });
        break;
      }
      case 1:
        follows.push({ ...base, kind: 'author', name: authorName(random) });
        break;
      case 2:
        follows.push({ ...base, kind: 'category', code: pick(CATEGORIES) });
        break;
      case 3: {
        const id = pick(libraryIds);
        follows.push({ ...base, kind: 'paper', paperId: id, title: id });
        break;
      }
      default:
        follows.push({
          ...base,
          kind: 'question',
          text: pool.claims.length > 0 ? pick(pool.claims) : pick(pool.sentences),
        });
    }
  }
  return follows;
}

/**
 * A paper on one topic of the pool: about a third of its sentences from that topic's abstract, the rest from anywhere
 * (at 60 % both rankers' jobs were too easy to tell anything: the trained AUC was 1.0).
 */
function paperOnTopic(pool: SentencePool, topicIndex: number, index: number): Paper {
  const topic = pool.topics![topicIndex]!;
  const random = seededRandom(topicIndex * 104_729 + index);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const own = Array.from({ length: topic.end - topic.start }, (_, offset) => pool.sentences[topic.start + offset]!);
  const sentences = Array.from({ length: 5 }, () => (random() < 0.35 ? pick(own) : pick(pool.sentences)));
  const title = `${Array.from({ length: 4 }, () => pick(topic.titleWords.length > 0 ? topic.titleWords : pool.titleWords)).join(' ')} ${topicIndex}-${index}`;
  return { id: `topic:${topicIndex}:${index}`, title, abstract: sentences.join(' '), source: 'bench' };
}

/** Probability that a positive scores above a negative (ties count half). */
export function areaUnderCurve(positives: readonly number[], negatives: readonly number[]): number {
  let wins = 0;
  for (const positive of positives) {
    for (const negative of negatives) wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
  }
  return wins / (positives.length * negatives.length);
}

async function rankingQuality(
  pool: SentencePool,
  embedder: Awaited<ReturnType<typeof createEmbedder>>,
  users: number,
  events: number,
): Promise<{ trained: number; untrained: number }> {
  const topics = pool.topics ?? [];
  const random = seededRandom(4242);
  let trained = 0;
  let untrained = 0;
  for (let user = 0; user < users; user += 1) {
    const liked = Math.floor(random() * topics.length);
    let disliked = Math.floor(random() * topics.length);
    if (disliked === liked) disliked = (disliked + 1) % topics.length;
    const likedPapers = Array.from({ length: events / 2 + 20 }, (_, index) => paperOnTopic(pool, liked, index));
    const dislikedPapers = Array.from({ length: events / 2 + 20 }, (_, index) => paperOnTopic(pool, disliked, index));
    const byId = new Map([...likedPapers, ...dislikedPapers].map((paper) => [paper.id, paper]));
    const ranker = new LinearFeedRanker({ library: { get: (id) => byId.get(id) }, embedder });
    // The user follows a line of work both topics belong to: the follow alone cannot tell them apart.
    const followText = [...topics[liked]!.titleWords.slice(0, 2), ...topics[disliked]!.titleWords.slice(0, 2)].join(
      ' ',
    );
    const follows: Follow[] = [{ id: 'f', userId: `sim${user}`, kind: 'topic', text: followText, exclude: [] }];
    const feedback = [
      ...likedPapers.slice(0, events / 2).map((paper) => ({ paperId: paper.id, verdict: 'like' as const })),
      ...dislikedPapers.slice(0, events / 2).map((paper) => ({ paperId: paper.id, verdict: 'dislike' as const })),
    ];
    const heldOutLiked = likedPapers.slice(events / 2);
    const heldOutDisliked = dislikedPapers.slice(events / 2);
    const features = await ranker.paperFeatures([...heldOutLiked, ...heldOutDisliked]);
    const prior = await ranker.model({ follows, feedback: [] });
    const model = await ranker.model({ follows, feedback });
    const split = (scores: number[]) =>
      [scores.slice(0, heldOutLiked.length), scores.slice(heldOutLiked.length)] as const;
    const [priorLiked, priorDisliked] = split(features.map((entry) => prior.score(entry)));
    const [modelLiked, modelDisliked] = split(features.map((entry) => model.score(entry)));
    untrained += areaUnderCurve(priorLiked, priorDisliked);
    trained += areaUnderCurve(modelLiked, modelDisliked);
  }
  return { trained: trained / users, untrained: untrained / users };
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export const feedBenchmark: Benchmark = {
  name: 'feed',
  summary: 'N follows of every kind over generated papers: per-paper match p50/p99, deliveries/s, ranker AUC',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      follows: { type: 'string' },
      papers: { type: 'string' },
      new: { type: 'string' },
      users: { type: 'string' },
      json: { type: 'boolean', default: false },
      corpus: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/corpus.jsonl.gz') },
      queries: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/queries-train.jsonl') },
    });
    const followCount = parseCount(values.follows, '--follows', 10_000, 1_000_000);
    const libraryCount = parseCount(values.papers, '--papers', 5_000, 1_000_000);
    const newCount = parseCount(values.new, '--new', 300, 100_000);
    const users = parseCount(values.users, '--users', 20, 10_000);
    const load = () =>
      os
        .loadavg()
        .map((entry) => entry.toFixed(2))
        .join(' ');
    process.stderr.write(`feed bench: ${followCount} follows over ${libraryCount} papers (load: ${load()})\n`);
    const logger = silentLogger();
    const config = loadConfig({ EMBEDDINGS: 'hashing' });
    const embedder = await createEmbedder(config, logger);
    const pool = await readSentencePool(values.corpus, values.queries);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-feed-'));
    try {
      const library = await PaperLibrary.open({ dataDir, embedder, logger });
      const stored = [...generatePapers(pool, libraryCount, 3)].map(withMetadata);
      await ingestInBatches(library, stored);
      process.stderr.write(`  library of ${libraryCount} papers built; indexing ${followCount} follows\n`);
      const matcher = new IndexedFollowMatcher({ library, embedder });
      const follows = makeFollows(
        followCount,
        pool,
        stored.map((paper) => paper.id),
        11,
      );
      const indexStart = performance.now();
      await matcher.add(follows);
      const indexS = (performance.now() - indexStart) / 1000;
      process.stderr.write(`  follows indexed in ${indexS.toFixed(1)} s; matching ${newCount} new papers\n`);
      const timings: number[] = [];
      let deliveries = 0;
      const fresh = [...generatePapers(pool, newCount, 3, libraryCount)].map((paper, index) =>
        withMetadata(paper, libraryCount + index),
      );
      for (const paper of fresh) {
        const { added } = await library.add([paper]);
        const start = performance.now();
        deliveries += (await matcher.match(added)).length;
        timings.push(performance.now() - start);
      }
      await library.close();
      const sorted = [...timings].sort((left, right) => left - right);
      const totalS = timings.reduce((sum, value) => sum + value, 0) / 1000;
      process.stderr.write(`  ${deliveries} deliveries; training ${users} simulated users' rankers\n`);
      const auc = await rankingQuality(pool, embedder, users, 10);
      const result = {
        follows: followCount,
        match_p50_ms: round(percentile(sorted, 0.5)),
        match_p99_ms: round(percentile(sorted, 0.99)),
        auc_trained: round(auc.trained, 3),
        auc_untrained: round(auc.untrained, 3),
        deliveries_per_s: Math.round(deliveries / totalS),
        deliveries_per_paper: round(deliveries / newCount),
        library_papers: libraryCount,
        index_follows_s: round(indexS, 1),
        load: load(),
      };
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else for (const [key, value] of Object.entries(result)) process.stdout.write(`${key.padEnd(22)}${value}\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
