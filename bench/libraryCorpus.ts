import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Paper } from '../src/papers/paper.js';

/**
 * Realistic papers for the library benchmark: abstracts recombined from the sentences of a real corpus (SciFact's
 * 5,183 abstracts), so term statistics, lengths and vocabulary look like a real library's, with titles made unique.
 * Deterministic for a given seed.
 *
 * Two ways to recombine. `topical` (the default): each paper takes half its sentences from one source abstract (its
 * topic) and half from anywhere, so papers on a topic share sentences and words as the papers of one line of work do,
 * and a library has neighbourhoods. `uniform`: every sentence from anywhere, so each abstract is a blend of five
 * unrelated ones and every paper is about equally far from every other, which no real library is like; kept to
 * measure that worst case for a graph index.
 */

export type CorpusMix = 'topical' | 'uniform';

export interface SentencePool {
  sentences: string[];
  titleWords: string[];
  /** Real queries to ask of the generated library (SciFact claims), and abstract sentences to vary them. */
  claims: string[];
  /** For `topical`: each source abstract's sentences as a range of `sentences`, and its title's words. */
  topics?: Array<{ start: number; end: number; titleWords: string[] }>;
}

export async function readSentencePool(corpusFile: string, queriesFile?: string): Promise<SentencePool> {
  const sentences: string[] = [];
  const titleWords = new Set<string>();
  const topics: NonNullable<SentencePool['topics']> = [];
  for await (const line of createInterface({
    input: createReadStream(corpusFile).pipe(createGunzip()),
    crlfDelay: Infinity,
  })) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { title?: string; text?: string };
    const start = sentences.length;
    for (const sentence of (record.text ?? '').split(/(?<=[.!?])\s+(?=[A-Z])/)) {
      if (sentence.length >= 40 && sentence.length <= 400) sentences.push(sentence.trim());
    }
    const words: string[] = [];
    for (const word of (record.title ?? '').split(/\s+/)) {
      const clean = word.replace(/[^\p{L}\p{N}-]/gu, '');
      if (clean.length >= 4) {
        titleWords.add(clean);
        words.push(clean);
      }
    }
    // A topic needs a few sentences to lend; shorter abstracts still give their sentences to the pool.
    if (sentences.length - start >= 3) topics.push({ start, end: sentences.length, titleWords: words });
  }
  const claims: string[] = [];
  if (queriesFile) {
    for await (const line of createInterface({ input: createReadStream(queriesFile), crlfDelay: Infinity })) {
      if (line.trim()) claims.push((JSON.parse(line) as { text: string }).text);
    }
  }
  return { sentences, titleWords: [...titleWords], claims, topics };
}

/** mulberry32: small, fast, good enough to pick sentences reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TARGET_ABSTRACT_CHARS = 1200;

/** Paper number `index` of the generated library (`seed` picks which library). */
export function generatePaper(pool: SentencePool, index: number, seed = 1, mix: CorpusMix = 'topical'): Paper {
  const random = seededRandom(seed * 1_000_003 + index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const topic = mix === 'topical' && pool.topics?.length ? pick(pool.topics) : undefined;
  // The topic's sentences not used yet: a real abstract does not say the same sentence twice.
  const unused = topic ? Array.from({ length: topic.end - topic.start }, (_, offset) => topic.start + offset) : [];
  const sentences: string[] = [];
  let length = 0;
  while (length < TARGET_ABSTRACT_CHARS) {
    const fromTopic = unused.length > 0 && random() < 0.5;
    const sentence = fromTopic
      ? pool.sentences[unused.splice(Math.floor(random() * unused.length), 1)[0]!]!
      : pick(pool.sentences);
    sentences.push(sentence);
    length += sentence.length + 1;
  }
  const words = Array.from({ length: 4 + Math.floor(random() * 5) }, () =>
    topic?.titleWords.length && random() < 0.5 ? pick(topic.titleWords) : pick(pool.titleWords),
  );
  // The number keeps titles unique (the library merges papers with equal titles).
  const title = `${words.join(' ')} ${index.toString(36)}-${seed}`;
  return { id: `bench:${seed}:${index}`, title, abstract: sentences.join(' '), source: 'bench' };
}

/** `count` generated papers, lazily, so a 100,000-paper library never sits in memory as one array. */
export function* generatePapers(
  pool: SentencePool,
  count: number,
  seed = 1,
  start = 0,
  mix: CorpusMix = 'topical',
): Generator<Paper> {
  for (let index = start; index < start + count; index += 1) yield generatePaper(pool, index, seed, mix);
}
