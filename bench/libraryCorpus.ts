import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Paper } from '../src/papers/paper.js';

/**
 * Realistic papers for the library benchmark: abstracts recombined from the sentences of a real corpus (SciFact's
 * 5,183 abstracts), so term statistics, lengths and vocabulary look like a real library's, with titles made unique.
 * Deterministic for a given seed.
 */

export interface SentencePool {
  sentences: string[];
  titleWords: string[];
  /** Real queries to ask of the generated library (SciFact claims), and abstract sentences to vary them. */
  claims: string[];
}

export async function readSentencePool(corpusFile: string, queriesFile?: string): Promise<SentencePool> {
  const sentences: string[] = [];
  const titleWords = new Set<string>();
  for await (const line of createInterface({ input: createReadStream(corpusFile).pipe(createGunzip()), crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { title?: string; text?: string };
    for (const sentence of (record.text ?? '').split(/(?<=[.!?])\s+(?=[A-Z])/)) {
      if (sentence.length >= 40 && sentence.length <= 400) sentences.push(sentence.trim());
    }
    for (const word of (record.title ?? '').split(/\s+/)) {
      const clean = word.replace(/[^\p{L}\p{N}-]/gu, '');
      if (clean.length >= 4) titleWords.add(clean);
    }
  }
  const claims: string[] = [];
  if (queriesFile) {
    for await (const line of createInterface({ input: createReadStream(queriesFile), crlfDelay: Infinity })) {
      if (line.trim()) claims.push((JSON.parse(line) as { text: string }).text);
    }
  }
  return { sentences, titleWords: [...titleWords], claims };
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
export function generatePaper(pool: SentencePool, index: number, seed = 1): Paper {
  const random = seededRandom(seed * 1_000_003 + index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sentences: string[] = [];
  let length = 0;
  while (length < TARGET_ABSTRACT_CHARS) {
    const sentence = pick(pool.sentences);
    sentences.push(sentence);
    length += sentence.length + 1;
  }
  const words = Array.from({ length: 4 + Math.floor(random() * 5) }, () => pick(pool.titleWords));
  // The number keeps titles unique (the library merges papers with equal titles).
  const title = `${words.join(' ')} ${index.toString(36)}-${seed}`;
  return { id: `bench:${seed}:${index}`, title, abstract: sentences.join(' '), source: 'bench' };
}

/** `count` generated papers, lazily, so a 100,000-paper library never sits in memory as one array. */
export function* generatePapers(pool: SentencePool, count: number, seed = 1, start = 0): Generator<Paper> {
  for (let index = start; index < start + count; index += 1) yield generatePaper(pool, index, seed);
}
