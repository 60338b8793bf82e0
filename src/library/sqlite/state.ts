import type Database from 'better-sqlite3';
import type { PaperEmbedder } from '../../embeddings/types.js';
import type { Logger } from '../../logger.js';
import { DEFAULT_PAPER_TEXT_LIMITS, type Paper, type PaperTextLimits } from '../../papers/paper.js';
import { embedPapers as embedInBatches, type EmbedPapersOptions } from '../addPlan.js';
import type { LexicalIndex } from './lexicalIndex.js';
import type { NameIndex } from './names.js';
import { blobVector, type Statements } from './database.js';
import { acquireWriteLock } from './storage.js';
import { DEFAULT_EF_CONSTRUCTION, type CheckpointRecord, type VectorIndex } from './vectorIndex.js';

/**
 * What one process holds of a local library: its database connection, the indexes read from it, the HNSW graph in
 * memory, and how far it has taken in other processes' commits. `PaperLibrary` owns it; the modules beside it (open
 * and recovery, checkpoints, writes) work on it.
 */

/**
 * Points where tests interrupt a write (they throw from `onSaveStep`, or kill the process): `embedded` before the
 * commit's transaction, `commit` right after it, `checkpoint-written` when an HNSW checkpoint file is on disk but
 * not yet recorded, `checkpoint` when it is recorded and older ones not yet removed, `migrated` when a library of
 * the generation format is copied into the database and its old files not yet removed, `recovered` when the papers
 * of a damaged database are in a complete new one that has not yet taken its place.
 */
export type SaveStep = 'embedded' | 'commit' | 'checkpoint-written' | 'checkpoint' | 'migrated' | 'recovered';

export interface PaperLibraryOptions {
  /** The library lives in `<dataDir>/library/`. */
  dataDir: string;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Papers per embedding call while ingesting. */
  embedBatchSize?: number;
  /** HNSW search breadth; higher is more exact and slower. */
  efSearch?: number;
  /** HNSW insert breadth of a graph built from scratch; higher is a better graph, built more slowly. */
  efConstruction?: number;
  /** How long an add waits for another process's write to finish before giving up with a UserError. */
  lockTimeoutMs?: number;
  /**
   * Vectors added since the last HNSW checkpoint that make a commit write a new one. Each is added to the graph
   * again when a process opens the library, so this bounds the work of opening; a checkpoint rewrites the graph
   * (hundreds of MB at 100,000 papers), so it is not done on every commit, nor when a process that added fewer
   * closes: the commit that crosses the threshold writes it, in whichever process makes it.
   */
  checkpointEvery?: number;
  /**
   * Loads the HNSW graph at the first vector search, or when a checkpoint is due, instead of at open: for the CLI,
   * whose `ingest`, `add` and `stats` never search, so adding 20 papers to a library of 100,000 does not read its
   * 424 MB graph. Commits meanwhile go to the database only, and the graph takes them in when it is loaded.
   */
  deferGraph?: boolean;
  /**
   * For processes and worker threads that only search: never writes, upgrades or checkpoints (the writer does),
   * still takes in what other processes commit. `add` rejects.
   */
  readOnly?: boolean;
  /** Titles and abstracts longer than these are cut when added (`PAPER_MAX_TITLE_CHARS`, `PAPER_MAX_ABSTRACT_CHARS`). */
  paperTextLimits?: PaperTextLimits;
  /** Test hook, called at each step of a write. */
  onSaveStep?: (step: SaveStep) => void | Promise<void>;
}

export const DEFAULT_LIBRARY_OPTIONS = Object.freeze({
  embedBatchSize: 32,
  efSearch: 128,
  efConstruction: DEFAULT_EF_CONSTRUCTION,
  lockTimeoutMs: 30_000,
  checkpointEvery: 1_000,
  deferGraph: false,
  readOnly: false,
  paperTextLimits: DEFAULT_PAPER_TEXT_LIMITS,
});

export type ResolvedLibraryOptions = Required<Omit<PaperLibraryOptions, 'onSaveStep'>> &
  Pick<PaperLibraryOptions, 'onSaveStep'>;

export interface SqliteLibraryState {
  readonly options: ResolvedLibraryOptions;
  /** `<dataDir>/library`. */
  readonly directory: string;
  db: Database.Database;
  statements: Statements;
  lexical: LexicalIndex;
  names: NameIndex;
  vectors: VectorIndex | undefined;
  /** SQLite's `data_version` when this process last took in commits. */
  dataVersion: number;
  /** Stored vectors of the wrong length met since the open began (see `repairVectors`). */
  unusableVectors: number;
  /** Papers visible to this process. */
  paperCount: number;
  nextSeq: number;
  /** True while this library holds `write.lock` (a checkpoint inside an add must not wait for itself). */
  holdingWriteLock: boolean;
  closed: boolean;
}

/**
 * Takes in what other processes committed since the last look (cheap when nothing changed: one pragma). Runs
 * inside a read transaction, so what it reads is one commit's state.
 */
export function takeInLatest(state: SqliteLibraryState): void {
  if (state.closed) return;
  const version = state.db.pragma('data_version', { simple: true }) as number;
  if (version === state.dataVersion) return;
  state.dataVersion = version;
  state.db.transaction(() => takeInCommitted(state))();
}

/** Reads what is committed now into this process's counts, lexical index and graph; inside a transaction. */
export function takeInCommitted(state: SqliteLibraryState): void {
  state.lexical.refresh();
  state.paperCount = state.lexical.size;
  state.nextSeq = (state.statements.maxSeq.get()?.seq ?? -1) + 1;
  if (state.vectors) state.vectors.add(vectorRowsAfter(state, state.vectors.throughSeq));
}

/** Stored vectors after `seq`; one of the wrong length (a damaged database) is skipped and counted, never given to hnswlib. */
export function* vectorRowsAfter(
  state: SqliteLibraryState,
  seq: number,
): Generator<{ seq: number; vector: Float32Array }> {
  const bytes = state.options.embedder.dimension * 4;
  for (const row of state.statements.vectorsAfter.iterate(seq)) {
    if (row.vector.length !== bytes) {
      state.unusableVectors += 1;
      continue;
    }
    yield { seq: row.seq, vector: blobVector(row.vector) };
  }
}

/**
 * Runs `work` holding `write.lock`, waiting up to `timeoutMs` for another process's write; re-entrant, so a
 * checkpoint inside an add does not wait for itself.
 */
export async function withWriteLock<T>(
  state: SqliteLibraryState,
  work: () => Promise<T>,
  signal?: AbortSignal,
  timeoutMs = state.options.lockTimeoutMs,
): Promise<T> {
  if (state.holdingWriteLock) return work();
  const lock = await acquireWriteLock(state.directory, { timeoutMs, signal });
  state.holdingWriteLock = true;
  try {
    return await work();
  } finally {
    state.holdingWriteLock = false;
    await lock.release();
  }
}

/** How this library embeds papers (see `embedPapers` and `vectorsOfNewPapers` in addPlan.ts). */
export function embedding(state: SqliteLibraryState, signal?: AbortSignal): EmbedPapersOptions & { logger: Logger } {
  const { embedder, embedBatchSize, logger } = state.options;
  return { embedder, batchSize: embedBatchSize, logger, ...(signal ? { signal } : {}) };
}

/** Embeds papers already in the library again (repair, another embedder, recovery). */
export function embedPapers(state: SqliteLibraryState, papers: readonly Paper[]): Promise<number[][]> {
  return embedInBatches(papers, embedding(state));
}

/** The HNSW checkpoint the database records, if any. */
export function checkpointRecord(state: SqliteLibraryState): CheckpointRecord | undefined {
  const value = state.statements.meta.get('checkpoint')?.value;
  return value === undefined ? undefined : (JSON.parse(value) as CheckpointRecord);
}
