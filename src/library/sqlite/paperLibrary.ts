import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { PaperEmbedder } from '../../embeddings/types.js';
import { describeError, UserError } from '../../errors.js';
import type { Paper } from '../../papers/paper.js';
import { normalizeTitle } from '../../papers/paper.js';
import { definedOnly } from '../../util/options.js';
import type {
  AddOptions,
  AddResult,
  BulkGraph,
  CheckpointOptions,
  Library,
  LibraryStats,
  RetrievedPaper,
  TermStatistics,
  PaperMatch,
} from '../library.js';
import { resolvePaper, suggestPapers } from '../lookup.js';
import { GraphWorker } from './bulkGraph.js';
import { adoptCheckpoint, checkpointDue, checkpointNow, loadVectors } from './checkpoints.js';
import { DATABASE_FILE, type Statements } from './database.js';
import { hnswlibBuild, simdSettingOf } from './hnswlib.js';
import type { LexicalIndex } from './lexicalIndex.js';
import type { NameIndex, NameMatch } from './names.js';
import { load, unusableDataDir } from './open.js';
import { corruptionReason, isCorruption, markDamaged } from './recovery.js';
import { bytesUnder } from './storage.js';
import {
  checkpointRecord,
  DEFAULT_LIBRARY_OPTIONS,
  takeInLatest,
  withWriteLock,
  type PaperLibraryOptions,
  type SqliteLibraryState,
} from './state.js';
import { addPapers } from './writes.js';
import type { VectorIndex } from './vectorIndex.js';

export { DEFAULT_LIBRARY_OPTIONS, type PaperLibraryOptions, type SaveStep } from './state.js';
export { DATABASE_FILE, openLibraryDatabase } from './database.js';
export { storedStats } from './storedStats.js';
export type { AddOptions, AddResult, LibraryStats, PaperMatch, PreparedPaper } from '../library.js';
export type { NameMatch };

/**
 * The local paper library: papers and their metadata in SQLite (`library/library.db`), with their vectors, the
 * lexical index and the name index in the same database, and an HNSW graph over the vectors held in memory and
 * checkpointed to `library/vectors-*.hnsw`. A commit is one SQLite transaction, so adding k papers writes O(k) and
 * a process killed at any moment leaves every committed paper exactly once. Several processes share one library:
 * writes take `write.lock` in turn, and every read first takes in what other processes committed.
 */
export class PaperLibrary implements Library {
  private readonly state: SqliteLibraryState;
  /**
   * The graph is not in this thread: a bulk ingest's worker thread holds it (see `startBulkGraph`), or it was not
   * loaded at open (`deferGraph`). A vector search here loads it.
   */
  private graphDetached: boolean;
  private graphLoading: Promise<void> | undefined;
  /** A read met damage and said so (once per process). */
  private damageReported = false;
  private opening = true;
  private writeQueue: Promise<unknown> = Promise.resolve();

  private constructor(options: PaperLibraryOptions) {
    this.state = {
      options: { ...DEFAULT_LIBRARY_OPTIONS, ...definedOnly(options) },
      directory: path.join(options.dataDir, 'library'),
      db: undefined as unknown as Database.Database,
      statements: undefined as unknown as Statements,
      lexical: undefined as unknown as LexicalIndex,
      names: undefined as unknown as NameIndex,
      vectors: undefined,
      dataVersion: -1,
      unusableVectors: 0,
      paperCount: 0,
      nextSeq: 0,
      holdingWriteLock: false,
      closed: false,
    };
    this.graphDetached = this.state.options.deferGraph;
  }

  static async open(options: PaperLibraryOptions): Promise<PaperLibrary> {
    const library = new PaperLibrary(options);
    await mkdir(library.state.directory, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw unusableDataDir(options.dataDir, error);
    });
    try {
      await load(library.state);
    } catch (error) {
      library.state.db?.close();
      throw error;
    }
    library.opening = false;
    return library;
  }

  get embedder(): PaperEmbedder {
    return this.state.options.embedder;
  }

  get size(): number {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.state.paperCount;
    });
  }

  get(id: string): Paper | undefined {
    return this.guarded(() => {
      takeInLatest(this.state);
      const row = this.state.statements.byId.get(id);
      return row && (JSON.parse(row.paper) as Paper);
    });
  }

  /** The paper with this normalized title (see `normalizeTitle`). */
  getByTitle(title: string): Paper | undefined {
    return this.guarded(() => {
      takeInLatest(this.state);
      const row = this.state.statements.byTitle.get(normalizeTitle(title));
      return row && (JSON.parse(row.paper) as Paper);
    });
  }

  /** The first `limit` papers in the order they were added. */
  first(limit: number): Paper[] {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.state.statements.first.all(limit).map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Every paper in the order they were added. O(library): for evaluation and exports, never per query. */
  all(): Paper[] {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.state.statements.all.all().map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Adds papers, embedding only the new ones, and commits them in one transaction. */
  add(papers: readonly Paper[], options: AddOptions = {}): Promise<AddResult> {
    if (this.state.options.readOnly) return Promise.reject(new Error('this paper library was opened read-only'));
    return this.serialized(() => addPapers(this.state, papers, options)).catch((error: unknown) => {
      throw this.asDamage(error);
    });
  }

  /** Best first; score is cosine similarity (higher is closer). */
  async vectorSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    if (k <= 0 || this.size === 0) return [];
    return this.vectorSearchByVector(await this.embedder.embeddings.embedQuery(query), k);
  }

  /** As `vectorSearch`, paper ids only: a retriever fusing 100 candidates reads only the papers it returns. */
  async vectorMatches(query: string, k: number): Promise<PaperMatch[]> {
    if (k <= 0 || this.size === 0) return [];
    const vector = await this.embedder.embeddings.embedQuery(query);
    const graph = await this.graph();
    return this.guarded(() => (graph ? this.withIds(graph.search(vector, k)) : []));
  }

  /** As `lexicalSearch`, paper ids only. */
  lexicalMatches(query: string, k: number): PaperMatch[] {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.withIds(this.state.lexical.search(query, k));
    });
  }

  /** The papers with these ids, in that order; ids not in the library are skipped. */
  getMany(ids: readonly string[]): Paper[] {
    return this.guarded(() => {
      if (ids.length === 0) return [];
      takeInLatest(this.state);
      const rows = this.state.statements.byIds.all(JSON.stringify(ids));
      const papers = new Map(rows.map((row) => [row.id, row.paper]));
      return ids.flatMap((id) => {
        const text = papers.get(id);
        return text === undefined ? [] : [JSON.parse(text) as Paper];
      });
    });
  }

  /** Nearest papers to an embedded query, best first; score is cosine similarity. */
  async vectorSearchByVector(vector: readonly number[], k: number): Promise<RetrievedPaper[]> {
    const graph = k > 0 ? await this.graph() : undefined;
    return this.guarded(() => (graph ? this.withPapers(graph.search(vector, k)) : []));
  }

  /** Best first; score is the lexical index's BM25 relevance. */
  lexicalSearch(query: string, k: number): RetrievedPaper[] {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.withPapers(this.state.lexical.search(query, k));
    });
  }

  /** Papers containing an analyzed term (see `stemmedTerms`): the term statistics ranking and abstention share. */
  documentFrequency(term: string): number {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.state.lexical.documentFrequency(term);
    });
  }

  count(): number {
    return this.size;
  }

  /** From the lexical index that ranks: the papers holding each term, and how many papers it indexes. */
  termStatistics(terms: readonly string[]): TermStatistics {
    return this.guarded(() => {
      takeInLatest(this.state);
      return {
        documents: this.state.paperCount,
        frequencies: new Map(terms.map((term) => [term, this.state.lexical.documentFrequency(term)])),
      };
    });
  }

  suggest(query: string, limit: number): Paper[] {
    return suggestPapers(this, query, limit);
  }

  resolve(nameOrId: string): Paper {
    return resolvePaper(this, nameOrId);
  }

  /** The newest `limit` papers, newest first. */
  recent(limit: number): Paper[] {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.state.statements.latest.all(limit).map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Every read takes in other processes' commits already; this does it now (a worker thread before each task). */
  async refresh(): Promise<void> {
    this.guarded(() => takeInLatest(this.state));
  }

  /**
   * Runs a read; if SQLite finds the database damaged, leaves a marker so that the next start repairs it, warns once
   * and throws a UserError saying to restart (the repair needs the file to itself: other processes have it open).
   */
  private guarded<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw this.asDamage(error);
    }
  }

  /** A corruption error met after opening, said once and turned into a UserError; any other error as it is. */
  private asDamage(error: unknown): unknown {
    // While opening, damage is repaired right away (see `load`).
    if (!isCorruption(error) || this.opening || error instanceof UserError) return error;
    const file = path.join(this.state.directory, DATABASE_FILE);
    const reason = corruptionReason(error);
    if (!this.damageReported) {
      this.damageReported = true;
      markDamaged(this.state.directory, reason);
      this.state.options.logger.warn(
        `the library database ${file} is damaged (${reason}); it will be repaired from what is stored at the next start`,
      );
    }
    return new UserError(
      `the library database is damaged (${reason}); restart papercord to repair it from what is stored`,
      { cause: error },
    );
  }

  /** Resolves while the database can be read; for /healthz. */
  async ping(): Promise<void> {
    if (this.state.closed) throw new Error('the paper library is closed');
    this.guarded(() => this.state.statements.maxSeq.get());
  }

  /** Papers whose title or abstract has the words typed (prefixes, small typos), best first: for paper lookup. */
  matchNames(query: string, options: { all: boolean; limit: number }): Array<{ paper: Paper; score: number }> {
    return this.guarded(() => {
      takeInLatest(this.state);
      return this.withPapers(this.state.names.match(query, options));
    });
  }

  async stats(): Promise<LibraryStats> {
    takeInLatest(this.state);
    const checkpointed = checkpointRecord(this.state)?.throughSeq ?? -1;
    return {
      papers: this.state.paperCount,
      vectors: this.state.statements.vectorCount.get()!.count,
      embedder: this.embedder.id,
      embedderDescription: this.embedder.description,
      dimension: this.embedder.dimension,
      bytesOnDisk: await bytesUnder(this.state.directory),
      vectorsSinceCheckpoint: Math.max(0, this.state.nextSeq - 1 - checkpointed),
      directory: this.state.directory,
    };
  }

  /**
   * Writes the HNSW graph to disk when vectors were added since the last checkpoint, so the next open has none
   * to add again; with `whenDue`, only once `checkpointEvery` vectors have been. Also merges the lexical index's
   * posting rows.
   */
  checkpoint(options: CheckpointOptions = {}): Promise<void> {
    return this.serialized(() =>
      withWriteLock(this.state, async () => {
        if (options.whenDue) {
          takeInLatest(this.state);
          if (!checkpointDue(this.state)) return;
        }
        await checkpointNow(this.state);
      }),
    );
  }

  /**
   * Hands the HNSW graph to a worker thread for a bulk ingest: commits stop adding to this thread's graph (it is let
   * go, and loaded again by the next vector search here), the worker adds each commit's vectors beside the next
   * commit, and `finish` records the worker's checkpoint. Undefined, with a warning, when the worker cannot start:
   * the ingest then adds to the graph on this thread as any commit does.
   */
  startBulkGraph(): Promise<BulkGraph | undefined> {
    if (this.state.options.readOnly) return Promise.resolve(undefined);
    return this.serialized(async () => {
      takeInLatest(this.state);
      let worker: GraphWorker;
      try {
        worker = await GraphWorker.start({
          directory: this.state.directory,
          databaseFile: path.join(this.state.directory, DATABASE_FILE),
          dimension: this.embedder.dimension,
          efSearch: this.state.options.efSearch,
          efConstruction: this.state.options.efConstruction,
          record: checkpointRecord(this.state),
          simd: simdSettingOf(hnswlibBuild().name),
        });
      } catch (error) {
        this.state.options.logger.warn(
          `bulk ingest adds to the vector index on the main thread: the graph worker could not start (${describeError(error)})`,
        );
        return undefined;
      }
      this.state.vectors = undefined;
      this.graphDetached = true;
      return {
        committed: () => worker.committed(),
        finish: () => this.serialized(() => withWriteLock(this.state, () => adoptCheckpoint(this.state, worker))),
      };
    });
  }

  /**
   * Waits for queued writes and closes the database; the embedder belongs to whoever created it. Writes no
   * checkpoint: a process that added fewer vectors than `checkpointEvery` leaves them to be replayed by the next open
   * (a commit that crosses the threshold has already checkpointed), so a short run that adds a few papers to a large
   * library does not rewrite the whole graph.
   */
  async close(): Promise<void> {
    if (this.state.closed) return;
    this.state.closed = true;
    await this.writeQueue.catch(() => undefined);
    this.state.db.close();
  }

  /** The graph with every committed vector, loaded again first when a bulk ingest's worker had it. */
  private async graph(): Promise<VectorIndex | undefined> {
    this.guarded(() => takeInLatest(this.state));
    if (this.graphDetached && !this.state.vectors) {
      this.graphLoading ??= loadVectors(this.state).finally(() => {
        this.graphLoading = undefined;
      });
      await this.graphLoading;
      this.graphDetached = false;
    }
    return this.state.vectors;
  }

  private withIds(hits: ReadonlyArray<{ seq: number; score: number }>): PaperMatch[] {
    if (hits.length === 0) return [];
    const ids = new Map(
      this.state.statements.idsBySeqs.all(JSON.stringify(hits.map((hit) => hit.seq))).map((row) => [row.seq, row.id]),
    );
    return hits.flatMap((hit) => {
      const id = ids.get(hit.seq);
      return id === undefined ? [] : [{ id, score: hit.score }];
    });
  }

  private withPapers<T extends { seq: number; score: number }>(hits: readonly T[]): RetrievedPaper[] {
    if (hits.length === 0) return [];
    const rows = this.state.statements.bySeqs.all(JSON.stringify(hits.map((hit) => hit.seq)));
    const papers = new Map(rows.map((row) => [row.seq, row.paper]));
    const found: RetrievedPaper[] = [];
    for (const hit of hits) {
      const text = papers.get(hit.seq);
      if (text !== undefined) found.push({ paper: JSON.parse(text) as Paper, score: hit.score });
    }
    return found;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.state.closed) return Promise.reject(new Error('the paper library is closed'));
    const result = this.writeQueue.then(work);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }
}
