import type { PaperEmbedder } from '../embeddings/types.js';
import type { Paper } from '../papers/paper.js';
import { bm25Idf } from '../text/bm25.js';
import type { AnalyzedPaper } from '../text/analysis.js';

/** A paper found by a search, with its score. */
export interface RetrievedPaper {
  paper: Paper;
  /** Higher is more relevant. Comparable within one result list only. */
  score: number;
}

/**
 * What the front ends and the retriever use from a paper library, whichever store holds it: the local library
 * under `DATA_DIR` (`PaperLibrary`) or PostgreSQL (`PostgresLibrary`, `VECTOR_STORE=pgvector`). Methods that a local
 * library answers from memory may answer synchronously; callers always `await`.
 */
export interface Library {
  readonly embedder: PaperEmbedder;
  /** Papers in the library now. */
  count(): number | Promise<number>;
  get(id: string): Paper | undefined | Promise<Paper | undefined>;
  /** The paper with this normalized title (see `normalizeTitle`): how the library dedupes papers without a shared id. */
  getByTitle(title: string): Paper | undefined | Promise<Paper | undefined>;
  /**
   * Adds papers, embedding only the new ones (matched by id and by normalized title). A bulk ingest passes
   * `checkpoint: false` and calls `checkpoint({ whenDue: true })` once at the end.
   */
  add(papers: readonly Paper[], options?: AddOptions): Promise<AddResult>;
  /** Persists derived structures now (the local HNSW graph); PostgreSQL maintains its own indexes, so there a no-op. */
  checkpoint(options?: CheckpointOptions): Promise<void>;
  /**
   * For a bulk ingest: the vector index built on a worker thread beside the commits (the local library), or built
   * once after them (a new PostgreSQL library); undefined where the index grows as rows are inserted.
   */
  startBulkGraph?(): Promise<BulkGraph | undefined>;
  /** Best first; score is cosine similarity (higher is closer). */
  vectorSearch(query: string, k: number): Promise<RetrievedPaper[]>;
  /** Best first; score is BM25 over title and abstract. */
  lexicalSearch(query: string, k: number): RetrievedPaper[] | Promise<RetrievedPaper[]>;
  /** Document frequencies from the lexical index that ranks: the one source of term statistics. */
  termStatistics(terms: readonly string[]): TermStatistics | Promise<TermStatistics>;
  /** Titles matching what was typed so far (autocomplete), best first; the first papers when nothing is typed. */
  suggest(query: string, limit: number): Paper[] | Promise<Paper[]>;
  /** The paper meant by an id, title or short name; a UserError naming the closest titles when none or several match. */
  resolve(nameOrId: string): Paper | Promise<Paper>;
  /** The newest `limit` papers, newest first (`/library status`). */
  recent(limit: number): Paper[] | Promise<Paper[]>;
  /** Every paper, in the order added; reads the whole library (question-set eval only). */
  all(): Paper[] | Promise<Paper[]>;
  /** Takes commits made since it was opened by other threads or processes; a no-op for a store read live. */
  refresh(): Promise<void>;
  stats(): Promise<LibraryStats>;
  /** Resolves when the store can be read; for /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CheckpointOptions {
  /**
   * Only when enough was added since the last checkpoint to be worth rewriting it (the local library's
   * `checkpointEvery` vectors); what is left is replayed by the next open.
   */
  whenDue?: boolean;
}

/** A bulk ingest's vector index on another thread: told after each commit, finished (checkpointed) at the end. */
export interface BulkGraph {
  committed(): void;
  finish(): Promise<void>;
}

export interface AddOptions {
  signal?: AbortSignal;
  /**
   * Papers per embedding call, instead of the library's own batch size. Running a model blocks the thread it runs on
   * for the whole call, so work that shares a thread with questions (the bot's intake) embeds a few papers at a time
   * and a question's own steps run between the calls.
   */
  embedBatchSize?: number;
  /** Whether this commit may write an HNSW checkpoint (the local library); a bulk ingest checkpoints once at the end. */
  checkpoint?: boolean;
  /** Vectors and analyses computed elsewhere (a worker thread), by paper id; the PostgreSQL library embeds itself. */
  prepared?: ReadonlyMap<string, PreparedPaper>;
}

/** What a paper needs before it can be committed: its vector and its analyzed text. */
export interface PreparedPaper {
  vector: ArrayLike<number>;
  analyzed: AnalyzedPaper;
}

export interface AddResult {
  /** Papers that were not in the library, now embedded and indexed. */
  added: Paper[];
  /**
   * Papers that were already there (by id or by title), or named twice in this add: their new metadata is merged
   * into the stored paper. Every paper given counts once, as added or as existing.
   */
  existing: number;
  /** For each paper given, in the same order, the library's copy after the add (merged, under its stored id). */
  stored: Paper[];
}

export interface TermStatistics {
  /** Papers in the index. */
  documents: number;
  /** Papers holding each analyzed term; terms no paper holds are absent or 0. */
  frequencies: ReadonlyMap<string, number>;
}

export interface LibraryStats {
  papers: number;
  vectors: number;
  /** Embedder id, e.g. `hashing:v1:1024:…`. */
  embedder: string;
  embedderDescription: string;
  dimension: number;
  /** Bytes the library takes: files under `<dataDir>/library/`, or the PostgreSQL tables and indexes. */
  bytesOnDisk: number;
  /** Vectors added since the last HNSW checkpoint (replayed when the library is opened); 0 in PostgreSQL. */
  vectorsSinceCheckpoint: number;
  /** Where the library lives: a directory, or `postgres:<table>`. */
  directory: string;
}

/** BM25's IDF; a term no paper has gets the IDF of a term in half a paper, the rarest there is. */
export function inverseDocumentFrequency(statistics: TermStatistics, term: string): number {
  const frequency = statistics.frequencies.get(term) ?? 0;
  return bm25Idf(statistics.documents, frequency);
}

/** A paper found by a search, by id; score as the search defines it. */
export interface PaperMatch {
  id: string;
  score: number;
}
