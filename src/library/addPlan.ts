import type { PaperEmbedder } from '../embeddings/types.js';
import type { Logger } from '../logger.js';
import { boundPaperText, normalizeTitle, type Paper, type PaperTextLimits } from '../papers/paper.js';
import { paperEmbeddingText } from './paperText.js';

/**
 * What adding papers means, whichever store holds them: each paper given is either new or one the library already
 * has (by id, else by normalized title), and a later copy in the same batch is the same paper as the earlier one. A
 * store finds what it holds and writes the plan; the plan itself is decided here, once for every store.
 */

/** The stored paper `paper` is (by id, else by normalized title), as the store holds it now; undefined when new. */
export type FindStored = (paper: Paper) => Paper | undefined;

export interface AddPlan {
  /** Papers new to the library, in the order first given, each with its later copies' metadata merged in. */
  fresh: Paper[];
  /** Stored papers whose metadata this add changes, merged, by their stored id. */
  updates: Paper[];
  /**
   * Papers given that the library already held, or that an earlier paper of the same batch already named: every
   * paper given is counted once, as fresh or as existing.
   */
  existing: number;
  /** For each paper given, in the same order, the library's copy once the plan is written. */
  stored: Paper[];
}

/**
 * The papers as the library will hold them, titles and abstracts cut to the limits (see `boundPaperText`), whatever
 * path brought them (a file, a feed, an upload); a paper that was cut loses the vector and analysis computed
 * elsewhere for its longer text, and is embedded again.
 */
export function boundedForAdd<Prepared>(
  incoming: readonly Paper[],
  prepared: ReadonlyMap<string, Prepared> | undefined,
  limits: PaperTextLimits,
): { papers: Paper[]; prepared: ReadonlyMap<string, Prepared> | undefined } {
  const papers = incoming.map((paper) => boundPaperText(paper, limits));
  const cut = papers.filter((paper, index) => paper !== incoming[index]);
  if (cut.length === 0 || !prepared) return { papers, prepared };
  const kept = new Map(prepared);
  for (const paper of cut) kept.delete(paper.id);
  return { papers, prepared: kept };
}

export function planAdd(incoming: readonly Paper[], findStored: FindStored): AddPlan {
  const fresh = new Map<string, Paper>();
  const freshByTitle = new Map<string, string>();
  /** Stored papers met so far, with what the batch merged into them. */
  const known = new Map<string, Paper>();
  const changed = new Set<string>();
  const storedIds: string[] = [];
  let existing = 0;
  for (const paper of incoming) {
    const stored = findStored(paper);
    if (stored) {
      existing += 1;
      const before = known.get(stored.id) ?? stored;
      const merged = mergePaper(before, paper);
      if (JSON.stringify(merged) !== JSON.stringify(before)) changed.add(stored.id);
      known.set(stored.id, merged);
      storedIds.push(stored.id);
      continue;
    }
    const title = normalizeTitle(paper.title);
    const earlier = fresh.has(paper.id) ? paper.id : freshByTitle.get(title);
    if (earlier !== undefined) {
      existing += 1;
      fresh.set(earlier, mergePaper(fresh.get(earlier)!, paper));
      storedIds.push(earlier);
      continue;
    }
    fresh.set(paper.id, paper);
    freshByTitle.set(title, paper.id);
    storedIds.push(paper.id);
  }
  return {
    fresh: [...fresh.values()],
    updates: [...changed].map((id) => known.get(id)!),
    existing,
    stored: storedIds.map((id) => fresh.get(id) ?? known.get(id)!),
  };
}

/**
 * The stored paper with what another source knows about it: fields it lacks are filled in, counts that change
 * over time (upvotes, comments) take the newer value. Id, title, abstract and source stay as stored.
 */
export function mergePaper(stored: Paper, incoming: Paper): Paper {
  const merged: Paper = { ...stored };
  const fillable = [
    'url',
    'publishedAt',
    'authors',
    'arxivId',
    'aiSummary',
    'keywords',
    'githubRepo',
    'thumbnail',
    'primaryCategory',
  ] as const;
  for (const field of fillable) fillIn(merged, incoming, field);
  if (incoming.upvotes !== undefined) merged.upvotes = incoming.upvotes;
  if (incoming.numComments !== undefined) merged.numComments = incoming.numComments;
  return merged;
}

function fillIn<K extends keyof Paper>(target: Paper, source: Paper, field: K): void {
  if (target[field] === undefined && source[field] !== undefined) target[field] = source[field];
}

export interface EmbedPapersOptions {
  embedder: PaperEmbedder;
  /** Papers per embedding call. */
  batchSize: number;
  signal?: AbortSignal;
}

/** The papers' vectors (of what `paperEmbeddingText` gives), embedded `batchSize` at a time; each checked for its length. */
export async function embedPapers(papers: readonly Paper[], options: EmbedPapersOptions): Promise<number[][]> {
  const { embedder, batchSize, signal } = options;
  const vectors: number[][] = [];
  for (let start = 0; start < papers.length; start += batchSize) {
    signal?.throwIfAborted();
    const batch = papers.slice(start, start + batchSize);
    const embedded = await embedder.embeddings.embedDocuments(batch.map(paperEmbeddingText));
    for (const vector of embedded) checkDimension(embedder, vector);
    vectors.push(...embedded);
  }
  return vectors;
}

/**
 * The vectors of papers new to the library, in their order: those computed elsewhere (`ready`, by paper id: a
 * worker thread) as they are, the others embedded now. Every one is checked for its
 * length, so a vector of the wrong embedder never reaches an index.
 */
export async function vectorsOfNewPapers(
  papers: readonly Paper[],
  ready: ReadonlyMap<string, { vector: ArrayLike<number> }> | undefined,
  options: EmbedPapersOptions & { logger: Logger },
): Promise<Array<ArrayLike<number>>> {
  // Said of every new paper, wherever its vector was computed: `papercord ingest` shows this line as its progress.
  if (papers.length > 0) options.logger.info(`embedding ${papers.length} new paper${papers.length === 1 ? '' : 's'}`);
  const missing = papers.filter((paper) => !ready?.has(paper.id));
  const embedded = await embedPapers(missing, options);
  const byId = new Map(missing.map((paper, index) => [paper.id, embedded[index]!]));
  return papers.map((paper) => {
    const vector = ready?.get(paper.id)?.vector ?? byId.get(paper.id)!;
    checkDimension(options.embedder, vector);
    return vector;
  });
}

function checkDimension(embedder: PaperEmbedder, vector: ArrayLike<number>): void {
  if (vector.length !== embedder.dimension) {
    throw new Error(`embedder ${embedder.id} returned ${vector.length} dimensions, expected ${embedder.dimension}`);
  }
}
