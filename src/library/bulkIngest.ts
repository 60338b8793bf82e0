import type { Paper } from '../papers/paper.js';
import type { BulkGraph, Library } from './library.js';
import type { PreparedPaper } from './library.js';

/**
 * Adding a large source to the library: papers are taken from a stream in batches, each batch embedded and
 * analyzed (by `prepare`, a worker thread when there is one) while the previous batch is committed, one commit per
 * batch, and its vectors added to the HNSW graph (by `graph`, another worker thread) while the next one commits.
 * An abort stops at a batch boundary: every committed batch stays, the one in flight is dropped. The HNSW graph is
 * checkpointed once at the end rather than every `checkpointEvery` papers, and only when that many were added since
 * the last checkpoint: an ingest of 20 papers into a library of 100,000 leaves them to be replayed at the next open.
 */

export interface IngestProgress {
  /** Papers read from the source so far (added or already there). */
  done: number;
  added: number;
  existing: number;
}

export interface BulkIngestOptions {
  /** Papers per commit. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each committed batch. */
  onProgress?: (progress: IngestProgress) => void;
  /** Embeds and analyzes a batch elsewhere (a worker thread); without it the library does it on this thread. */
  prepare?: (papers: readonly Paper[]) => Promise<ReadonlyMap<string, PreparedPaper>>;
  /** Builds the vector index on another thread beside the commits (see `Library.startBulkGraph`). */
  graph?: BulkGraph;
}

export interface BulkIngestResult extends IngestProgress {
  /** True when the signal stopped the ingest before the source ended. */
  interrupted: boolean;
}

export const DEFAULT_INGEST_BATCH_SIZE = 500;

export async function ingestInBatches(
  library: Pick<Library, 'add' | 'checkpoint'>,
  papers: AsyncIterable<Paper> | Iterable<Paper>,
  options: BulkIngestOptions = {},
): Promise<BulkIngestResult> {
  const batchSize = options.batchSize ?? DEFAULT_INGEST_BATCH_SIZE;
  const progress: IngestProgress = { done: 0, added: 0, existing: 0 };
  const prepare = options.prepare;
  const batches = inBatches(papers, batchSize);
  let interrupted = false;
  try {
    let next = await batches.next();
    // The batch being prepared while the one before it commits.
    let preparing = next.done || !prepare ? undefined : prepare(next.value).catch(asFailure);
    while (!next.done) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const batch = next.value;
      const prepared = await preparing;
      next = await batches.next();
      preparing = next.done || !prepare ? undefined : prepare(next.value).catch(asFailure);
      if (prepared instanceof Failure) throw prepared.error;
      try {
        const result = await library.add(batch, { signal: options.signal, checkpoint: false, prepared });
        if (result.added.length > 0) options.graph?.committed();
        progress.added += result.added.length;
        progress.existing += result.existing;
        progress.done += batch.length;
        options.onProgress?.({ ...progress });
      } catch (error) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        throw error;
      }
    }
    await preparing;
  } finally {
    await batches.return(undefined);
    // Checkpointed once for the whole ingest when due, also after an interruption: the next start then opens quickly.
    await options.graph?.finish();
    if (progress.added > 0) await library.checkpoint({ whenDue: true });
  }
  return { ...progress, interrupted };
}

class Failure {
  constructor(readonly error: unknown) {}
}

function asFailure(error: unknown): Failure {
  return new Failure(error);
}

async function* inBatches(
  papers: AsyncIterable<Paper> | Iterable<Paper>,
  size: number,
): AsyncGenerator<Paper[], void, undefined> {
  let batch: Paper[] = [];
  for await (const paper of papers) {
    batch.push(paper);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
