import type { PaperEmbedder } from '../embeddings/types.js';
import { fnv1a } from '../embeddings/hashing.js';
import type { Library } from '../library/library.js';
import { paperEmbeddingText } from '../library/paperText.js';
import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import type { FeedbackEvent, FeedRanker, Follow, RankedPaper } from './types.js';

/**
 * The per-user ranker: logistic regression over a paper's vector and its words (hashed), as arxiv-sanity trains an
 * SVM per tag. Its prior is the follows (their vectors and words, the "untrained" order); feedback moves the weights
 * away from that prior by a few epochs of SGD with an L2 pull back to it, so ten 👍/👎 reorder a feed and one
 * stray click does not. ml-logistic-regression (mljs) was the package to use, but it trains from zero by full-batch
 * gradient descent on dense matrices, with neither a prior to start from nor sparse word features: a warm start
 * toward the follows is the point here, so the 40 lines of SGD are written out below.
 */

export interface RankerOptions {
  /** Hashed word buckets beside the vector. */
  wordBuckets: number;
  /** Weight of the word part against the vector part (both are unit length). */
  wordWeight: number;
  epochs: number;
  learningRate: number;
  /** L2 pull toward the prior (the follows). */
  regularization: number;
  /** How strongly the follows set the prior's direction (logit per unit of similarity). */
  priorScale: number;
  /** A paper whose like-probability falls under this is left out: strongly disliked. */
  dropBelow: number;
}

export const DEFAULT_RANKER_OPTIONS: Readonly<RankerOptions> = Object.freeze({
  wordBuckets: 4096,
  wordWeight: 1,
  epochs: 30,
  learningRate: 0.5,
  regularization: 0.01,
  priorScale: 4,
  dropBelow: 0.1,
});

/** A paper as the ranker sees it: its unit vector, and its hashed words as sparse unit-length features. */
export interface PaperFeatures {
  vector: Float32Array;
  words: ReadonlyMap<number, number>;
}

/** A trained linear model; `score` is a logit (probability of a 👍 through the sigmoid). */
export class LinearRanker {
  constructor(
    private readonly vectorWeights: Float32Array,
    private readonly wordWeights: Float32Array,
    private bias: number,
    private readonly options: Readonly<RankerOptions>,
  ) {}

  /** The prior from the follows: their mean vector and words, scaled to a logit. */
  static fromFollows(
    follows: readonly PaperFeatures[],
    dimension: number,
    options: Readonly<RankerOptions>,
  ): LinearRanker {
    const vectorWeights = new Float32Array(dimension);
    const wordWeights = new Float32Array(options.wordBuckets);
    const scale = follows.length > 0 ? options.priorScale / follows.length : 0;
    for (const follow of follows) {
      follow.vector.forEach((value, index) => (vectorWeights[index]! += scale * value));
      for (const [bucket, value] of follow.words) wordWeights[bucket]! += scale * options.wordWeight * value;
    }
    return new LinearRanker(vectorWeights, wordWeights, 0, options);
  }

  score(features: PaperFeatures): number {
    let logit = this.bias;
    const { vector, words } = features;
    for (let index = 0; index < vector.length; index += 1) logit += this.vectorWeights[index]! * vector[index]!;
    for (const [bucket, value] of words) logit += this.wordWeights[bucket]! * this.options.wordWeight * value;
    return logit;
  }

  /** A copy trained on labelled papers (1 liked, 0 disliked), pulled toward this model's weights. */
  trained(examples: readonly { features: PaperFeatures; label: 0 | 1 }[]): LinearRanker {
    const prior = { vector: this.vectorWeights, words: this.wordWeights };
    const model = new LinearRanker(
      Float32Array.from(this.vectorWeights),
      Float32Array.from(this.wordWeights),
      this.bias,
      this.options,
    );
    const { epochs, learningRate, regularization, wordWeight } = this.options;
    // Deterministic order: examples as given, every epoch (a handful of events; shuffling buys nothing).
    for (let epoch = 0; epoch < epochs; epoch += 1) {
      const rate = learningRate / (1 + epoch * 0.1);
      for (const { features, label } of examples) {
        const error = sigmoid(model.score(features)) - label;
        const { vector, words } = features;
        for (let index = 0; index < vector.length; index += 1) {
          const weight = model.vectorWeights[index]!;
          model.vectorWeights[index] =
            weight - rate * (error * vector[index]! + regularization * (weight - prior.vector[index]!));
        }
        for (const [bucket, value] of words) {
          const weight = model.wordWeights[bucket]!;
          model.wordWeights[bucket] =
            weight - rate * (error * wordWeight * value + regularization * (weight - prior.words[bucket]!));
        }
        model.bias -= rate * error * 0.1;
      }
    }
    return model;
  }
}

export function sigmoid(logit: number): number {
  return 1 / (1 + Math.exp(-logit));
}

/** Hashed, unit-length word features of a text (content terms, each once). */
export function wordFeatures(terms: Iterable<string>, buckets: number): Map<number, number> {
  const features = new Map<number, number>();
  for (const term of terms) {
    if (FILLER_TERMS.has(term)) continue;
    const bucket = fnv1a(term, 0x5eed) % buckets;
    features.set(bucket, 1);
  }
  const norm = Math.sqrt(features.size);
  for (const [bucket, value] of features) features.set(bucket, value / (norm || 1));
  return features;
}

export interface FeedRankerOptions {
  library: Pick<Library, 'get'>;
  embedder: PaperEmbedder;
  ranker?: Partial<RankerOptions>;
}

/** Ranks a user's (or a channel's) papers with a model trained on demand from their follows and feedback. */
export class LinearFeedRanker implements FeedRanker {
  private readonly options: Readonly<RankerOptions>;

  constructor(private readonly dependencies: FeedRankerOptions) {
    this.options = { ...DEFAULT_RANKER_OPTIONS, ...dependencies.ranker };
  }

  async rank(
    subject: { follows: readonly Follow[]; feedback: readonly FeedbackEvent[] },
    papers: readonly Paper[],
    options: { signal?: AbortSignal } = {},
  ): Promise<RankedPaper[]> {
    const model = await this.model(subject, options.signal);
    const features = await this.paperFeatures(papers);
    return papers
      .map((paper, index) => ({ paper, score: sigmoid(model.score(features[index]!)) }))
      .filter((ranked) => ranked.score >= this.options.dropBelow)
      .sort((left, right) => right.score - left.score);
  }

  /** The follows' prior, trained on the feedback whose papers the library still holds. */
  async model(
    subject: { follows: readonly Follow[]; feedback: readonly FeedbackEvent[] },
    signal?: AbortSignal,
  ): Promise<LinearRanker> {
    const prior = LinearRanker.fromFollows(
      await this.followFeatures(subject.follows),
      this.dependencies.embedder.dimension,
      this.options,
    );
    signal?.throwIfAborted();
    const rated: { paper: Paper; label: 0 | 1 }[] = [];
    for (const event of subject.feedback) {
      const paper = await this.dependencies.library.get(event.paperId);
      if (paper) rated.push({ paper, label: event.verdict === 'like' ? 1 : 0 });
    }
    if (rated.length === 0) return prior;
    const features = await this.paperFeatures(rated.map((entry) => entry.paper));
    return prior.trained(rated.map((entry, index) => ({ features: features[index]!, label: entry.label })));
  }

  async paperFeatures(papers: readonly Paper[]): Promise<PaperFeatures[]> {
    if (papers.length === 0) return [];
    const vectors = await this.dependencies.embedder.embeddings.embedDocuments(papers.map(paperEmbeddingText));
    return papers.map((paper, index) => ({
      vector: Float32Array.from(vectors[index]!),
      words: wordFeatures(new Set(stemmedTerms(`${paper.title}\n${paper.abstract}`)), this.options.wordBuckets),
    }));
  }

  private async followFeatures(follows: readonly Follow[]): Promise<PaperFeatures[]> {
    const texts: string[] = [];
    for (const follow of follows) {
      if (follow.kind === 'topic' || follow.kind === 'question') texts.push(follow.text);
      else if (follow.kind === 'paper') {
        const paper = await this.dependencies.library.get(follow.paperId);
        texts.push(paper ? paperEmbeddingText(paper) : follow.title);
      }
    }
    if (texts.length === 0) return [];
    const vectors = await this.dependencies.embedder.embeddings.embedDocuments(texts);
    return texts.map((text, index) => ({
      vector: Float32Array.from(vectors[index]!),
      words: wordFeatures(queryTerms(text), this.options.wordBuckets),
    }));
  }
}
