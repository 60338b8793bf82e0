import type { Embeddings } from '@langchain/core/embeddings';
import { embeddingModelProfile } from './profiles.js';

/**
 * An embedder the library can use: a LangChain `Embeddings` plus what the library must record about it,
 * so that an index built by one embedder is never searched with vectors from another.
 */
export interface PaperEmbedder {
  /** LangChain interface used by vector stores and retrievers. Vectors are L2-normalized. */
  readonly embeddings: Embeddings;
  /** Stable identity recorded in the library manifest, e.g. `transformers:Xenova/gte-small:q8` or `hashing:v1:…`. */
  readonly id: string;
  readonly kind: 'transformers' | 'hashing';
  readonly dimension: number;
  /** The model profile's dense floor for confidence grading (MIN_DENSE_SIMILARITY); the hashing embedder has none. */
  readonly minDenseSimilarity?: number;
  /** Human-readable, for `stats` and `/about`. */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * What `stats` and `/about` say about an embedder, from what a library records of it (its id and dimension), so a
 * library can be described without building its embedder (loading a model).
 */
export function describeEmbedder(id: string, dimension: number): string {
  const [kind, model, dtype] = id.split(':');
  if (kind === 'hashing')
    return `offline hashing embedder (word, bigram and character n-gram features, ${dimension} dimensions)`;
  if (kind === 'transformers' && model) {
    const pooling = embeddingModelProfile(model).pooling === 'cls' ? 'CLS pooling' : 'mean pooling';
    return `${model} via transformers.js (${dimension} dimensions, ${pooling}, ${dtype === 'q8' ? 'int8' : 'fp32'} weights, normalized)`;
  }
  return `${id} (${dimension} dimensions)`;
}
