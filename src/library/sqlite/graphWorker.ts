import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { useHnswlibBuild, type HnswSimdSetting } from './hnswlib.js';
import { VectorIndex, type CheckpointRecord } from './vectorIndex.js';

/**
 * The worker thread of a bulk ingest's `BulkGraph`: it keeps the library's HNSW graph while the main thread commits
 * papers, adding the vectors it reads back from the database after each commit, and writes the checkpoint at the
 * end. Inserting into the graph is most of an ingest's CPU time; here it runs beside the commits instead of after
 * each of them.
 */

export interface GraphWorkerData {
  directory: string;
  databaseFile: string;
  dimension: number;
  efSearch: number;
  efConstruction: number;
  /** The library's checkpoint when the ingest started, to start from; undefined starts an empty graph. */
  record: CheckpointRecord | undefined;
  /** The hnswlib build of the thread that started it, so that HNSW_SIMD=off holds here too. */
  simd: HnswSimdSetting;
}

export type GraphRequest = { kind: 'catch-up' } | { kind: 'checkpoint'; id: number };

export type GraphReply =
  { ready: number } | { id: number; record: CheckpointRecord | undefined } | { id: number; error: string };

/** Rows read per statement: the read transaction (and so the writer's WAL) is never held for a whole ingest. */
const ROWS_PER_READ = 512;

const settings = workerData as GraphWorkerData;
useHnswlibBuild(settings.simd);
const db = new Database(settings.databaseFile, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 30000');
const rowsAfter = db.prepare<[number, number], { seq: number; vector: Buffer }>(
  'SELECT seq, vector FROM vectors WHERE seq > ? ORDER BY seq LIMIT ?',
);

// A checkpoint the main thread could open moments ago opens here too; if it cannot, every stored vector is added.
const graph = settings.record
  ? await VectorIndex.load(settings.directory, settings.record, settings.efSearch).catch(() =>
      VectorIndex.empty(settings.dimension, settings.efSearch, settings.efConstruction),
    )
  : VectorIndex.empty(settings.dimension, settings.efSearch, settings.efConstruction);
catchUp();
parentPort!.postMessage({ ready: graph.throughSeq } satisfies GraphReply);

parentPort!.on('message', (request: GraphRequest) => {
  if (request.kind === 'catch-up') {
    catchUp();
    return;
  }
  void (async () => {
    catchUp();
    return graph.count === 0 ? undefined : graph.writeCheckpoint(settings.directory);
  })().then(
    (record) => parentPort!.postMessage({ id: request.id, record } satisfies GraphReply),
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies GraphReply),
  );
});

function catchUp(): void {
  for (;;) {
    const rows = rowsAfter.all(graph.throughSeq, ROWS_PER_READ);
    if (rows.length === 0) return;
    graph.add(rows.map((row) => ({ seq: row.seq, vector: new Float32Array(new Uint8Array(row.vector).buffer) })));
  }
}
