import { readBeirCorpus } from '../src/retrieval/beir.js';
import { paperId, type Paper } from '../src/papers/paper.js';

/**
 * Realistic papers in any number, for benchmarks at library sizes no fixture reaches: abstracts of real sentences
 * recombined from SciFact's corpus (about 1.2 KB each, like an arXiv abstract), titles unique by construction.
 * Deterministic: the same `count` and `seed` give the same papers.
 */

export const SCIFACT_CORPUS = '../shared/eval/scifact/corpus.jsonl.gz';
export const SCIFACT_TRAIN_QUERIES = '../shared/eval/scifact/queries-train.jsonl';

/** Target abstract length; SciFact abstracts average about 1.5 KB, arXiv ones about 1.2 KB. */
const ABSTRACT_CHARS = 1_150;

interface SentencePool {
  titles: string[];
  sentences: string[];
}

async function sentencePool(corpusPath: string): Promise<SentencePool> {
  const documents = await readBeirCorpus(corpusPath);
  const sentences: string[] = [];
  for (const document of documents) {
    for (const sentence of document.abstract.split(/(?<=[.!?])\s+(?=[A-Z])/)) {
      if (sentence.length >= 40 && sentence.length <= 400) sentences.push(sentence.trim());
    }
  }
  return { titles: documents.map((document) => document.title.replace(/\.$/, '')), sentences };
}

/** mulberry32: a small seeded generator, so a benchmark's library is the same in every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` generated papers, in batches of `batchSize` (a 100,000-paper library never sits in memory whole). */
export async function* generatePapers(count: number, options: { batchSize?: number; seed?: number; corpus?: string } = {}): AsyncGenerator<Paper[]> {
  const { batchSize = 1_000, seed = 11, corpus = SCIFACT_CORPUS } = options;
  const pool = await sentencePool(corpus);
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  for (let start = 0; start < count; start += batchSize) {
    const batch: Paper[] = [];
    for (let index = start; index < Math.min(count, start + batchSize); index += 1) {
      const sentences: string[] = [];
      let length = 0;
      while (length < ABSTRACT_CHARS) {
        const sentence = pick(pool.sentences);
        sentences.push(sentence);
        length += sentence.length + 1;
      }
      // A real title with the study's number: unique, and still words a question can match.
      const title = `${pick(pool.titles)} (study ${index + 1})`;
      batch.push({ id: paperId({ title }), title, abstract: sentences.join(' '), source: 'generated' });
    }
    yield batch;
  }
}
