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
  private readonly words = new Map<string, WordFeatures>();
  private readonly features: FeatureTable;
  private readonly buckets = new BucketSums();

  constructor(options: Partial<HashingOptions> = {}) {
    super({});
    this.options = Object.freeze({ ...DEFAULT_HASHING_OPTIONS, ...definedOnly(options) });
    validateOptions(this.options);
    this.features = new FeatureTable(this.options.seed);
  }

  get dimension(): number {
    return this.options.dimension;
  }

  /**
   * Identity of the vector space: the algorithm version, the dimension and a fingerprint of every option,
   * so an index built with other settings is detected as incompatible rather than silently searched.
   */
  get id(): string {
    const fingerprint = fnv1a(JSON.stringify(Object.entries(this.options).sort()), 0)
      .toString(16)
      .padStart(8, '0');
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
    // Bounded: a stream of unusual words (ids, formulas) must not grow the tables forever. Cleared between texts
    // only, since a text's words hold ids into them.
    if (this.words.size >= WORD_CACHE_SIZE) {
      this.words.clear();
      this.features.clear();
    }
    const words = tokenize(text).map((word) => this.wordFeatures(word));

    const vector = new Float64Array(dimension);
    if (wordWeight !== 0 && words.length > 0) {
      const counter = this.features.count();
      for (const word of words) counter.add(word.stem, 1);
      this.addCounted(vector, counter, wordWeight);
    }
    this.addBlock(vector, 'b', bigrams(words.map((word) => this.features.text(word.stem))), bigramWeight);
    if (charNgramWeight !== 0) {
      // A gram's count is the sum over the words that contain it, so each distinct word is taken once with its
      // count. Words in order of first appearance keep the grams in the order a pass over every word meets them,
      // so the sums, and the vectors, are the same to the last bit.
      const wordCounts = new Map<WordFeatures, number>();
      for (const word of words) if (word.grams.length > 0) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      const counter = this.features.count();
      for (const [word, count] of wordCounts) for (const gram of word.grams) counter.add(gram, count);
      this.addCounted(vector, counter, charNgramWeight);
    }
    if (words.length === 0) this.addBlock(vector, 'e', [EMPTY_TEXT_FEATURE], 1);
    return normalize(vector);
  }

  /**
   * A word's stem and character n-grams, as feature ids, remembered: abstracts reuse a vocabulary of some tens of
   * thousands of words, and stemming, slicing and hashing them again for every paper was most of the embedder's time.
   */
  private wordFeatures(word: string): WordFeatures {
    const known = this.words.get(word);
    if (known) return known;
    const { charNgramMin, charNgramMax, charNgramMinWordLength } = this.options;
    const grams: number[] = [];
    if (word.length >= charNgramMinWordLength) {
      const marked = `<${word}>`;
      for (let length = charNgramMin; length <= charNgramMax; length++) {
        for (let start = 0; start + length <= marked.length; start++)
          grams.push(this.features.id('c', marked.slice(start, start + length)));
      }
    }
    const features: WordFeatures = { stem: this.features.id('w', stemmer(word)), grams: Int32Array.from(grams) };
    this.words.set(word, features);
    return features;
  }

  /**
   * Adds one block of features, itself L2-normalized before weighting, so the block weights mean the same
   * thing for a title of five words and an abstract of two hundred (char n-grams would otherwise swamp words).
   */
  private addBlock(target: Float64Array, prefix: string, features: readonly string[], weight: number): void {
    if (features.length === 0 || weight === 0) return;
    const counts = new Map<string, number>();
    for (const feature of features) counts.set(feature, (counts.get(feature) ?? 0) + 1);
    const buckets = this.buckets.start(target.length);
    for (const [feature, count] of counts) buckets.add(fnv1a(`${prefix}:${feature}`, this.options.seed), count);
    buckets.addTo(target, weight);
  }

  private addCounted(target: Float64Array, counter: FeatureCounter, weight: number): void {
    const buckets = this.buckets.start(target.length);
    for (let index = 0; index < counter.size; index++)
      buckets.add(this.features.hash(counter.ids[index]!), counter.counts[index]!);
    buckets.addTo(target, weight);
  }
}

/** Words remembered by one embedder (each with its grams, about half a kilobyte): more than abstracts usually use. */
const WORD_CACHE_SIZE = 200_000;

/** A word's features as ids in the embedder's FeatureTable. */
interface WordFeatures {
  stem: number;
  grams: Int32Array;
}

/**
 * Features (`prefix:text`) interned as small integers with their bucket hash, so that counting a text's features is
 * array indexing instead of string-keyed maps. Ids stand for exactly one feature each: counts are those of the
 * strings, never merged by a hash collision.
 */
class FeatureTable {
  private readonly ids = new Map<string, number>();
  private readonly texts: string[] = [];
  private hashes = new Uint32Array(1024);
  private readonly counter = new FeatureCounter();

  constructor(private readonly seed: number) {}

  id(prefix: string, text: string): number {
    const key = `${prefix}:${text}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.texts.length;
      this.ids.set(key, id);
      this.texts.push(text);
      if (id >= this.hashes.length) {
        const grown = new Uint32Array(this.hashes.length * 2);
        grown.set(this.hashes);
        this.hashes = grown;
      }
      this.hashes[id] = fnv1a(key, this.seed);
    }
    return id;
  }

  text(id: number): string {
    return this.texts[id]!;
  }

  hash(id: number): number {
    return this.hashes[id]!;
  }

  /** The one counter of this table, emptied (embedding is synchronous, so one at a time is in use). */
  count(): FeatureCounter {
    this.counter.reset(this.texts.length);
    return this.counter;
  }

  clear(): void {
    this.ids.clear();
    this.texts.length = 0;
  }
}

/** Distinct feature ids in order of first appearance, with their counts. */
class FeatureCounter {
  ids = new Int32Array(256);
  counts = new Float64Array(256);
  size = 0;
  /** Position of each id in `ids` during the count stamped `stamps[id]`. */
  private positions = new Int32Array(0);
  private stamps = new Uint32Array(0);
  private stamp = 0;

  reset(featureCount: number): void {
    if (featureCount > this.stamps.length) {
      const capacity = Math.max(featureCount, this.stamps.length * 2, 1024);
      const stamps = new Uint32Array(capacity);
      stamps.set(this.stamps);
      this.stamps = stamps;
      this.positions = new Int32Array(capacity);
    }
    this.size = 0;
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  add(id: number, count: number): void {
    if (this.stamps[id] === this.stamp) {
      this.counts[this.positions[id]!]! += count;
      return;
    }
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const counts = new Float64Array(this.size * 2);
      counts.set(this.counts);
      this.counts = counts;
    }
    this.stamps[id] = this.stamp;
    this.positions[id] = this.size;
    this.ids[this.size] = id;
    this.counts[this.size] = count;
    this.size++;
  }
}

/** One block's bucket sums, in order of first touch (the order the sums are normalized and added in). */
class BucketSums {
  private values = new Float64Array(0);
  private touched = new Int32Array(0);
  private stamps = new Uint32Array(0);
  private stamp = 0;
  private size = 0;

  start(dimension: number): this {
    if (this.values.length !== dimension) {
      this.values = new Float64Array(dimension);
      this.touched = new Int32Array(dimension);
      this.stamps = new Uint32Array(dimension);
      this.stamp = 0;
    }
    this.size = 0;
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
    return this;
  }

  add(hash: number, count: number): void {
    const bucket = hash % this.values.length;
    // The sign comes from independent bits, so colliding features cancel on average instead of adding up.
    const sign = (mix32(hash) & 1) === 0 ? 1 : -1;
    // Sublinear tf: a word said five times is more important than once, not five times more.
    const value = sign * (1 + Math.log(count));
    if (this.stamps[bucket] === this.stamp) {
      this.values[bucket]! += value;
      return;
    }
    this.stamps[bucket] = this.stamp;
    this.touched[this.size++] = bucket;
    this.values[bucket] = 0 + value;
  }

  /** Adds the block, scaled to length `weight`, to `target`. */
  addTo(target: Float64Array, weight: number): void {
    let sumOfSquares = 0;
    for (let index = 0; index < this.size; index++) {
      const value = this.values[this.touched[index]!]!;
      sumOfSquares += value * value;
    }
    if (sumOfSquares === 0) return;
    const scale = weight / Math.sqrt(sumOfSquares);
    for (let index = 0; index < this.size; index++) {
      const bucket = this.touched[index]!;
      target[bucket]! += this.values[bucket]! * scale;
    }
  }
}

/** Lower-cased letter/digit runs with accents folded and English stopwords removed. */
export function tokenize(text: string): string[] {
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
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
