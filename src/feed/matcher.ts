import type hnswlib from 'hnswlib-node';
import type { PaperEmbedder } from '../embeddings/types.js';
import { hnswlibBuild } from '../library/sqlite/hnswlib.js';
import { inverseDocumentFrequency, type Library, type TermStatistics } from '../library/library.js';
import { paperEmbeddingText } from '../library/paperText.js';
import type { Paper } from '../papers/paper.js';
import { gradeConfidence } from '../retrieval/abstention.js';
import { DEFAULT_ABSTENTION, type AbstentionOptions } from '../retrieval/hybridOptions.js';
import type { PaperRetriever } from '../retrieval/types.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import { splitSentences } from '../text/sentences.js';
import { authorLookupKeys, parseAuthorName, sameAuthor, type AuthorName } from './authors.js';
import { ARXIV_CATEGORIES, validateCategory } from './categories.js';
import type { FeedMatch, Follow, FollowMatcher } from './types.js';

/**
 * Matches newly stored papers against every follow without reading the library: author and category follows by key
 * lookup; topic, question and paper follows through two indexes over the follows themselves (term postings from
 * their words, an HNSW graph over their vectors), whose candidates are then graded the way hybrid retrieval grades
 * its hits (`gradeConfidence`: coverage and evidence of the follow's words in the paper, dense similarity). The cost
 * per paper grows with the follows that share its words, never with the library.
 */

export interface FollowMatcherOptions {
  /** Term statistics for IDF weights; `get` reads a followed paper (paper follows). */
  library: Pick<Library, 'termStatistics' | 'get'>;
  embedder: PaperEmbedder;
  /**
   * Confirms a watched question against the library: the paper must be among the first `citedSources` hits for the
   * question, as an answer would cite it. Without one, a question matches on its grade alone.
   */
  retriever?: PaperRetriever;
  abstention?: Readonly<AbstentionOptions>;
  /** Follows the vector index returns per paper before grading. */
  vectorCandidates?: number;
  /** Cosine at which a paper is "like" a followed paper, by embedder (paper to paper, so higher than query to paper). */
  minPaperSimilarity?: Readonly<Record<PaperEmbedder['kind'], number>>;
  /** How many of an answer's hits it cites. */
  citedSources?: number;
  /** Papers matched between two reads of the follow words' IDF. */
  idfRefreshPapers?: number;
}

type MatcherDefaults = Required<
  Pick<FollowMatcherOptions, 'vectorCandidates' | 'minPaperSimilarity' | 'citedSources' | 'idfRefreshPapers'>
>;

export const DEFAULT_FOLLOW_MATCHER_OPTIONS: Readonly<MatcherDefaults> = Object.freeze({
  vectorCandidates: 64,
  minPaperSimilarity: Object.freeze({ hashing: 0.4, transformers: 0.75 }),
  citedSources: 5,
  idfRefreshPapers: 1000,
});

interface TextEntry {
  follow: Follow & { kind: 'topic' | 'question' | 'paper' };
  slot: number;
  /** Topical query terms (topic and question follows); empty for paper follows, matched by vector only. */
  terms: readonly string[];
  excludes: readonly (readonly string[])[];
}

interface AuthorEntry {
  follow: Follow & { kind: 'author' };
  name: AuthorName;
}

const INITIAL_CAPACITY = 1024;

export class IndexedFollowMatcher implements FollowMatcher {
  private readonly options: FollowMatcherOptions & MatcherDefaults;
  private readonly abstention: Readonly<AbstentionOptions>;
  private readonly byId = new Map<string, Follow>();
  private readonly authors = new Map<string, AuthorEntry[]>();
  private readonly categories = new Map<string, (Follow & { kind: 'category' })[]>();
  private readonly texts = new Map<number, TextEntry>();
  private readonly slotsById = new Map<string, number>();
  private readonly postings = new Map<string, number[]>();
  private readonly idf = new Map<string, number>();
  /** Follow words whose IDF is not known yet (new follows); read with the next paper. */
  private readonly idfStale = new Set<string>();
  private idfAge = Number.POSITIVE_INFINITY;
  private unknownIdf = 1;
  /** By slot: each text follow's total word weight, and the weight found in the paper being matched (scratch). */
  private totals: Float64Array;
  private found: Float64Array;
  private vectors: Float32Array;
  private graph: hnswlib.HierarchicalNSW;
  private capacity = INITIAL_CAPACITY;
  private nextSlot = 0;

  constructor(options: FollowMatcherOptions) {
    this.options = { ...DEFAULT_FOLLOW_MATCHER_OPTIONS, ...options };
    this.abstention = options.abstention ?? DEFAULT_ABSTENTION;
    const dimension = options.embedder.dimension;
    this.vectors = new Float32Array(INITIAL_CAPACITY * dimension);
    this.totals = new Float64Array(INITIAL_CAPACITY);
    this.found = new Float64Array(INITIAL_CAPACITY);
    this.graph = new (hnswlibBuild().binding.HierarchicalNSW)('ip', dimension);
    this.graph.initIndex({ maxElements: INITIAL_CAPACITY, m: 16, efConstruction: 64 });
    this.graph.setEf(Math.max(64, this.options.vectorCandidates));
  }

  get size(): number {
    return this.byId.size;
  }

  async add(follows: readonly Follow[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const textual: { follow: TextEntry['follow']; text: string }[] = [];
    for (const follow of follows) {
      this.remove(follow.id);
      if (follow.kind === 'author') {
        const name = parseAuthorName(follow.name);
        const entry = { follow, name };
        for (const key of authorLookupKeys(name).slice(0, 1)) push(this.authors, key, entry);
      } else if (follow.kind === 'category') {
        push(this.categories, validateCategory(follow.code), follow);
      } else if (follow.kind === 'paper') {
        const paper = await this.options.library.get(follow.paperId);
        textual.push({ follow, text: paper ? paperEmbeddingText(paper) : follow.title });
      } else textual.push({ follow, text: follow.text });
      this.byId.set(follow.id, follow);
    }
    const batch = 256;
    for (let start = 0; start < textual.length; start += batch) {
      options.signal?.throwIfAborted();
      const chunk = textual.slice(start, start + batch);
      const vectors = await this.options.embedder.embeddings.embedDocuments(chunk.map((item) => item.text));
      chunk.forEach((item, index) => this.addText(item.follow, vectors[index]!));
    }
  }

  remove(followId: string): void {
    const follow = this.byId.get(followId);
    if (!follow) return;
    this.byId.delete(followId);
    if (follow.kind === 'author') {
      const key = authorLookupKeys(parseAuthorName(follow.name))[0]!;
      const kept = (this.authors.get(key) ?? []).filter((entry) => entry.follow.id !== followId);
      if (kept.length > 0) this.authors.set(key, kept);
      else this.authors.delete(key);
    } else if (follow.kind === 'category') {
      const code = validateCategory(follow.code);
      const kept = (this.categories.get(code) ?? []).filter((entry) => entry.id !== followId);
      if (kept.length > 0) this.categories.set(code, kept);
      else this.categories.delete(code);
    } else {
      const slot = this.slotsById.get(followId);
      if (slot === undefined) return;
      const entry = this.texts.get(slot)!;
      for (const term of entry.terms) {
        const posting = this.postings.get(term);
        if (!posting) continue;
        const index = posting.indexOf(slot);
        if (index >= 0) posting.splice(index, 1);
        if (posting.length === 0) this.postings.delete(term);
      }
      this.texts.delete(slot);
      this.slotsById.delete(followId);
      this.graph.markDelete(slot);
    }
  }

  async match(papers: readonly Paper[], options: { signal?: AbortSignal } = {}): Promise<FeedMatch[]> {
    const matches: FeedMatch[] = [];
    for (const paper of papers) {
      options.signal?.throwIfAborted();
      matches.push(...this.matchAuthors(paper), ...this.matchCategory(paper));
      if (this.texts.size > 0) matches.push(...(await this.matchText(paper, options.signal)));
    }
    return matches;
  }

  private matchAuthors(paper: Paper): FeedMatch[] {
    const matches = new Map<string, FeedMatch>();
    for (const printed of paper.authors ?? []) {
      const name = parseAuthorName(printed);
      for (const key of authorLookupKeys(name)) {
        for (const entry of this.authors.get(key) ?? []) {
          if (matches.has(entry.follow.id) || !sameAuthor(entry.name, name)) continue;
          matches.set(entry.follow.id, {
            ...matchOf(entry.follow, paper),
            score: 1,
            why: `by ${printed.trim()}`,
          });
        }
      }
    }
    return [...matches.values()];
  }

  private matchCategory(paper: Paper): FeedMatch[] {
    const code = paper.primaryCategory;
    if (!code) return [];
    return (this.categories.get(code) ?? []).map((follow) => ({
      ...matchOf(follow, paper),
      score: 0.5,
      why: `in ${code} (${ARXIV_CATEGORIES[code]})`,
    }));
  }

  private async matchText(paper: Paper, signal: AbortSignal | undefined): Promise<FeedMatch[]> {
    const sequence = stemmedTerms(`${paper.title}\n${paper.abstract}`);
    const paperTerms = new Set(sequence);
    await this.freshIdf();
    // Lexical candidates: the IDF weight of each follow's words this paper has, summed through the postings.
    const touched: number[] = [];
    for (const term of paperTerms) {
      const posting = this.postings.get(term);
      if (!posting) continue;
      const weight = this.idf.get(term) ?? this.unknownIdf;
      for (const slot of posting) {
        if (this.found[slot] === 0) touched.push(slot);
        this.found[slot]! += weight;
      }
    }
    const kind = this.options.embedder.kind;
    const minDense = this.options.embedder.minDenseSimilarity ?? this.abstention.minDenseSimilarity[kind];
    const abstention = {
      ...this.abstention,
      minDenseSimilarity: { ...this.abstention.minDenseSimilarity, [kind]: minDense },
    };
    const { minCoverage, minEvidence, fullCoverage } = abstention;
    const graded = new Map<number, { coverage: number; evidence: number }>();
    for (const slot of touched) {
      const found = this.found[slot]!;
      this.found[slot] = 0;
      const coverage = found / this.totals[slot]!;
      const evidence = found / this.unknownIdf;
      // Only these can be `high` by their words; the dense path is the graph's, below.
      if (coverage >= minCoverage && (evidence >= minEvidence || coverage >= fullCoverage))
        graded.set(slot, { coverage, evidence });
    }
    // Dense candidates: the follows nearest the paper in the graph, close enough to count on their own.
    const [vector] = await this.options.embedder.embeddings.embedDocuments([paperEmbeddingText(paper)]);
    const paperVector = Float32Array.from(vector!);
    const k = Math.min(this.options.vectorCandidates, this.graph.getCurrentCount());
    if (k > 0) {
      const { neighbors, distances } = this.graph.searchKnn([...paperVector], k);
      const floor = Math.min(minDense, ...Object.values(this.options.minPaperSimilarity));
      neighbors.forEach((slot, index) => {
        if (graded.has(slot) || 1 - distances[index]! < floor) return;
        graded.set(slot, { coverage: 0, evidence: 0 });
      });
    }
    const matches: FeedMatch[] = [];
    for (const [slot, lexical] of graded) {
      const entry = this.texts.get(slot);
      if (!entry) continue;
      const dense = this.similarity(slot, paperVector);
      if (entry.follow.kind === 'paper') {
        if (entry.follow.paperId === paper.id || dense < this.options.minPaperSimilarity[kind]) continue;
        matches.push({ ...matchOf(entry.follow, paper), score: clamp(dense), why: `like *${entry.follow.title}*` });
        continue;
      }
      const grade = gradeConfidence({ ...lexical, denseSimilarity: dense }, abstention, kind);
      if (grade !== 'high' || excluded(entry.excludes, sequence)) continue;
      const score = clamp((lexical.coverage + Math.min(1, dense / minDense)) / 2);
      if (entry.follow.kind === 'topic') {
        matches.push({ ...matchOf(entry.follow, paper), score, why: `follows topic "${entry.follow.text}"` });
        continue;
      }
      const bearing = bearingSentence(paper, entry.terms);
      if (!bearing) continue;
      if (this.options.retriever && !(await this.citedFor(entry.follow.text, paper, signal))) continue;
      matches.push({ ...matchOf(entry.follow, paper), score, why: `on "${entry.follow.text}": ${bearing}` });
    }
    return matches.sort((left, right) => right.score - left.score);
  }

  /**
   * IDF of every follow word, and each follow's total word weight, as of the library now; read again after
   * `idfRefreshPapers` papers, as the library grows (IDF moves slowly; a read per paper would be most of the cost).
   */
  private async freshIdf(): Promise<void> {
    const refreshAll = this.idfAge >= this.options.idfRefreshPapers;
    this.idfAge += 1;
    if (!refreshAll && this.idfStale.size === 0) return;
    const terms = refreshAll ? [...this.postings.keys()] : [...this.idfStale];
    const statistics: TermStatistics = await this.options.library.termStatistics(terms);
    this.unknownIdf = inverseDocumentFrequency({ documents: statistics.documents, frequencies: new Map() }, '');
    for (const term of terms) this.idf.set(term, inverseDocumentFrequency(statistics, term));
    const slots = refreshAll
      ? [...this.texts.keys()]
      : [...new Set([...this.idfStale].flatMap((term) => this.postings.get(term) ?? []))];
    for (const slot of slots) {
      const entry = this.texts.get(slot);
      if (entry)
        this.totals[slot] = entry.terms.reduce((sum, term) => sum + (this.idf.get(term) ?? this.unknownIdf), 0);
    }
    this.idfStale.clear();
    if (refreshAll) this.idfAge = 1;
  }

  private async citedFor(question: string, paper: Paper, signal: AbortSignal | undefined): Promise<boolean> {
    const result = await this.options.retriever!.retrieve(question, { k: this.options.citedSources, signal });
    return result.confidence === 'high' && result.hits.some((hit) => hit.paper.id === paper.id);
  }

  private addText(follow: TextEntry['follow'], vector: readonly number[]): void {
    if (this.nextSlot >= this.capacity) this.grow();
    const slot = this.nextSlot++;
    const dimension = this.options.embedder.dimension;
    this.vectors.set(vector, slot * dimension);
    this.graph.addPoint([...vector], slot);
    const terms = follow.kind === 'paper' ? [] : queryTerms(follow.text).filter((term) => !FILLER_TERMS.has(term));
    for (const term of terms) {
      push(this.postings, term, slot);
      if (!this.idf.has(term)) this.idfStale.add(term);
    }
    this.totals[slot] = terms.reduce((sum, term) => sum + (this.idf.get(term) ?? this.unknownIdf), 0);
    const excludes =
      follow.kind === 'topic' ? follow.exclude.map((phrase) => stemmedTerms(phrase)).filter((p) => p.length > 0) : [];
    this.texts.set(slot, { follow, slot, terms, excludes });
    this.slotsById.set(follow.id, slot);
  }

  private grow(): void {
    this.capacity *= 2;
    this.graph.resizeIndex(this.capacity);
    const vectors = new Float32Array(this.capacity * this.options.embedder.dimension);
    vectors.set(this.vectors);
    this.vectors = vectors;
    const totals = new Float64Array(this.capacity);
    totals.set(this.totals);
    this.totals = totals;
    this.found = new Float64Array(this.capacity);
  }

  private similarity(slot: number, vector: Float32Array): number {
    const dimension = vector.length;
    const offset = slot * dimension;
    let dot = 0;
    for (let index = 0; index < dimension; index += 1) dot += this.vectors[offset + index]! * vector[index]!;
    return dot;
  }
}

/** Whether the paper's words hold an excluded word or phrase (as consecutive content terms: stopwords drop out). */
export function excluded(excludes: readonly (readonly string[])[], sequence: readonly string[]): boolean {
  return excludes.some((phrase) => {
    for (let start = 0; start + phrase.length <= sequence.length; start += 1) {
      if (phrase.every((term, offset) => sequence[start + offset] === term)) return true;
    }
    return false;
  });
}

/** The abstract's sentence holding the most of the question's words (at least two, or its only one): how the paper bears on it. */
export function bearingSentence(paper: Paper, terms: readonly string[]): string | undefined {
  const wanted = new Set(terms);
  let best: { sentence: string; found: number } | undefined;
  for (const sentence of splitSentences(paper.abstract)) {
    const found = new Set(stemmedTerms(sentence).filter((term) => wanted.has(term))).size;
    if (found > (best?.found ?? 0)) best = { sentence, found };
  }
  if (!best || best.found < Math.min(2, wanted.size)) return undefined;
  return best.sentence.length > 240 ? `${best.sentence.slice(0, 239)}…` : best.sentence;
}

function matchOf(follow: Follow, paper: Paper): Pick<FeedMatch, 'followId' | 'userId' | 'paperId' | 'kind'> {
  return { followId: follow.id, userId: follow.userId, paperId: paper.id, kind: follow.kind };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function clamp(value: number): number {
  return Math.max(0, Math.min(1, value));
}
