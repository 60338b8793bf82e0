import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig, type Config } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import type { PaperEmbedder } from '../src/embeddings/types.js';
import { ingestInBatches } from '../src/library/bulkIngest.js';
import type { Library } from '../src/library/library.js';
import { PostgresLibrary } from '../src/library/postgres/postgresLibrary.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { PaperPreparer } from '../src/library/preparer.js';
import { bytesUnder } from '../src/library/sqlite/storage.js';
import { silentLogger } from '../src/logger.js';
import { type CorpusMix, generatePapers, readSentencePool } from './libraryCorpus.js';
import type { ProbeResult } from './libraryProbe.js';
import type { Benchmark } from './benchmark.js';
import { startThrowawayCluster } from './support/pgCluster.js';

/**
 * The library at scale: builds a library of n realistic papers (abstracts recombined from SciFact's sentences,
 * unique titles) and one of n/10 in the same run with the offline embedder, and for each reports ingest time, the
 * time to add 20 papers, to open it, retrieval latency, HNSW recall@10 against an exact scan, RSS after open and
 * bytes on disk. `query_growth` and `add_growth` compare n with n/10 from the same run. `--store` picks the
 * store: `local` (SQLite + hnswlib), `pgvector` (PostgreSQL: DATABASE_URL, or a throwaway cluster started for the run
 * with fsync on), or `local,pgvector`, both in one run on the same papers and queries, one JSON line per store.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const run = promisify(execFile);

export type LibraryStoreName = 'local' | 'pgvector';
const STORES: readonly LibraryStoreName[] = ['local', 'pgvector'];

export interface LibraryBenchRow extends Omit<ProbeResult, 'queries'> {
  store: LibraryStoreName;
  n: number;
  ingest_s: number;
  papers_per_s: number;
  disk_mb: number;
}

interface Measurement {
  store: LibraryStoreName;
  n: number;
  corpus: string;
  queries: string;
  mix: CorpusMix;
  /** local: the data directory to keep; pgvector: the table to keep. */
  keep: string | undefined;
  /** pgvector: the database. */
  databaseUrl?: string;
}

/** Where one measured library lives, and how to ingest into it, size it and remove it. */
interface BenchLibrary {
  library: Library;
  /** The library as `libraryProbe.ts` takes it. */
  location: string;
  bytesOnDisk(): Promise<number>;
  remove(): Promise<void>;
}

async function openBenchLibrary(
  measurement: Measurement,
  embedder: PaperEmbedder,
  config: Config,
): Promise<BenchLibrary> {
  const logger = silentLogger();
  const { store, n, keep } = measurement;
  if (store === 'local') {
    const dataDir = keep ?? (await mkdtemp(path.join(os.tmpdir(), `papercord-bench-library-${n}-`)));
    const library = await PaperLibrary.open({ dataDir, embedder, logger, efConstruction: config.HNSW_EF_CONSTRUCTION });
    return {
      library,
      location: dataDir,
      bytesOnDisk: () => bytesUnder(path.join(dataDir, 'library')),
      remove: () => (keep ? Promise.resolve() : rm(dataDir, { recursive: true, force: true })),
    };
  }
  const tableName = keep ?? `bench_library_${n}_${process.pid}`;
  const open = () => PostgresLibrary.open({ connectionString: measurement.databaseUrl!, tableName, embedder, logger });
  const library = await open();
  return {
    library,
    location: `postgres:${tableName}`,
    bytesOnDisk: async () => {
      const reopened = await open();
      try {
        return (await reopened.stats()).bytesOnDisk;
      } finally {
        await reopened.close();
      }
    },
    remove: async () => {
      if (keep) return;
      await (await open()).drop();
    },
  };
}

async function measure(measurement: Measurement): Promise<LibraryBenchRow> {
  const { store, n, corpus, queries, mix } = measurement;
  const logger = silentLogger();
  // HNSW_EF_CONSTRUCTION from the environment, as `papercord ingest` reads it.
  const config = loadConfig({ EMBEDDINGS: 'hashing', HNSW_EF_CONSTRUCTION: process.env.HNSW_EF_CONSTRUCTION });
  const embedder = await createEmbedder(config, logger);
  const pool = await readSentencePool(corpus);
  const bench = await openBenchLibrary(measurement, embedder, config);
  const label = `${store} n=${n}`;
  try {
    const { library } = bench;
    const startedAt = performance.now();
    // As `papercord ingest` does for a large source: embedding and analysis on a worker thread.
    const preparer = await PaperPreparer.start(config, embedder, logger);
    const graph = await library.startBulkGraph?.();
    let lastReport = startedAt;
    await ingestInBatches(library, generatePapers(pool, n, 1, 0, mix), {
      prepare: preparer && ((papers) => preparer.prepare(papers)),
      graph,
      onProgress: ({ done }) => {
        if (performance.now() - lastReport < 10_000) return;
        lastReport = performance.now();
        const rate = done / ((lastReport - startedAt) / 1000);
        process.stderr.write(`  ${label}: ${done} papers ingested, ${rate.toFixed(0)}/s\n`);
      },
    });
    await preparer?.close();
    await library.close();
    const ingestS = (performance.now() - startedAt) / 1000;
    const diskMb = (await bench.bytesOnDisk()) / 1024 / 1024;
    process.stderr.write(`  ${label}: ingested in ${ingestS.toFixed(1)} s; probing a fresh process\n`);
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', path.join(HERE, 'libraryProbe.ts'), bench.location, String(n), corpus, queries, mix],
      {
        cwd: REPO,
        maxBuffer: 1024 * 1024,
        env: { ...process.env, ...(measurement.databaseUrl ? { DATABASE_URL: measurement.databaseUrl } : {}) },
      },
    );
    process.stderr.write(stderr);
    const probe = JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
    const { queries: _count, ...measured } = probe;
    return {
      store,
      n,
      ingest_s: round(ingestS),
      papers_per_s: Math.round(n / ingestS),
      ...measured,
      disk_mb: Math.round(diskMb),
    };
  } finally {
    await bench.remove();
  }
}

/**
 * The throwaway server's settings: those docs/postgresql.md gives for a library of up to 100,000 papers (the vector
 * index in memory, room to build it in one pass); every other setting is PostgreSQL's default, fsync on.
 */
const BENCH_SERVER_SETTINGS = { shared_buffers: '1GB', maintenance_work_mem: '1GB' };

/**
 * The database for `--store pgvector`: DATABASE_URL (as PostgreSQL mode reads it), else a throwaway cluster started
 * for this run with fsync on, stopped at the end.
 */
async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  const configured = loadConfig({ DATABASE_URL: process.env.DATABASE_URL }).DATABASE_URL;
  if (configured) return { url: configured, stop: async () => {} };
  process.stderr.write(
    `  pgvector: DATABASE_URL is not set; starting a throwaway PostgreSQL (fsync on, ${Object.entries(
      BENCH_SERVER_SETTINGS,
    )
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')})\n`,
  );
  return startThrowawayCluster({ settings: BENCH_SERVER_SETTINGS });
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export const libraryBenchmark: Benchmark = {
  name: 'library',
  summary:
    'library of n generated papers and one of n/10 (--store local|pgvector|local,pgvector): ingest, add 20, open, query p50/p99, recall@10, RSS, disk',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      json: { type: 'boolean', default: false },
      corpus: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/corpus.jsonl.gz') },
      queries: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/queries-train.jsonl') },
      keep: { type: 'string' },
      mix: { type: 'string', default: 'topical' },
      store: { type: 'string', default: 'local' },
    });
    if (values.mix !== 'topical' && values.mix !== 'uniform')
      throw new UsageError(`--mix is topical or uniform, not "${values.mix}"`);
    const mix: CorpusMix = values.mix;
    const stores = [...new Set(values.store.split(','))].map((name) => {
      if (!STORES.includes(name as LibraryStoreName))
        throw new UsageError(`--store is local, pgvector or both (local,pgvector), not "${name}"`);
      return name as LibraryStoreName;
    });
    if (values.keep && stores.length > 1) throw new UsageError('--keep takes one --store');
    const n = parseCount(values.n, '--n', 100_000, 10_000_000);
    const small = Math.max(1, Math.round(n / 10));
    process.stderr.write(
      `library bench: ${stores.join(' and ')}, n=${small} then n=${n}, ${mix} abstracts (load: ${loadAverage()})\n`,
    );
    const database = stores.includes('pgvector') ? await benchDatabase() : undefined;
    const rows: Array<{ smaller: LibraryBenchRow; larger: LibraryBenchRow }> = [];
    try {
      for (const store of stores) {
        const measurement = { store, corpus: values.corpus, queries: values.queries, mix, databaseUrl: database?.url };
        const smaller = await measure({ ...measurement, n: small, keep: undefined });
        const larger = await measure({ ...measurement, n, keep: values.keep });
        rows.push({ smaller, larger });
      }
    } finally {
      await database?.stop();
    }
    const ordered = rows.map(({ smaller, larger }) => ({
      store: larger.store,
      n: larger.n,
      ingest_s: larger.ingest_s,
      papers_per_s: larger.papers_per_s,
      add20_ms: larger.add20_ms,
      open_ms: larger.open_ms,
      query_p50_ms: larger.query_p50_ms,
      query_p99_ms: larger.query_p99_ms,
      recall10: larger.recall10,
      rss_mb: larger.rss_mb,
      disk_mb: larger.disk_mb,
      query_growth: Math.round((larger.query_p50_ms / smaller.query_p50_ms) * 100) / 100,
      add_growth: Math.round((larger.add20_ms / smaller.add20_ms) * 100) / 100,
    }));
    if (values.json) {
      // One line per store, each with the same keys.
      for (const row of ordered) process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    const columns = [
      'store',
      'n',
      'ingest_s',
      'papers_per_s',
      'add20_ms',
      'open_ms',
      'query_p50_ms',
      'query_p99_ms',
      'recall10',
      'rss_mb',
      'disk_mb',
    ] as const;
    process.stdout.write(`${columns.join('\t')}\n`);
    for (const { smaller, larger } of rows)
      for (const row of [smaller, larger]) process.stdout.write(`${columns.map((column) => row[column]).join('\t')}\n`);
    for (const row of ordered)
      process.stdout.write(`${row.store}: query_growth ${row.query_growth}, add_growth ${row.add_growth}\n`);
    process.stdout.write(`(load: ${loadAverage()})\n`);
  },
};

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}
