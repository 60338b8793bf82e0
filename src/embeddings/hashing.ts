import { definedOnly } from '../util/options.js';
import { Embeddings } from '@langchain/core/embeddings';
import { stemmer } from 'stemmer';
import { eng as englishStopwords } from 'stopword';

/**
 * The offline embedder: feature hashing ("the hashing trick") of stemmed word unigrams, word bigrams and
 * character n-grams, with sublinear term frequency, signed buckets and L2 normalization.
 *
 * It needs no model, no network and no state, so it works on a machine where transformers.js cannot load
 * anything, and two machines always produce the same vectors for the same text. Its quality sits between a
 * bag-of-words and a small sentence encoder: it matches shared vocabulary and morphology (attention/attentive,
 * transformer/transformers), not meaning.
 */

export interface HashingOptions {
  /**
   * Vector length. 1024 buckets keep collisions rare for abstract-sized texts (a few hundred distinct features)
   * while HNSW stays fast; larger buys little.
   */
  dimension: number;
  /** Weight of the stemmed word block (after stopword removal). */
  wordWeight: number;
  /** Weight of the adjacent stemmed-word-pair block, which rewards shared phrases ("language model"). */
  bigramWeight: number;
  /** Weight of the character n-gram block, which matches morphology, compounds and typos. */
  charNgramWeight: number;
  /** Character n-gram lengths, inclusive, taken inside `<word>` (boundary marks included). */
  charNgramMin: number;
  charNgramMax: number;
  /** Words shorter than this contribute no character n-grams (they are mostly noise). */
  charNgramMinWordLength: number;
  /** Seed of the bucket hash; changing it changes every vector (and the embedder id). */
  seed: number;
}

export const DEFAULT_HASHING_OPTIONS: Readonly<HashingOptions> = Object.freeze({
  dimension: 1024,
  wordWeight: 1,
  bigramWeight: 0.5,
  charNgramWeight: 0.6,
  charNgramMin: 3,
  charNgramMax: 5,
  charNgramMinWordLength: 4,
  seed: 0x9747b28c,
});

/** Bumped whenever the feature extraction changes in a way that changes vectors for the same options. */
const HASHING_ALGORITHM_VERSION = 1;

const STOPWORDS: ReadonlySet<string> = new Set(englishStopwords);

/**
 * Feature used for text with no usable words (empty, punctuation only, all stopwords), so that every vector
 * still has unit length: a zero vector has no cosine similarity and would poison an HNSW index.
 */
const EMPTY_TEXT_FEATURE = '\u0000empty';

export class HashingEmbeddings extends Embeddings {
  readonly options: Readonly<HashingOptions>;

  constructor(options: Partial<HashingOptions> = {}) {
    super({});
    this.options = Object.freeze({ ...DEFAULT_HASHING_OPTIONS, ...definedOnly(options) });
    validateOptions(this.options);
  }

  get dimension(): number {
    return this.options.dimension;
  }

  /**
   * Identity of the vector space: the algorithm version, the dimension and a fingerprint of every option,
   * so an index built with other settings is detected as incompatible rather than silently searched.
   */
  get id(): string {
    const fingerprint = fnv1a(JSON.stringify(Object.entries(this.options).sort()), 0).toString(16).padStart(8, '0');
    return `hashing:v${HASHING_ALGORITHM_VERSION}:${this.options.dimension}:${fingerprint}`;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((document) => this.embed(document));
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.embed(document);
  }

  /** Synchronous form, for callers that embed in a tight loop (benchmarks, re-indexing). */
  embed(text: string): number[] {
    const { dimension, wordWeight, bigramWeight, charNgramWeight } = this.options;
    const words = tokenize(text);
    const stems = words.map((word) => stemmer(word));

    const vector = new Float64Array(dimension);
    this.addBlock(vector, 'w', stems, wordWeight);
    this.addBlock(vector, 'b', bigrams(stems), bigramWeight);
    this.addBlock(vector, 'c', this.charNgrams(words), charNgramWeight);
    if (words.length === 0) this.addBlock(vector, 'e', [EMPTY_TEXT_FEATURE], 1);
    return normalize(vector);
  }

  /**
   * Adds one block of features, itself L2-normalized before weighting, so the block weights mean the same
   * thing for a title of five words and an abstract of two hundred (char n-grams would otherwise swamp words).
   */
  private addBlock(target: Float64Array, prefix: string, features: readonly string[], weight: number): void {
    if (features.length === 0 || weight === 0) return;
    const counts = new Map<string, number>();
    for (const feature of features) counts.set(feature, (counts.get(feature) ?? 0) + 1);

    const block = new Map<number, number>();
    for (const [feature, count] of counts) {
      const hash = fnv1a(`${prefix}:${feature}`, this.options.seed);
      const bucket = hash % target.length;
      // The sign comes from independent bits, so colliding features cancel on average instead of adding up.
      const sign = (mix32(hash) & 1) === 0 ? 1 : -1;
      // Sublinear tf: a word said five times is more important than once, not five times more.
      block.set(bucket, (block.get(bucket) ?? 0) + sign * (1 + Math.log(count)));
    }
    let sumOfSquares = 0;
    for (const value of block.values()) sumOfSquares += value * value;
    if (sumOfSquares === 0) return;
    const scale = weight / Math.sqrt(sumOfSquares);
    for (const [bucket, value] of block) target[bucket]! += value * scale;
  }

  private charNgrams(words: readonly string[]): string[] {
    const { charNgramMin, charNgramMax, charNgramMinWordLength } = this.options;
    const grams: string[] = [];
    for (const word of words) {
      if (word.length < charNgramMinWordLength) continue;
      const marked = `<${word}>`;
      for (let length = charNgramMin; length <= charNgramMax; length++) {
        for (let start = 0; start + length <= marked.length; start++) grams.push(marked.slice(start, start + length));
      }
    }
    return grams;
  }
}

/** Lower-cased letter/digit runs with accents folded and English stopwords removed. */
export function tokenize(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  return (folded.match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => !STOPWORDS.has(word));
}

function bigrams(stems: readonly string[]): string[] {
  const pairs: string[] = [];
  for (let index = 1; index < stems.length; index++) pairs.push(`${stems[index - 1]} ${stems[index]}`);
  return pairs;
}

function normalize(vector: Float64Array): number[] {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  return Array.from(vector, (value) => (norm === 0 ? 0 : value / norm));
}

/** 32-bit FNV-1a over UTF-16 code units: stable across runs, machines and Node versions. */
export function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** murmur3's finalizer: spreads FNV's weak low bits so the sign is independent of the bucket. */
function mix32(value: number): number {
  let hash = value >>> 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function validateOptions(options: HashingOptions): void {
  if (!Number.isInteger(options.dimension) || options.dimension < 8) {
    throw new RangeError(`hashing dimension must be a whole number of at least 8 (got ${options.dimension})`);
  }
  if (options.charNgramMin < 1 || options.charNgramMax < options.charNgramMin) {
    throw new RangeError(
      `character n-gram lengths must satisfy 1 <= min <= max (got ${options.charNgramMin}..${options.charNgramMax})`,
    );
  }
  for (const name of ['wordWeight', 'bigramWeight', 'charNgramWeight'] as const) {
    if (!(options[name] >= 0)) throw new RangeError(`${name} must be 0 or more (got ${options[name]})`);
  }
}
