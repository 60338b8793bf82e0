import { AsyncLocalStorage } from 'node:async_hooks';
import { Document } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import type { PaperRetriever, RetrievalConfidence } from './types.js';

/** What each Document carries: `n` is the 1-based citation number answers use ([1], [2] …). */
export interface PaperDocumentMetadata {
  id: string;
  title: string;
  url: string | undefined;
  score: number;
  n: number;
  /** The retrieval's confidence, the same on every document of one result: `low` when these are only the closest. */
  confidence: RetrievalConfidence;
  /** The question's key concepts these papers do not cover, the same on every document of one result. */
  missing: string[];
}

export interface LibraryRetrieverInput extends BaseRetrieverInput {
  retriever: PaperRetriever;
  /** Papers per query. */
  k?: number;
}

export const DEFAULT_LIBRARY_RETRIEVER_K = 5;

const callSignal = new AsyncLocalStorage<AbortSignal | undefined>();

/**
 * The paper retriever as a LangChain retriever, for runnable pipelines (`retriever.pipe(...)`). One Document per
 * paper, title and abstract as content; an abstention is an empty list. Cancellation follows the run's
 * `signal` (LangChain passes it through `invoke(query, { signal })`).
 */
export class LibraryRetriever extends BaseRetriever<PaperDocumentMetadata> {
  override lc_namespace = ['papercord', 'retrievers'];
  private readonly retriever: PaperRetriever;
  private readonly k: number;

  constructor(input: LibraryRetrieverInput) {
    super(input);
    this.retriever = input.retriever;
    this.k = input.k ?? DEFAULT_LIBRARY_RETRIEVER_K;
  }

  /** BaseRetriever does not hand the run's signal to `_getRelevantDocuments`; this carries it, per call. */
  override async invoke(query: string, options?: Parameters<BaseRetriever['invoke']>[1]) {
    options?.signal?.throwIfAborted();
    return callSignal.run(options?.signal, () => super.invoke(query, options));
  }

  override async _getRelevantDocuments(query: string): Promise<Document<PaperDocumentMetadata>[]> {
    const signal = callSignal.getStore();
    const { hits, abstained, confidence, missing = [] } = await this.retriever.retrieve(query, { k: this.k, signal });
    if (abstained) return [];
    return hits.map(
      (hit, index) =>
        new Document<PaperDocumentMetadata>({
          pageContent: `${hit.paper.title}\n\n${hit.paper.abstract}`,
          metadata: {
            id: hit.paper.id,
            title: hit.paper.title,
            url: hit.paper.url,
            score: hit.score,
            n: index + 1,
            confidence,
            missing,
          },
        }),
    );
  }
}
