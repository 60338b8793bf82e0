import type { Paper } from '../papers/paper.js';

export interface RetrievedPaper {
  paper: Paper;
  /** Higher is more relevant. Comparable within one result list only. */
  score: number;
}

export interface RetrievalResult {
  /** Best first. Empty when abstained. */
  hits: RetrievedPaper[];
  /** True when the library holds nothing relevant to the query ("I found nothing in the library about …"). */
  abstained: boolean;
}

export interface RetrieveOptions {
  k?: number;
  signal?: AbortSignal;
}

/** What answering, comparisons, /search and eval use to find papers. */
export interface PaperRetriever {
  retrieve(query: string, options?: RetrieveOptions): Promise<RetrievalResult>;
}
