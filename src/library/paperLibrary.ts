import { definedOnly } from '../util/options.js';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Document } from '@langchain/core/documents';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import type { PaperEmbedder } from '../embeddings/types.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { normalizeTitle, type Paper } from '../papers/paper.js';
import { LexicalIndex } from '../retrieval/lexical.js';
import type { RetrievedPaper } from '../retrieval/types.js';
import {
  acquireWriteLock,
  CURRENT_MANIFEST,
  GENERATION_MANIFEST,
  MANIFEST_FORMAT,
  bytesUnder,
  commitManifest,
  generationDirectoryName,
  listGenerations,
  readManifest,
  readVerifiedFile,
  recordFile,
  removeGeneration,
  syncDirectory,
  syncFile,
  writeFileDurably,
  type LibraryManifest,
} from './storage.js';
import type { PaperVectorIndex } from './pgvectorStore.js';

/** Steps of a save, in order; `onSaveStep` is called after each (tests throw from it to simulate a crash). */
export type SaveStep = 'papers' | 'vectors' | 'lexical' | 'manifest' | 'commit' | 'cleanup';

export interface PaperLibraryOptions {
  /** The library lives in `<dataDir>/library/`. */
  dataDir: string;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Papers per embedding call while ingesting. */
  embedBatchSize?: number;
  /** HNSW search breadth; higher is more exact and slower (the library is small, so exact enough matters). */
  efSearch?: number;
  /** How long an add waits for another process's write to finish before giving up with a UserError. */
  lockTimeoutMs?: number;
  /** Test hook, called after each step of a save. */
  onSaveStep?: (step: SaveStep) => void | Promise<void>;
  /**
   * Vectors kept outside the library directory and shared with other processes (`VECTOR_STORE=pgvector`): it is
   * then the source of truth for which papers exist, and no HNSW files are written. Owned by the caller.
   */
  sharedVectors?: PaperVectorIndex;
}

export const DEFAULT_LIBRARY_OPTIONS = Object.freeze({ embedBatchSize: 32, efSearch: 128, lockTimeoutMs: 30_000 });

export interface LibraryStats {
  papers: number;
  vectors: number;
  /** Embedder id, e.g. `hashing:v1:1024:…`. */
  embedder: string;
  embedderDescription: string;
  dimension: number;
  /** Everything under `<dataDir>/library/`, both kept generations included. */
  bytesOnDisk: number;
  generation: number;
  directory: string;
}

export interface AddResult {
  /** Papers that were not in the library, now embedded and indexed. */
  added: Paper[];
  /** Papers that were already there (by id or by title); their new metadata is merged into the stored paper. */
  existing: number;
}

/** Files of the HNSWLib save, beside papers.jsonl and lexical.json in a generation directory. */
const VECTOR_FILES = ['hnswlib.index', 'docstore.json', 'args.json'] as const;
const PAPERS_FILE = 'papers.jsonl';
const LEXICAL_FILE = 'lexical.json';

/** One consistent view of the library; replaced as a whole, never edited in place while readers can see it. */
interface LibraryState {
  generation: number;
  papers: ReadonlyMap<string, Paper>;
  /** Normalized title → id, so the same paper from another source is recognized. */
  titles: ReadonlyMap<string, string>;
  vectors: HNSWLib | undefined;
  lexical: LexicalIndex;
}

/** What the library embeds for a paper. */
export function paperEmbeddingText(paper: Paper): string {
  return `${paper.title}\n\n${paper.abstract}`;
}

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
  return new UserError(`DATA_DIR ${dataDir} cannot hold the library (${reason}); set DATA_DIR to a folder papercord can write`, { cause: error });
}

/**
 * The local paper library: papers, their HNSW vector index (LangChain `HNSWLib`) and a lexical index, persisted
 * under `<dataDir>/library/` in generations committed atomically. Writes are queued one at a time; readers see
 * the state before a write or after it.
 */
export class PaperLibrary {
  private readonly options: Required<Omit<PaperLibraryOptions, 'onSaveStep' | 'sharedVectors'>> &
    Pick<PaperLibraryOptions, 'onSaveStep' | 'sharedVectors'>;
  private readonly directory: string;
  private state: LibraryState;
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** True while this library holds `write.lock` (a rebuild inside an add must not wait for itself). */
  private holdingWriteLock = false;
  private closed = false;

  private constructor(options: PaperLibraryOptions) {
    this.options = { ...DEFAULT_LIBRARY_OPTIONS, ...definedOnly(options) };
    this.directory = path.join(options.dataDir, 'library');
    this.state = emptyState(0);
  }

  static async open(options: PaperLibraryOptions): Promise<PaperLibrary> {
    const library = new PaperLibrary(options);
    await mkdir(library.directory, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw unusableDataDir(options.dataDir, error);
    });
    await library.load();
    if (library.options.sharedVectors) await library.syncSharedPapers();
    return library;
  }

  get embedder(): PaperEmbedder {
    return this.options.embedder;
  }

  get size(): number {
    return this.state.papers.size;
  }

  /** The LangChain vector store of the current state, for LangChain retrievers; undefined while empty. */
  get vectorStore(): HNSWLib | undefined {
    return this.state.vectors;
  }

  get(id: string): Paper | undefined {
    return this.state.papers.get(id);
  }

  /** Papers in the order they were added. */
  all(): Paper[] {
    return [...this.state.papers.values()];
  }

  /** Adds papers, embedding only the new ones, and commits a new generation. */
  add(papers: readonly Paper[], options: { signal?: AbortSignal } = {}): Promise<AddResult> {
    return this.serialized(() => this.addNow(papers, options.signal));
  }

  /** Best first; score is cosine similarity (higher is closer). */
  async vectorSearch(query: string, k: number): Promise<RetrievedPaper[]> {
    if (this.options.sharedVectors) return this.sharedVectorSearch(this.options.sharedVectors, query, k);
    const state = this.state;
    const store = state.vectors;
    if (!store || state.papers.size === 0 || k <= 0) return [];
    const vector = await this.embedder.embeddings.embedQuery(query);
    const count = store.index.getCurrentCount();
    const results = await store.similaritySearchVectorWithScore(vector, Math.min(k, count));
    return results
      .map(([document, distance]) => ({ paper: state.papers.get(String(document.metadata.id)), score: 1 - distance }))
      .filter((hit): hit is RetrievedPaper => hit.paper !== undefined);
  }

  /** Best first; score is the lexical index's relevance score. */
  lexicalSearch(query: string, k: number): RetrievedPaper[] {
    const state = this.state;
    return state.lexical
      .search(query, k)
      .map((hit) => ({ paper: state.papers.get(hit.id), score: hit.score }))
      .filter((hit): hit is RetrievedPaper => hit.paper !== undefined);
  }

  /** Papers whose title or abstract has an analyzed term (`analyze` from the lexical index); 0 for unseen terms. */
  documentFrequency(term: string): number {
    return this.state.lexical.documentFrequency(term);
  }

  async stats(): Promise<LibraryStats> {
    const state = this.state;
    return {
      papers: state.papers.size,
      vectors: this.options.sharedVectors
        ? await this.options.sharedVectors.count()
        : state.vectors
          ? state.vectors.index.getCurrentCount()
          : 0,
      embedder: this.embedder.id,
      embedderDescription: this.embedder.description,
      dimension: this.embedder.dimension,
      bytesOnDisk: await bytesUnder(this.directory),
      generation: state.generation,
      directory: this.directory,
    };
  }

  /** Waits for queued writes; the embedder belongs to whoever created it and is not closed here. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeQueue.catch(() => undefined);
    this.state = emptyState(this.state.generation);
  }

  private async sharedVectorSearch(shared: PaperVectorIndex, query: string, k: number): Promise<RetrievedPaper[]> {
    if (k <= 0) return [];
    const hits = await shared.search(await this.embedder.embeddings.embedQuery(query), k);
    // A hit this process has not seen was added by another one since: take its papers before answering.
    if (hits.some((hit) => !this.state.papers.has(hit.id))) await this.syncSharedPapers();
    const papers = this.state.papers;
    return hits
      .map((hit) => ({ paper: papers.get(hit.id), score: hit.score }))
      .filter((hit): hit is RetrievedPaper => hit.paper !== undefined);
  }

  /** Adds papers that other processes stored in the shared vector store to this process's view (and lexical index). */
  private syncSharedPapers(): Promise<void> {
    return this.serialized(async () => {
      const shared = await this.options.sharedVectors!.papers();
      const before = this.state;
      const missing = shared.filter((paper) => !before.papers.has(paper.id));
      if (missing.length === 0) return;
      const papers = new Map(before.papers);
      const titles = new Map(before.titles);
      for (const paper of missing) {
        papers.set(paper.id, paper);
        titles.set(normalizeTitle(paper.title), paper.id);
      }
      before.lexical.add(missing);
      this.state = { ...before, papers, titles };
      this.options.logger.info({ papers: missing.length }, 'took papers added by other processes from the shared vector store');
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the paper library is closed'));
    const result = this.writeQueue.then(work);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  private async withWriteLock<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.holdingWriteLock) return work();
    const lock = await acquireWriteLock(this.directory, { timeoutMs: this.options.lockTimeoutMs, signal });
    this.holdingWriteLock = true;
    try {
      return await work();
    } finally {
      this.holdingWriteLock = false;
      await lock.release();
    }
  }

  /** The generation `current.json` names now; -1 when it cannot be read (load() then recovers). */
  private async committedGeneration(): Promise<number> {
    try {
      return (await readManifest(path.join(this.directory, CURRENT_MANIFEST))).generation;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 0 : -1;
    }
  }

  private addNow(incoming: readonly Paper[], signal: AbortSignal | undefined): Promise<AddResult> {
    signal?.throwIfAborted();
    return this.withWriteLock(async () => {
      // Another process (the bot, a CLI ingest) committed since this one loaded: start from its library, so
      // neither overwrites the other's papers.
      if ((await this.committedGeneration()) !== this.state.generation) {
        this.options.logger.info('the library changed on disk since it was loaded; reloading it before adding');
        await this.load();
      }
      return this.addToCurrent(incoming, signal);
    }, signal);
  }

  private async addToCurrent(incoming: readonly Paper[], signal: AbortSignal | undefined): Promise<AddResult> {
    const before = this.state;
    const papers = new Map(before.papers);
    const titles = new Map(before.titles);
    const added: Paper[] = [];
    let existing = 0;
    let metadataChanged = false;

    for (const paper of incoming) {
      const title = normalizeTitle(paper.title);
      const knownId = papers.has(paper.id) ? paper.id : titles.get(title);
      if (knownId === undefined) {
        papers.set(paper.id, paper);
        titles.set(title, paper.id);
        added.push(paper);
        continue;
      }
      existing += 1;
      const stored = papers.get(knownId)!;
      const merged = mergePaper(stored, paper);
      if (JSON.stringify(merged) !== JSON.stringify(stored)) {
        papers.set(knownId, merged);
        metadataChanged = true;
        const index = added.findIndex((candidate) => candidate.id === knownId);
        if (index >= 0) added[index] = merged;
      }
    }
    if (added.length === 0 && !metadataChanged) return { added, existing };

    if (added.length > 0) this.options.logger.info(`embedding ${added.length} new paper${added.length === 1 ? '' : 's'}`);
    const vectors = await this.embedPapers(added, signal);
    signal?.throwIfAborted();
    // From here the HNSW index and the lexical index are extended in place; readers still hold `before.papers`
    // and drop hits they do not know, so they see the old library until the new state is swapped in.
    let store = before.vectors;
    if (added.length > 0 && this.options.sharedVectors) {
      // Committed to the shared store first: if the local save below fails, the next open syncs these back.
      await this.options.sharedVectors.add(added, vectors, { signal });
    } else if (added.length > 0) {
      store ??= this.newVectorStore();
      await store.addVectors(vectors, added.map(toDocument));
      this.tuneSearch(store);
    }
    before.lexical.add(added);
    const next: LibraryState = { generation: before.generation, papers, titles, vectors: store, lexical: before.lexical };
    try {
      next.generation = await this.save(next);
    } catch (error) {
      // Memory must not run ahead of the disk: go back to the committed library.
      await this.load().catch(() => undefined);
      throw error;
    }
    this.state = next;
    return { added, existing };
  }

  private newVectorStore(): HNSWLib {
    return new HNSWLib(this.embedder.embeddings, { space: 'cosine', numDimensions: this.embedder.dimension });
  }

  private async embedPapers(papers: readonly Paper[], signal: AbortSignal | undefined): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < papers.length; start += this.options.embedBatchSize) {
      signal?.throwIfAborted();
      const batch = papers.slice(start, start + this.options.embedBatchSize);
      const embedded = await this.embedder.embeddings.embedDocuments(batch.map(paperEmbeddingText));
      for (const vector of embedded) {
        if (vector.length !== this.embedder.dimension) {
          throw new Error(`embedder ${this.embedder.id} returned ${vector.length} dimensions, expected ${this.embedder.dimension}`);
        }
      }
      vectors.push(...embedded);
    }
    return vectors;
  }

  /** Builds every index from papers alone (first load of a moved library, corruption, another embedder). */
  private async buildState(papers: readonly Paper[], generation: number): Promise<LibraryState> {
    const state = stateWithPapers(generation, papers);
    const unique = [...state.papers.values()];
    if (unique.length > 0 && !this.options.sharedVectors) {
      const store = this.newVectorStore();
      await store.addVectors(await this.embedPapers(unique, undefined), unique.map(toDocument));
      state.vectors = store;
      this.tuneSearch(store);
    }
    state.lexical.add(unique);
    return state;
  }

  private tuneSearch(store: HNSWLib): void {
    store.index.setEf(this.options.efSearch);
  }

  /** Writes `state` as a new generation and commits it; returns the generation number. */
  private async save(state: LibraryState): Promise<number> {
    const step = async (name: SaveStep) => this.options.onSaveStep?.(name);
    const committed = (await listGenerations(this.directory)).filter((generation) => generation <= state.generation);
    const generation = state.generation + 1;
    const directory = path.join(this.directory, generationDirectoryName(generation));
    // Left over from a save that died before its commit.
    await rm(directory, { recursive: true, force: true });
    await mkdir(directory, { recursive: true });

    const papers = [...state.papers.values()];
    await writeFileDurably(path.join(directory, PAPERS_FILE), papers.map((paper) => JSON.stringify(paper)).join('\n') + '\n');
    await step('papers');
    if (state.vectors) {
      await state.vectors.save(directory);
      for (const name of VECTOR_FILES) await syncFile(path.join(directory, name));
    }
    await step('vectors');
    await writeFileDurably(path.join(directory, LEXICAL_FILE), state.lexical.toJSON());
    await step('lexical');

    const names = [PAPERS_FILE, LEXICAL_FILE, ...(state.vectors ? VECTOR_FILES : [])];
    const files: LibraryManifest['files'] = {};
    for (const name of names) files[name] = await recordFile(path.join(directory, name));
    const manifest: LibraryManifest = {
      format: MANIFEST_FORMAT,
      generation,
      embedder: { id: this.embedder.id, dimension: this.embedder.dimension },
      papers: papers.length,
      vectors: state.vectors ? state.vectors.index.getCurrentCount() : 0,
      files,
      savedAt: new Date().toISOString(),
    };
    await writeFileDurably(path.join(directory, GENERATION_MANIFEST), JSON.stringify(manifest, null, 2));
    await syncDirectory(directory);
    await step('manifest');
    await commitManifest(this.directory, manifest);
    await step('commit');

    // Keep this generation and the one before it (the fallback when this one's papers file goes bad).
    const keep = new Set([generation, committed.find((candidate) => candidate < generation)]);
    for (const old of await listGenerations(this.directory)) {
      if (!keep.has(old)) await removeGeneration(this.directory, old);
    }
    await step('cleanup');
    return generation;
  }

  /** Loads the committed library, recovering from what can be recovered, saying so once. */
  private async load(): Promise<void> {
    const committed = await this.readCommittedPapers();
    if (!committed) {
      this.state = emptyState(0);
      return;
    }
    const { manifest, papers, directory } = committed;
    const { logger, embedder } = this.options;

    if (manifest.embedder.id !== embedder.id || manifest.embedder.dimension !== embedder.dimension) {
      logger.warn(
        `the library index was built by embedder ${manifest.embedder.id} (${manifest.embedder.dimension} dimensions), ` +
          `now configured: ${embedder.id} (${embedder.dimension} dimensions); re-embedding ${papers.length} papers`,
      );
      await this.rebuildAndSave(papers, manifest.generation);
      return;
    }
    try {
      this.state = await this.readIndexes(directory, manifest, papers);
    } catch (error) {
      logger.warn(
        `the library index in ${directory} is unusable (${describeError(error)}); rebuilding it from ${papers.length} stored papers`,
      );
      await this.rebuildAndSave(papers, manifest.generation);
    }
  }

  private async rebuildAndSave(papers: readonly Paper[], generation: number): Promise<void> {
    const state = await this.buildState(papers, generation);
    state.generation = await this.withWriteLock(() => this.save(state));
    this.state = state;
  }

  /**
   * The papers of the committed generation, or of the one before it when the committed papers file is damaged
   * (with a warning); undefined for a library that was never saved.
   */
  private async readCommittedPapers(): Promise<{ manifest: LibraryManifest; papers: Paper[]; directory: string } | undefined> {
    const { logger } = this.options;
    const generations = await listGenerations(this.directory);
    let current: LibraryManifest | undefined;
    let problem: string | undefined;
    try {
      current = await readManifest(path.join(this.directory, CURRENT_MANIFEST));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      problem = describeError(error);
    }

    if (current) {
      try {
        return await this.readGenerationPapers(current);
      } catch (error) {
        problem = `generation ${current.generation}: ${describeError(error)}`;
      }
    }
    // Only generations at or below the committed one were ever committed; a higher one is an unfinished save.
    const candidates = generations.filter((generation) => !current || generation < current.generation);
    for (const generation of candidates) {
      const directory = path.join(this.directory, generationDirectoryName(generation));
      try {
        const manifest = await readManifest(path.join(directory, GENERATION_MANIFEST));
        const loaded = await this.readGenerationPapers(manifest);
        logger.warn(`the library's papers are damaged (${problem}); falling back to generation ${generation} (${loaded.papers.length} papers)`);
        // Commit the fallback so the next start does not hit the damaged generation again.
        await commitManifest(this.directory, manifest);
        return loaded;
      } catch {
        // Try an older one.
      }
    }
    logger.warn(`the library's papers are damaged (${problem}) and no earlier generation is usable; starting with an empty library, run ingest again`);
    return undefined;
  }

  private async readGenerationPapers(manifest: LibraryManifest): Promise<{ manifest: LibraryManifest; papers: Paper[]; directory: string }> {
    const directory = path.join(this.directory, generationDirectoryName(manifest.generation));
    const text = (await readVerifiedFile(directory, PAPERS_FILE, manifest)).toString('utf8');
    const papers = text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Paper);
    if (papers.length !== manifest.papers) throw new Error(`${PAPERS_FILE} holds ${papers.length} papers, the manifest says ${manifest.papers}`);
    return { manifest, papers, directory };
  }

  private async readIndexes(directory: string, manifest: LibraryManifest, papers: readonly Paper[]): Promise<LibraryState> {
    const state = stateWithPapers(manifest.generation, papers);
    const byId = state.papers;

    state.lexical = LexicalIndex.fromJSON((await readVerifiedFile(directory, LEXICAL_FILE, manifest)).toString('utf8'));
    if (state.lexical.size !== byId.size) throw new Error(`${LEXICAL_FILE} indexes ${state.lexical.size} papers, the library has ${byId.size}`);
    if (byId.size === 0 || this.options.sharedVectors) return state;

    // Checksums first: hnswlib would read a truncated index without complaint or crash on it.
    for (const name of VECTOR_FILES) await readVerifiedFile(directory, name, manifest);
    const store = await HNSWLib.load(directory, this.embedder.embeddings);
    const count = store.index.getCurrentCount();
    if (count !== byId.size) throw new Error(`hnswlib.index holds ${count} vectors, the library has ${byId.size} papers`);
    if (store.index.getNumDimensions() !== this.embedder.dimension) {
      throw new Error(`hnswlib.index has ${store.index.getNumDimensions()} dimensions, the embedder ${this.embedder.dimension}`);
    }
    this.tuneSearch(store);
    state.vectors = store;
    return state;
  }
}

function emptyState(generation: number): LibraryState {
  return { generation, papers: new Map(), titles: new Map(), vectors: undefined, lexical: LexicalIndex.create() };
}

/** A state holding `papers` by id and by normalized title, its indexes still empty. */
function stateWithPapers(generation: number, papers: readonly Paper[]): LibraryState {
  const byId = new Map<string, Paper>();
  const titles = new Map<string, string>();
  for (const paper of papers) {
    byId.set(paper.id, paper);
    titles.set(normalizeTitle(paper.title), paper.id);
  }
  return { ...emptyState(generation), papers: byId, titles };
}

function toDocument(paper: Paper): Document {
  return new Document({ pageContent: paperEmbeddingText(paper), metadata: { id: paper.id, title: paper.title } });
}

/**
 * The stored paper with what another source knows about it: fields it lacks are filled in, counts that change
 * over time (upvotes, comments) take the newer value. Id, title, abstract and source stay as stored.
 */
export function mergePaper(stored: Paper, incoming: Paper): Paper {
  const merged: Paper = { ...stored };
  const fillable = ['url', 'publishedAt', 'authors', 'arxivId', 'aiSummary', 'keywords', 'githubRepo', 'thumbnail', 'primaryCategory'] as const;
  for (const field of fillable) fillIn(merged, incoming, field);
  if (incoming.upvotes !== undefined) merged.upvotes = incoming.upvotes;
  if (incoming.numComments !== undefined) merged.numComments = incoming.numComments;
  return merged;
}

function fillIn<K extends keyof Paper>(target: Paper, source: Paper, field: K): void {
  if (target[field] === undefined && source[field] !== undefined) target[field] = source[field];
}
