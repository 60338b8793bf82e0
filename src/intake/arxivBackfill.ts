import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { PaperLibrary } from '../library/sqlite/paperLibrary.js';
import type { Logger } from '../logger.js';
import type { ArxivApi } from '../papers/sources/arxivApi.js';
import { definedOnly } from '../util/options.js';

export interface BackfillRequest {
  /** An arXiv category, e.g. `cs.CL`. */
  category: string;
  /** `YYYY-MM-DD`, inclusive, UTC. */
  from: string;
  /** `YYYY-MM-DD`, inclusive; today (fixed at the first run, so a resumed run asks the same question). */
  to?: string;
  /** Stop after this many papers. */
  max?: number;
}

export interface BackfillProgress {
  /** Papers fetched so far, resumed ones included. */
  fetched: number;
  /** Best known total: the windows counted so far, capped by `max`. */
  total: number;
  /** The month being read, `YYYY-MM`. */
  window: string;
}

export interface BackfillOptions {
  arxiv: Pick<ArxivApi, 'search'>;
  library: Pick<PaperLibrary, 'add'>;
  /** The checkpoint lives in `<dataDir>/backfill/`. */
  dataDir: string;
  logger: Logger;
  /** Papers per request; arXiv allows up to 2,000, smaller pages keep each retry cheap. */
  pageSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
  now?: () => Date;
}

export const DEFAULT_BACKFILL_OPTIONS = { pageSize: 100 } as const;

export interface BackfillResult {
  /** Papers fetched in all runs of this backfill. */
  fetched: number;
  /** Added to the library by this run. */
  added: number;
  /** Already in the library, met by this run. */
  existing: number;
  /** Papers fetched in earlier runs this one resumed after (0 for a fresh start). */
  resumedAfter: number;
  complete: boolean;
  /** The checkpoint said this backfill had finished before: nothing was fetched. */
  alreadyComplete: boolean;
  checkpointFile: string;
}

/** What is written after every page, so a run stopped anywhere resumes at the next page. */
interface Checkpoint {
  category: string;
  from: string;
  to: string;
  max: number | null;
  /** The month window being read (`YYYY-MM-DD` of its first day) and the offset within it. */
  windowStart: string;
  start: number;
  fetched: number;
  added: number;
  existing: number;
  complete: boolean;
  updatedAt: string;
}

const DAY_MS = 86_400_000;
const compact = (date: string) => date.replaceAll('-', '');

/** The first day of the month after `date`'s month. */
function nextMonth(date: string): string {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month, 1)).toISOString().slice(0, 10);
}

/** A window ends the day before the next month starts, or at `to`, whichever is first. */
function windowEnd(windowStart: string, to: string): string {
  const dayBefore = new Date(Date.parse(`${nextMonth(windowStart)}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
  return dayBefore < to ? dayBefore : to;
}

export function backfillCheckpointFile(dataDir: string, request: BackfillRequest): string {
  // Same arguments, same file: `to` absent is its own key (resolved to a date once, inside the checkpoint).
  const key = JSON.stringify([request.category, request.from, request.to ?? null, request.max ?? null]);
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return path.join(dataDir, 'backfill', `arxiv-${request.category.replace(/[^A-Za-z0-9.-]/g, '_')}-${digest}.json`);
}

/**
 * All papers of an arXiv category submitted between two dates, read month by month (the API serves at most a few
 * tens of thousands of results per query) in submission order, a page at a time, each page added to the library
 * and checkpointed before the next is asked for. Requests are paced by the `ArxivApi` (3 s by default); 429 and 503
 * are retried with backoff there.
 */
export async function backfillArxiv(request: BackfillRequest, options: BackfillOptions): Promise<BackfillResult> {
  const settings = { ...DEFAULT_BACKFILL_OPTIONS, ...definedOnly(options) };
  const now = settings.now ?? (() => new Date());
  const checkpointFile = backfillCheckpointFile(settings.dataDir, request);
  const saved = await readCheckpoint(checkpointFile);
  const to = saved?.to ?? request.to ?? now().toISOString().slice(0, 10);
  if (to < request.from) throw new UserError(`--to ${to} is before --from ${request.from}`);
  const checkpoint: Checkpoint = saved ?? {
    category: request.category,
    from: request.from,
    to,
    max: request.max ?? null,
    windowStart: request.from,
    start: 0,
    fetched: 0,
    added: 0,
    existing: 0,
    complete: false,
    updatedAt: now().toISOString(),
  };
  const resumedAfter = saved ? saved.fetched : 0;
  if (saved && !saved.complete)
    settings.logger.info(
      { checkpointFile, fetched: saved.fetched, window: saved.windowStart },
      'resuming the arXiv backfill',
    );
  const max = request.max ?? Number.POSITIVE_INFINITY;
  let knownTotal = checkpoint.fetched;
  let added = 0;
  let existing = 0;

  while (!checkpoint.complete) {
    settings.signal?.throwIfAborted();
    const end = windowEnd(checkpoint.windowStart, to);
    const remaining = max - checkpoint.fetched;
    const page = await settings.arxiv.search(
      {
        searchQuery: `cat:${request.category} AND submittedDate:[${compact(checkpoint.windowStart)}0000 TO ${compact(end)}2359]`,
        start: checkpoint.start,
        maxResults: Math.min(settings.pageSize, remaining),
        sortBy: 'submittedDate',
        sortOrder: 'ascending',
      },
      settings.signal,
    );
    knownTotal = Math.min(max, Math.max(knownTotal, checkpoint.fetched - checkpoint.start + page.totalResults));
    const papers = page.papers.slice(0, remaining);
    if (papers.length > 0) {
      const result = await settings.library.add(papers, { signal: settings.signal });
      checkpoint.added += result.added.length;
      checkpoint.existing += result.existing;
      added += result.added.length;
      existing += result.existing;
      checkpoint.fetched += papers.length;
      checkpoint.start += papers.length;
    }
    const windowDone = papers.length === 0 || checkpoint.start >= page.totalResults;
    if (checkpoint.fetched >= max || (windowDone && end >= to)) checkpoint.complete = true;
    else if (windowDone) {
      checkpoint.windowStart = nextMonth(checkpoint.windowStart);
      checkpoint.start = 0;
    }
    checkpoint.updatedAt = now().toISOString();
    await writeCheckpoint(checkpointFile, checkpoint);
    settings.onProgress?.({
      fetched: checkpoint.fetched,
      total: Math.max(knownTotal, checkpoint.fetched),
      window: checkpoint.windowStart.slice(0, 7),
    });
  }
  return {
    fetched: checkpoint.fetched,
    added,
    existing,
    resumedAfter,
    complete: checkpoint.complete,
    alreadyComplete: saved?.complete === true,
    checkpointFile,
  };
}

async function readCheckpoint(file: string): Promise<Checkpoint | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Checkpoint;
  } catch {
    throw new UserError(`${file}: the backfill checkpoint is damaged; delete it to start this backfill over`);
  }
}

async function writeCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`);
  await rename(temporary, file);
}
