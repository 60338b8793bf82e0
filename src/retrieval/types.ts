import type { RetrievedPaper } from '../library/library.js';

export type { RetrievedPaper };

/**
 * How sure retrieval is that the hits answer the query: `high`, they match it; `low`, nothing clearly matches and
 * the hits are only the closest papers (say so to the user); `none`, nothing in the library is near (no hits).
 */
export type RetrievalConfidence = 'high' | 'low' | 'none';

/** How front ends introduce `low` results: the papers listed next are only the closest. */
export const LOW_CONFIDENCE_LEAD = 'I found nothing that clearly matches; the closest papers are';

export interface RetrievalResult {
  /** Best first. Empty when confidence is `none`. */
  hits: RetrievedPaper[];
  confidence: RetrievalConfidence;
  /** True exactly when confidence is `none`: the library holds nothing relevant ("I found nothing in the library about …"). */
  abstained: boolean;
  /**
   * The question's key concepts that the best hits do not cover ("federated learning"), in question order; when any
   * is, confidence is at most `low`. Absent from retrievers that do not check (treat as none missing).
   */
  missing?: string[];
}

export interface RetrieveOptions {
  k?: number;
  signal?: AbortSignal;
}

/** What answering, comparisons, /search and eval use to find papers. */
export interface PaperRetriever {
  retrieve(query: string, options?: RetrieveOptions): Promise<RetrievalResult>;
}
