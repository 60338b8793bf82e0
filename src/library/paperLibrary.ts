import { definedOnly } from '../util/options.js';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeEmbedder, type PaperEmbedder } from '../embeddings/types.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { normalizeTitle, type Paper } from '../papers/paper.js';
import { analyzePaper, type AnalyzedPaper } from '../text/analysis.js';
import { LEXICAL_FORMAT, LexicalIndex } from './lexicalIndex.js';
import { migrateGenerations, hasGenerations } from './migration.js';
import { NameIndex, type NameMatch } from './names.js';
import { acquireWriteLock, bytesUnder } from './storage.js';
import { GraphWorker } from './bulkGraph.js';
import { hnswlibBuild, simdSettingOf } from './hnswlib.js';
import type { AddResult, BulkGraph, Library, LibraryStats, RetrievedPaper, TermStatistics } from './library.js';
import { resolvePaper, suggestPapers } from './lookup.js';
import { paperEmbeddingText } from './paperText.js';
import { embedPapers, planAdd, vectorsOfNewPapers } from './addPlan.js';
import {
  DEFAULT_EF_CONSTRUCTION,
  isCheckpointFile,
  removeFile,
  VectorIndex,
  type CheckpointRecord,
} from './vectorIndex.js';
import {
  corruptionReason,
  finishInterruptedRecovery,
  findDamage,
  isCorruption,
  LibraryDamagedError,
  markDamaged,
  RECOVERED_SUFFIX,
  salvage,
  swapInRecovered,
  type SalvagedLibrary,
} from './recovery.js';

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
   * (hundreds of MB at 100,000 papers), so it is not done on every commit. Closing a library that added papers
   * checkpoints too.
   */
  checkpointEvery?: number;
  /**
   * For processes and worker threads that only search: never writes, upgrades or checkpoints (the writer does),
   * still takes in what other processes commit. `add` rejects.
   */
  readOnly?: boolean;
  /** Test hook, called at each step of a write. */
  onSaveStep?: (step: SaveStep) => void | Promise<void>;
}

export const DEFAULT_LIBRARY_OPTIONS = Object.freeze({
  embedBatchSize: 32,
  efSearch: 128,
  efConstruction: DEFAULT_EF_CONSTRUCTION,
  lockTimeoutMs: 30_000,
  checkpointEvery: 1_000,
  readOnly: false,
});

export type { LibraryStats } from './library.js';

/** A paper found by a search, by id; score as the search defines it. */
export interface PaperMatch {
  id: string;
  score: number;
}

export type { AddResult } from './library.js';

export interface AddOptions {
  signal?: AbortSignal;
  /**
   * Whether this commit may write an HNSW checkpoint when enough has changed (default true). A bulk ingest
   * passes false and checkpoints once at the end, instead of rewriting the graph every `checkpointEvery` papers.
   */
  checkpoint?: boolean;
  /** Vectors and analyses computed elsewhere (a worker thread), by paper id; the rest are computed here. */
  prepared?: ReadonlyMap<string, PreparedPaper>;
}

/** What a paper needs before it can be committed: its vector and its analyzed text. */
export interface PreparedPaper {
  vector: ArrayLike<number>;
  analyzed: AnalyzedPaper;
}

export const DATABASE_FILE = 'library.db';
/** Bumped when the schema changes incompatibly. */
const DATABASE_FORMAT = '2';

export { paperEmbeddingText };

/** DATA_DIR pointing at a file or a folder we may not write is the user's to fix, so it is said in their terms. */
function unusableDataDir(dataDir: string, error: NodeJS.ErrnoException): Error {
  const reasons: Record<string, string> = {
    ENOTDIR: 'a file is in the way, not a folder',
    EEXIST: 'a file is in the way, not a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
  };
  const reason = error.code === undefined ? undefined : reasons[error.code];
  if (!reason) return error;
  return new UserError(
    `DATA_DIR ${dataDir} cannot hold the library (${reason}); set DATA_DIR to a folder papercord can write`,
    { cause: error },
  );
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS papers (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title_key TEXT NOT NULL, paper TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS papers_by_title ON papers (title_key);
  -- Search hits are sequence numbers; their ids come from this index's small pages instead of the papers' rows (two
  -- abstracts a page), half the time of a query's id lookups at 100,000 papers. Built on the first open of an older library.
  CREATE INDEX IF NOT EXISTS papers_ids_by_seq ON papers (seq, id);
  CREATE TABLE IF NOT EXISTS vectors (seq INTEGER PRIMARY KEY, vector BLOB NOT NULL);
`;

function vectorBlob(vector: ArrayLike<number>): Buffer {
  return Buffer.from(Float32Array.from(vector).buffer);
}

function blobVector(blob: Buffer): Float32Array {
  return new Float32Array(new Uint8Array(blob).buffer);
}

/** Opens (creating) the library database with the settings every process must share. */
export function openLibraryDatabase(file: string): Database.Database {
  const db = new Database(file);
  // Readers never block the writer nor see a half commit; a killed writer's transaction is rolled back on open.
  db.pragma('journal_mode = WAL');
  // A committed paper survives a crash of the machine, not only of the process.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 30000');
  db.exec(SCHEMA);
  return db;
}

interface Statements {
  meta: Database.Statement<[string], { value: string }>;
  setMeta: Database.Statement<[string, string]>;
  byId: Database.Statement<[string], { seq: number; paper: string }>;
  byTitle: Database.Statement<[string], { seq: number; paper: string }>;
  bySeq: Database.Statement<[number], { paper: string }>;
  bySeqs: Database.Statement<[string], { seq: number; paper: string }>;
  idsBySeqs: Database.Statement<[string], { seq: number; id: string }>;
  byIds: Database.Statement<[string], { id: string; paper: string }>;
  maxSeq: Database.Statement<[], { seq: number | null }>;
  insertPaper: Database.Statement<[number, string, string, string]>;
  updatePaper: Database.Statement<[string, string]>;
  insertVector: Database.Statement<[number, Buffer]>;
  vectorsAfter: Database.Statement<[number], { seq: number; vector: Buffer }>;
  vectorCount: Database.Statement<[], { count: number }>;
  first: Database.Statement<[number], { paper: string }>;
  latest: Database.Statement<[number], { paper: string }>;
  all: Database.Statement<[], { paper: string }>;
}

/**
 * The local paper library: papers and their metadata in SQLite (`library/library.db`), with their vectors, the
 * lexical index and the name index in the same database, and an HNSW graph over the vectors held in memory and
 * checkpointed to `library/vectors-*.hnsw`. A commit is one SQLite transaction, so adding k papers writes O(k) and
 * a process killed at any moment leaves every committed paper exactly once. Several processes share one library:
 * writes take `write.lock` in turn, and every read first takes in what other processes committed.
 */
export class PaperLibrary implements Library {
  private readonly options: Required<Omit<PaperLibraryOptions, 'onSaveStep'>> & Pick<PaperLibraryOptions, 'onSaveStep'>;
  private readonly directory: string;
  private db!: Database.Database;
  private statements!: Statements;
  private lexical!: LexicalIndex;
  private names!: NameIndex;
  private vectors: VectorIndex | undefined;
  /** A bulk ingest's worker thread holds the graph (see `startBulkGraph`); a vector search here loads it again. */
  private graphDetached = false;
  private graphLoading: Promise<void> | undefined;
  private dataVersion = -1;
  /** Stored vectors of the wrong length met since the open began (see `repairVectors`). */
  private unusableVectors = 0;
  /** A read met damage and said so (once per process). */
  private damageReported = false;
  private opening = true;
  /** Papers visible to this process. */
  private paperCount = 0;
  private nextSeq = 0;
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** True while this library holds `write.lock` (a checkpoint inside an add must not wait for itself). */
  private holdingWriteLock = false;
  /** This process committed papers, so closing it checkpoints the graph. */
  private addedHere = false;
  private closed = false;

  private constructor(options: PaperLibraryOptions) {
    this.options = { ...DEFAULT_LIBRARY_OPTIONS, ...definedOnly(options) };
    this.directory = path.join(options.dataDir, 'library');
  }

  static async open(options: PaperLibraryOptions): Promise<PaperLibrary> {
    const library = new PaperLibrary(options);
    await mkdir(library.directory, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw unusableDataDir(options.dataDir, error);
    });
    try {
      await library.load();
    } catch (error) {
      library.db?.close();
      throw error;
    }
    library.opening = false;
    return library;
  }

  get embedder(): PaperEmbedder {
    return this.options.embedder;
  }

  get size(): number {
    return this.guarded(() => {
      this.takeInLatest();
      return this.paperCount;
    });
  }

  get(id: string): Paper | undefined {
    return this.guarded(() => {
      this.takeInLatest();
      const row = this.statements.byId.get(id);
      return row && (JSON.parse(row.paper) as Paper);
    });
  }

  /** The paper with this normalized title (see `normalizeTitle`). */
  getByTitle(title: string): Paper | undefined {
    return this.guarded(() => {
      this.takeInLatest();
      const row = this.statements.byTitle.get(normalizeTitle(title));
      return row && (JSON.parse(row.paper) as Paper);
    });
  }

  /** The first `limit` papers in the order they were added. */
  first(limit: number): Paper[] {
    return this.guarded(() => {
      this.takeInLatest();
      return this.statements.first.all(limit).map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Every paper in the order they were added. O(library): for evaluation and exports, never per query. */
  all(): Paper[] {
    return this.guarded(() => {
      this.takeInLatest();
      return this.statements.all.all().map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Adds papers, embedding only the new ones, and commits them in one transaction. */
  add(papers: readonly Paper[], options: AddOptions = {}): Promise<AddResult> {
    if (this.options.readOnly) return Promise.reject(new Error('this paper library was opened read-only'));
    return this.serialized(() => this.addNow(papers, options)).catch((error: unknown) => {
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
      this.takeInLatest();
      return this.withIds(this.lexical.search(query, k));
    });
  }

  /** The papers with these ids, in that order; ids not in the library are skipped. */
  getMany(ids: readonly string[]): Paper[] {
    return this.guarded(() => {
      if (ids.length === 0) return [];
      this.takeInLatest();
      const rows = this.statements.byIds.all(JSON.stringify(ids));
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
      this.takeInLatest();
      return this.withPapers(this.lexical.search(query, k));
    });
  }

  /** Papers containing an analyzed term (see `stemmedTerms`): the term statistics ranking and abstention share. */
  documentFrequency(term: string): number {
    return this.guarded(() => {
      this.takeInLatest();
      return this.lexical.documentFrequency(term);
    });
  }

  count(): number {
    return this.size;
  }

  /** From the lexical index that ranks: the papers holding each term, and how many papers it indexes. */
  termStatistics(terms: readonly string[]): TermStatistics {
    return this.guarded(() => {
      this.takeInLatest();
      return {
        documents: this.paperCount,
        frequencies: new Map(terms.map((term) => [term, this.lexical.documentFrequency(term)])),
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
      this.takeInLatest();
      return this.statements.latest.all(limit).map((row) => JSON.parse(row.paper) as Paper);
    });
  }

  /** Every read takes in other processes' commits already; this does it now (a worker thread before each task). */
  async refresh(): Promise<void> {
    this.guarded(() => this.takeInLatest());
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
    const file = path.join(this.directory, DATABASE_FILE);
    const reason = corruptionReason(error);
    if (!this.damageReported) {
      this.damageReported = true;
      markDamaged(this.directory, reason);
      this.options.logger.warn(
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
    if (this.closed) throw new Error('the paper library is closed');
    this.guarded(() => this.statements.maxSeq.get());
  }

  /** Papers whose title or abstract has the words typed (prefixes, small typos), best first: for paper lookup. */
  matchNames(query: string, options: { all: boolean; limit: number }): Array<{ paper: Paper; score: number }> {
    return this.guarded(() => {
      this.takeInLatest();
      return this.withPapers(this.names.match(query, options));
    });
  }

  /**
   * What the library in `dataDir` holds, as its database records it, read without an embedder and without loading
   * the HNSW graph (hundreds of MB at 100,000 papers) or the lexical index: what `papercord stats` shows. The
   * embedder is the one that built the library. Undefined when there is no library to read this way (no database,
   * no paper added yet, the old format, another database format): opening it then is cheap, or needed.
   */
  static async storedStats(dataDir: string): Promise<LibraryStats | undefined> {
    const directory = path.join(dataDir, 'library');
    const file = path.join(directory, DATABASE_FILE);
    if (!existsSync(file) || (await hasGenerations(directory))) return undefined;
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch {
      return undefined;
    }
    try {
      db.pragma('busy_timeout = 30000');
      const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
      const counted = db.transaction(() => ({
        format: meta.get('format')?.value,
        lexical: meta.get('lexical')?.value,
        embedder: meta.get('embedder')?.value,
        checkpoint: meta.get('checkpoint')?.value,
        // The papers the lexical index holds, as `size` counts them; a small table, unlike `papers`.
        papers: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM lexical_lengths').get()!.count,
        vectors: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM vectors').get()!.count,
        lastSeq: db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM papers').get()!.seq ?? -1,
      }))();
      if (
        counted.format !== DATABASE_FORMAT ||
        counted.lexical !== LEXICAL_FORMAT ||
        counted.embedder === undefined ||
        counted.papers === 0
      )
        return undefined;
      const [embedder, dimension] = counted.embedder.split('\t') as [string, string];
      const checkpointed =
        counted.checkpoint === undefined ? -1 : (JSON.parse(counted.checkpoint) as CheckpointRecord).throughSeq;
      return {
        papers: counted.papers,
        vectors: counted.vectors,
        embedder,
        embedderDescription: describeEmbedder(embedder, Number(dimension)),
        dimension: Number(dimension),
        bytesOnDisk: await bytesUnder(directory),
        vectorsSinceCheckpoint: Math.max(0, counted.lastSeq - checkpointed),
        directory,
      };
    } catch {
      // A table missing or unreadable: opening the library repairs it or says what is wrong.
      return undefined;
    } finally {
      db.close();
    }
  }

  async stats(): Promise<LibraryStats> {
    this.takeInLatest();
    const checkpointed = this.checkpointRecord()?.throughSeq ?? -1;
    return {
      papers: this.paperCount,
      vectors: this.statements.vectorCount.get()!.count,
      embedder: this.embedder.id,
      embedderDescription: this.embedder.description,
      dimension: this.embedder.dimension,
      bytesOnDisk: await bytesUnder(this.directory),
      vectorsSinceCheckpoint: Math.max(0, this.nextSeq - 1 - checkpointed),
      directory: this.directory,
    };
  }

  /**
   * Writes the HNSW graph to disk when vectors were added since the last checkpoint, so the next open has none
   * to add again. Also merges the lexical index's posting rows.
   */
  checkpoint(): Promise<void> {
    return this.serialized(() => this.withWriteLock(() => this.checkpointNow()));
  }

  /**
   * Hands the HNSW graph to a worker thread for a bulk ingest: commits stop adding to this thread's graph (it is let
   * go, and loaded again by the next vector search here), the worker adds each commit's vectors beside the next
   * commit, and `finish` records the worker's checkpoint. Undefined, with a warning, when the worker cannot start:
   * the ingest then adds to the graph on this thread as any commit does.
   */
  startBulkGraph(): Promise<BulkGraph | undefined> {
    if (this.options.readOnly) return Promise.resolve(undefined);
    return this.serialized(async () => {
      this.takeInLatest();
      let worker: GraphWorker;
      try {
        worker = await GraphWorker.start({
          directory: this.directory,
          databaseFile: path.join(this.directory, DATABASE_FILE),
          dimension: this.embedder.dimension,
          efSearch: this.options.efSearch,
          efConstruction: this.options.efConstruction,
          record: this.checkpointRecord(),
          simd: simdSettingOf(hnswlibBuild().name),
        });
      } catch (error) {
        this.options.logger.warn(
          `bulk ingest adds to the vector index on the main thread: the graph worker could not start (${describeError(error)})`,
        );
        return undefined;
      }
      this.vectors = undefined;
      this.graphDetached = true;
      return {
        committed: () => worker.committed(),
        finish: () => this.serialized(() => this.withWriteLock(() => this.adoptCheckpoint(worker))),
      };
    });
  }

  /** Waits for queued writes and checkpoints what this process added; the embedder belongs to whoever created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    const finalCheckpoint = this.addedHere
      ? this.checkpoint().catch((error: unknown) => {
          this.options.logger.warn(
            `could not checkpoint the vector index at close (${describeError(error)}); the next start adds the newest vectors again`,
          );
        })
      : Promise.resolve();
    this.closed = true;
    await finalCheckpoint;
    await this.writeQueue.catch(() => undefined);
    this.db.close();
  }

  /** The graph with every committed vector, loaded again first when a bulk ingest's worker had it. */
  private async graph(): Promise<VectorIndex | undefined> {
    this.guarded(() => this.takeInLatest());
    if (this.graphDetached && !this.vectors) {
      this.graphLoading ??= this.loadVectors().finally(() => {
        this.graphLoading = undefined;
      });
      await this.graphLoading;
      this.graphDetached = false;
    }
    return this.vectors;
  }

  /** Records the bulk-ingest worker's checkpoint (under the write lock, so no other writer removes its file first). */
  private async adoptCheckpoint(worker: GraphWorker): Promise<void> {
    try {
      this.takeInLatest();
      const record = await worker.checkpoint();
      if (!record) return;
      if (record.throughSeq <= (this.checkpointRecord()?.throughSeq ?? -1)) {
        await removeFile(path.join(this.directory, record.file));
        return;
      }
      this.statements.setMeta.run('checkpoint', JSON.stringify(record));
      await this.options.onSaveStep?.('checkpoint');
      await this.removeStaleCheckpoints(record.file);
    } catch (error) {
      this.options.logger.warn(
        `could not checkpoint the vector index after the ingest (${describeError(error)}); the next start adds the newest vectors again`,
      );
    } finally {
      await worker.close();
    }
  }

  private withIds(hits: ReadonlyArray<{ seq: number; score: number }>): PaperMatch[] {
    if (hits.length === 0) return [];
    const ids = new Map(
      this.statements.idsBySeqs.all(JSON.stringify(hits.map((hit) => hit.seq))).map((row) => [row.seq, row.id]),
    );
    return hits.flatMap((hit) => {
      const id = ids.get(hit.seq);
      return id === undefined ? [] : [{ id, score: hit.score }];
    });
  }

  private withPapers<T extends { seq: number; score: number }>(hits: readonly T[]): RetrievedPaper[] {
    if (hits.length === 0) return [];
    const rows = this.statements.bySeqs.all(JSON.stringify(hits.map((hit) => hit.seq)));
    const papers = new Map(rows.map((row) => [row.seq, row.paper]));
    const found: RetrievedPaper[] = [];
    for (const hit of hits) {
      const text = papers.get(hit.seq);
      if (text !== undefined) found.push({ paper: JSON.parse(text) as Paper, score: hit.score });
    }
    return found;
  }

  /**
   * Takes in what other processes committed since the last look (cheap when nothing changed: one pragma). Runs
   * inside a read transaction, so what it reads is one commit's state.
   */
  private takeInLatest(): void {
    if (this.closed) return;
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.db.transaction(() => this.takeInCommitted())();
  }

  private takeInCommitted(): void {
    this.lexical.refresh();
    this.paperCount = this.lexical.size;
    this.nextSeq = (this.statements.maxSeq.get()?.seq ?? -1) + 1;
    if (this.vectors) this.vectors.add(this.vectorRowsAfter(this.vectors.throughSeq));
  }

  /** Stored vectors after `seq`; one of the wrong length (a damaged database) is skipped and counted, never given to hnswlib. */
  private *vectorRowsAfter(seq: number): Generator<{ seq: number; vector: Float32Array }> {
    const bytes = this.embedder.dimension * 4;
    for (const row of this.statements.vectorsAfter.iterate(seq)) {
      if (row.vector.length !== bytes) {
        this.unusableVectors += 1;
        continue;
      }
      yield { seq: row.seq, vector: blobVector(row.vector) };
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the paper library is closed'));
    const result = this.writeQueue.then(work);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  private async withWriteLock<T>(
    work: () => Promise<T>,
    signal?: AbortSignal,
    timeoutMs = this.options.lockTimeoutMs,
  ): Promise<T> {
    if (this.holdingWriteLock) return work();
    const lock = await acquireWriteLock(this.directory, { timeoutMs, signal });
    this.holdingWriteLock = true;
    try {
      return await work();
    } finally {
      this.holdingWriteLock = false;
      await lock.release();
    }
  }

  private addNow(incoming: readonly Paper[], options: AddOptions): Promise<AddResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    return this.withWriteLock(async () => {
      // Another process (the bot, a CLI ingest) may have committed since: dedupe against the newest library.
      this.takeInLatest();
      const plan = planAdd(incoming, (paper) => {
        const row = this.statements.byId.get(paper.id) ?? this.statements.byTitle.get(normalizeTitle(paper.title));
        return row && (JSON.parse(row.paper) as Paper);
      });
      const result = { added: plan.fresh, existing: plan.existing, stored: plan.stored };
      if (plan.fresh.length === 0 && plan.updates.length === 0) return result;

      const vectors = await vectorsOfNewPapers(plan.fresh, options.prepared, this.embedding(signal));
      signal?.throwIfAborted();
      await this.options.onSaveStep?.('embedded');
      this.db.transaction(() => {
        for (const paper of plan.updates) this.statements.updatePaper.run(JSON.stringify(paper), paper.id);
        this.insertNew(
          plan.fresh.map((paper, index) => ({
            paper,
            prepared: {
              vector: vectors[index]!,
              analyzed: options.prepared?.get(paper.id)?.analyzed ?? analyzePaper(paper),
            },
          })),
        );
      })();
      // In the same synchronous step as the commit: no reader in this process sees the database and memory disagree.
      this.takeInCommitted();
      if (plan.fresh.length > 0) this.addedHere = true;
      await this.options.onSaveStep?.('commit');
      if (options.checkpoint !== false && this.vectorsSinceCheckpoint() >= this.options.checkpointEvery)
        await this.checkpointNow();
      return result;
    }, signal);
  }

  /** Inserts new papers with everything derived from them; call inside a transaction. */
  private insertNew(entries: ReadonlyArray<{ paper: Paper; prepared: PreparedPaper }>): void {
    if (entries.length === 0) return;
    let seq = (this.statements.maxSeq.get()?.seq ?? -1) + 1;
    const rows = entries.map((entry) => ({ ...entry, seq: seq++ }));
    for (const { paper, seq: paperSeq, prepared } of rows) {
      this.statements.insertPaper.run(paperSeq, paper.id, normalizeTitle(paper.title), JSON.stringify(paper));
      this.statements.insertVector.run(paperSeq, vectorBlob(prepared.vector));
    }
    this.lexical.add(rows.map((row) => ({ seq: row.seq, analyzed: row.prepared.analyzed })));
    this.names.add(rows);
  }

  private embedding(signal?: AbortSignal) {
    const { embedder, embedBatchSize, logger } = this.options;
    return { embedder, batchSize: embedBatchSize, logger, ...(signal ? { signal } : {}) };
  }

  private embedPapers(papers: readonly Paper[]): Promise<number[][]> {
    return embedPapers(papers, this.embedding());
  }

  private checkpointRecord(): CheckpointRecord | undefined {
    const value = this.statements.meta.get('checkpoint')?.value;
    return value === undefined ? undefined : (JSON.parse(value) as CheckpointRecord);
  }

  private vectorsSinceCheckpoint(): number {
    if (!this.vectors) return 0;
    return this.vectors.throughSeq - (this.checkpointRecord()?.throughSeq ?? -1);
  }

  /** `rewrite`: the recorded checkpoint is unusable, so write one even when it claims to be up to date. */
  private async checkpointNow(rewrite = false): Promise<void> {
    this.takeInLatest();
    this.lexical.compact();
    const vectors = this.vectors;
    if (!vectors || vectors.count === 0) return;
    const recorded = this.checkpointRecord();
    if (!rewrite && recorded && recorded.throughSeq >= vectors.throughSeq) return;
    const record = await vectors.writeCheckpoint(this.directory, () => this.options.onSaveStep?.('checkpoint-written'));
    this.statements.setMeta.run('checkpoint', JSON.stringify(record));
    await this.options.onSaveStep?.('checkpoint');
    await this.removeStaleCheckpoints(record.file);
  }

  /** Checkpoint files other than the recorded one, and temporary files of checkpoints that never finished. */
  private async removeStaleCheckpoints(keep: string): Promise<void> {
    for (const name of await readdir(this.directory)) {
      if (name !== keep && isCheckpointFile(name)) await removeFile(path.join(this.directory, name));
    }
  }

  /** Opens the database (upgrading a library of the old format first) and the HNSW graph, repairing what it must. */
  private async load(): Promise<void> {
    const { logger, embedder, readOnly } = this.options;
    if (await hasGenerations(this.directory)) {
      if (readOnly)
        throw new Error(`the library in ${this.directory} has the old format; open it read-write once to upgrade it`);
      await this.withWriteLock(() =>
        migrateGenerations({
          directory: this.directory,
          embedder,
          logger,
          efSearch: this.options.efSearch,
          onStep: this.options.onSaveStep,
          createDatabase: (file) => this.attach(file),
        }),
      );
    }
    const file = path.join(this.directory, DATABASE_FILE);
    if (this.db) {
      await this.loadDatabase(file);
      return;
    }
    await finishInterruptedRecovery(file);
    try {
      await this.loadDatabase(file);
    } catch (error) {
      if (!isCorruption(error)) throw error;
      this.detach();
      if (readOnly)
        throw new UserError(
          `the library database ${file} is damaged (${corruptionReason(error)}); open it read-write once to repair it`,
        );
      await this.withWriteLock(async () => {
        // Another process may have repaired it while this one waited for the lock.
        try {
          await this.loadDatabase(file);
        } catch (again) {
          if (!isCorruption(again)) throw again;
          this.detach();
          await this.recover(file, corruptionReason(again));
          await this.loadDatabase(file);
        }
      });
    }
  }

  /** Opens the database and the HNSW graph; throws what SQLite says (or LibraryDamagedError) when the file is damaged. */
  private async loadDatabase(file: string): Promise<void> {
    const { logger, embedder, readOnly } = this.options;
    if (!this.db) {
      const damage = await findDamage(this.directory, file);
      if (damage) throw new LibraryDamagedError(damage);
      this.attach(file);
    }
    this.takeInLatest();

    const storedEmbedder = this.statements.meta.get('embedder')?.value;
    const current = `${embedder.id}\t${embedder.dimension}`;
    if (storedEmbedder === undefined) {
      if (!readOnly) this.statements.setMeta.run('embedder', current);
    } else if (storedEmbedder !== current) {
      if (readOnly)
        throw new Error(
          `the library was embedded by ${storedEmbedder.split('\t')[0]}, not ${embedder.id}; open it read-write once to re-embed it`,
        );
      const [id, dimension] = storedEmbedder.split('\t');
      logger.warn(
        `the library index was built by embedder ${id} (${dimension} dimensions), ` +
          `now configured: ${embedder.id} (${embedder.dimension} dimensions); re-embedding ${this.paperCount} papers`,
      );
      await this.withWriteLock(() => this.reembedAll());
      return;
    }
    await this.loadVectors();
  }

  /** Closes the database after a failed open, so that it can be repaired and opened again. */
  private detach(): void {
    try {
      this.db?.close();
    } catch {
      // Already unusable.
    }
    this.db = undefined as unknown as Database.Database;
    this.vectors = undefined;
    this.dataVersion = -1;
    this.paperCount = 0;
    this.nextSeq = 0;
  }

  /**
   * Copies the papers and vectors SQLite can still read from a damaged database into a new one, embedding the papers
   * whose vectors are lost; the derived indexes are rebuilt as the papers are inserted. One warning says what was
   * recovered and where the damaged file is kept; nothing readable is a UserError saying what to do.
   */
  private async recover(file: string, reason: string): Promise<void> {
    const { embedder, logger } = this.options;
    let salvaged: SalvagedLibrary;
    try {
      salvaged = salvage(file, embedder.dimension);
    } catch (error) {
      if (!isCorruption(error)) throw error;
      salvaged = { papers: [], lost: 0 };
    }
    if (salvaged.papers.length === 0) {
      throw new UserError(
        `the library database ${file} is damaged (${reason}) and no paper in it can be read; ` +
          'move it away (it is the only copy of the library) and run `papercord ingest` again',
      );
    }
    const sameEmbedder = salvaged.embedder === `${embedder.id}\t${embedder.dimension}`;
    const missing = salvaged.papers.filter((entry) => !sameEmbedder || !entry.vector).map((entry) => entry.paper);
    const vectors = missing.length > 0 ? await this.embedPapers(missing) : [];
    const fresh = new Map(missing.map((paper, index) => [paper, vectors[index]!]));
    // Dedupe as a commit would: a damaged unique index may have let a paper in twice.
    const seen = new Set<string>();
    const entries = salvaged.papers.flatMap(({ paper, vector }) => {
      const keys = [paper.id, normalizeTitle(paper.title)];
      if (keys.some((key) => seen.has(key))) return [];
      keys.forEach((key) => seen.add(key));
      return [{ paper, prepared: { vector: fresh.get(paper) ?? vector!, analyzed: analyzePaper(paper) } }];
    });
    const recoveredFile = `${file}${RECOVERED_SUFFIX}`;
    await rm(recoveredFile, { force: true });
    const db = this.attach(recoveredFile);
    this.statements.setMeta.run('embedder', `${embedder.id}\t${embedder.dimension}`);
    db.transaction(() => this.insertNew(entries))();
    // Self-contained before the swap: no -wal beside it.
    db.pragma('wal_checkpoint(TRUNCATE)');
    this.detach();
    await this.options.onSaveStep?.('recovered');
    for (const name of await readdir(this.directory)) {
      if (isCheckpointFile(name)) await removeFile(path.join(this.directory, name));
    }
    const kept = await swapInRecovered(this.directory, file);
    logger.warn(
      `the library database ${file} is damaged (${reason}); recovered ${entries.length} papers into a new one ` +
        `(${entries.length - missing.length} vectors kept, ${missing.length} papers embedded again` +
        `${salvaged.lost > 0 ? `, ${salvaged.lost} unreadable rows lost` : ''}); the damaged file is kept as ${kept}`,
    );
  }

  private attach(file: string): Database.Database {
    let db: Database.Database;
    try {
      db = openLibraryDatabase(file);
    } catch (error) {
      throw new UserError(
        `the library database ${file} cannot be opened (${describeError(error)}); move it away and ingest again`,
        { cause: error },
      );
    }
    this.db = db;
    this.statements = {
      meta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      byId: db.prepare('SELECT seq, paper FROM papers WHERE id = ?'),
      byTitle: db.prepare('SELECT seq, paper FROM papers WHERE title_key = ? ORDER BY seq LIMIT 1'),
      bySeq: db.prepare('SELECT paper FROM papers WHERE seq = ?'),
      bySeqs: db.prepare('SELECT seq, paper FROM papers WHERE seq IN (SELECT value FROM json_each(?))'),
      // The planner prefers the rowid; the covering index reads far fewer pages.
      idsBySeqs: db.prepare(
        'SELECT seq, id FROM papers INDEXED BY papers_ids_by_seq WHERE seq IN (SELECT value FROM json_each(?))',
      ),
      byIds: db.prepare('SELECT id, paper FROM papers WHERE id IN (SELECT value FROM json_each(?))'),
      maxSeq: db.prepare('SELECT max(seq) AS seq FROM papers'),
      insertPaper: db.prepare('INSERT INTO papers (seq, id, title_key, paper) VALUES (?, ?, ?, ?)'),
      updatePaper: db.prepare('UPDATE papers SET paper = ? WHERE id = ?'),
      insertVector: db.prepare('INSERT INTO vectors (seq, vector) VALUES (?, ?)'),
      vectorsAfter: db.prepare('SELECT seq, vector FROM vectors WHERE seq > ? ORDER BY seq'),
      vectorCount: db.prepare('SELECT count(*) AS count FROM vectors'),
      first: db.prepare('SELECT paper FROM papers ORDER BY seq LIMIT ?'),
      latest: db.prepare('SELECT paper FROM papers ORDER BY seq DESC LIMIT ?'),
      all: db.prepare('SELECT paper FROM papers ORDER BY seq'),
    };
    this.lexical = new LexicalIndex(db);
    this.names = new NameIndex(db);
    const format = this.statements.meta.get('format')?.value;
    if (format === undefined && !this.options.readOnly) this.statements.setMeta.run('format', DATABASE_FORMAT);
    else if (format !== undefined && format !== DATABASE_FORMAT)
      throw new UserError(
        `the library database ${file} has format ${format}, this papercord reads ${DATABASE_FORMAT}; upgrade papercord`,
      );
    if (this.statements.meta.get('lexical')?.value === undefined && !this.options.readOnly)
      this.statements.setMeta.run('lexical', LEXICAL_FORMAT);
    return db;
  }

  /**
   * The graph from its checkpoint plus the vectors committed after it. A checkpoint that is missing, truncated or
   * corrupted is rebuilt from the stored vectors (no re-embedding), with one warning.
   */
  private async loadVectors(): Promise<void> {
    const { efSearch, logger } = this.options;
    let record = this.checkpointRecord();
    let vectors: VectorIndex | undefined;
    let problem: string | undefined;
    for (let attempt = 0; record && !vectors && attempt < 2; attempt += 1) {
      try {
        vectors = await VectorIndex.load(this.directory, record, efSearch);
        if (vectors.dimension !== this.embedder.dimension)
          throw new Error(`it has ${vectors.dimension} dimensions, the embedder ${this.embedder.dimension}`);
      } catch (error) {
        vectors = undefined;
        problem = describeError(error);
        // Another process may have replaced the checkpoint between reading the record and the file.
        const again = this.checkpointRecord();
        if (again?.file === record.file) break;
        record = again;
      }
    }
    const stored = this.statements.vectorCount.get()!.count;
    if (!vectors) {
      if (record && problem)
        logger.warn(
          `the library's vector index ${record.file} is unusable (${problem}); rebuilding it from ${stored} stored vectors`,
        );
      vectors = VectorIndex.empty(this.embedder.dimension, efSearch, this.options.efConstruction);
    }
    this.unusableVectors = 0;
    vectors.add(this.vectorRowsAfter(vectors.throughSeq));
    this.vectors = vectors;
    const repair =
      !this.options.readOnly && (this.unusableVectors > 0 || stored < this.paperCount)
        ? await this.withWriteLock(() => this.repairVectors())
        : undefined;
    if (!repair && this.vectors.count !== stored)
      logger.warn(`the library's vector index holds ${this.vectors.count} vectors, the database ${stored}`);
    if (!this.options.readOnly && (problem !== undefined || repair?.rebuilt === true)) {
      await this.withWriteLock(() => this.checkpointNow(true)).catch((error: unknown) => {
        logger.warn(`could not checkpoint the vector index (${describeError(error)})`);
      });
    } else if (!this.options.readOnly && this.vectorsSinceCheckpoint() >= this.options.checkpointEvery) {
      // Only saves the next open some work, so it never waits: while another process writes (a bulk ingest, which
      // checkpoints when it ends), a search opening the library goes ahead without it.
      await this.withWriteLock(() => this.checkpointNow(), undefined, 0).catch((error: unknown) => {
        if (error instanceof UserError) logger.debug(`vector index not checkpointed at open: ${error.message}`);
        else logger.warn(`could not checkpoint the vector index (${describeError(error)})`);
      });
    }
  }

  /**
   * Papers whose vector is missing or of the wrong length (a damaged or hand-edited database) are embedded again,
   * with one warning; the graph is rebuilt from the stored vectors when such a paper lies inside the checkpoint.
   * Runs only when the open saw a sign of it (fewer vectors than papers, or a bad one replayed): a scan of every
   * vector is O(library).
   */
  private async repairVectors(): Promise<{ repaired: number; rebuilt: boolean } | undefined> {
    const bytes = this.embedder.dimension * 4;
    const broken = this.db
      .prepare<[number], { seq: number; paper: string }>(
        'SELECT p.seq, p.paper FROM papers p LEFT JOIN vectors v ON v.seq = p.seq WHERE v.seq IS NULL OR length(v.vector) != ? ORDER BY p.seq',
      )
      .all(bytes);
    if (broken.length === 0) return undefined;
    this.options.logger.warn(
      `${broken.length} paper${broken.length === 1 ? ' has' : 's have'} no usable vector in the library (missing, or not ${this.embedder.dimension} dimensions); embedding ${broken.length === 1 ? 'it' : 'them'} again`,
    );
    const vectors = await this.embedPapers(broken.map((row) => JSON.parse(row.paper) as Paper));
    const replace = this.db.prepare<[number, Buffer]>('INSERT OR REPLACE INTO vectors (seq, vector) VALUES (?, ?)');
    this.db.transaction(() => broken.forEach((row, index) => replace.run(row.seq, vectorBlob(vectors[index]!))))();
    const rebuilt = broken.some((row) => row.seq <= this.vectors!.throughSeq);
    if (rebuilt) {
      this.vectors = VectorIndex.empty(this.embedder.dimension, this.options.efSearch, this.options.efConstruction);
      this.vectors.add(this.vectorRowsAfter(-1));
    } else {
      this.vectors!.add(this.vectorRowsAfter(this.vectors!.throughSeq));
    }
    return { repaired: broken.length, rebuilt };
  }

  /** Embeds every paper again with the configured embedder, replacing the vectors in one transaction. */
  private async reembedAll(): Promise<void> {
    const batch: Array<{ seq: number; paper: Paper }> = [];
    const vectors: Array<{ seq: number; vector: number[] }> = [];
    for (const row of this.db
      .prepare<[], { seq: number; paper: string }>('SELECT seq, paper FROM papers ORDER BY seq')
      .iterate()) {
      batch.push({ seq: row.seq, paper: JSON.parse(row.paper) as Paper });
    }
    for (let start = 0; start < batch.length; start += 1000) {
      const slice = batch.slice(start, start + 1000);
      const embedded = await this.embedPapers(slice.map((entry) => entry.paper));
      slice.forEach((entry, index) => vectors.push({ seq: entry.seq, vector: embedded[index]! }));
    }
    this.db.transaction(() => {
      this.db.exec('DELETE FROM vectors');
      for (const { seq, vector } of vectors) this.statements.insertVector.run(seq, vectorBlob(vector));
      this.db.prepare("DELETE FROM meta WHERE key = 'checkpoint'").run();
      this.statements.setMeta.run('embedder', `${this.embedder.id}\t${this.embedder.dimension}`);
    })();
    this.vectors = VectorIndex.empty(this.embedder.dimension, this.options.efSearch, this.options.efConstruction);
    this.vectors.add(this.vectorRowsAfter(-1));
    await this.checkpointNow(true);
  }
}

export type { NameMatch };
