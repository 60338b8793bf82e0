import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { ingestInBatches } from '../src/library/bulkIngest.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { PaperPreparer } from '../src/library/preparer.js';
import { bytesUnder } from '../src/library/sqlite/storage.js';
import { silentLogger } from '../src/logger.js';
import { type CorpusMix, generatePapers, readSentencePool } from './libraryCorpus.js';
import type { ProbeResult } from './libraryProbe.js';
import type { Benchmark } from './benchmark.js';

/**
 * The library at scale: builds a library of n realistic papers (abstracts recombined from SciFact's sentences,
 * unique titles) and one of n/10 in the same run with the offline embedder, and for each reports ingest time, the
 * time to add 20 papers, to open it, retrieval latency, HNSW recall@10 against an exact scan, RSS after open and
 * bytes on disk. `query_growth` and `add_growth` compare n with n/10 from the same run.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const run = promisify(execFile);

export interface LibraryBenchRow extends Omit<ProbeResult, 'queries'> {
  n: number;
  ingest_s: number;
  papers_per_s: number;
  disk_mb: number;
}

async function measure(
  n: number,
  corpus: string,
  queries: string,
  mix: CorpusMix,
  keep: string | undefined,
): Promise<LibraryBenchRow> {
  const dataDir = keep ?? (await mkdtemp(path.join(os.tmpdir(), `papercord-bench-library-${n}-`)));
  try {
    const logger = silentLogger();
    // HNSW_EF_CONSTRUCTION from the environment, as `papercord ingest` reads it.
    const config = loadConfig({ EMBEDDINGS: 'hashing', HNSW_EF_CONSTRUCTION: process.env.HNSW_EF_CONSTRUCTION });
    const embedder = await createEmbedder(config, logger);
    const pool = await readSentencePool(corpus);
    const library = await PaperLibrary.open({ dataDir, embedder, logger, efConstruction: config.HNSW_EF_CONSTRUCTION });
    const startedAt = performance.now();
    // As `papercord ingest` does for a large source: embedding and analysis on a worker thread.
    const preparer = await PaperPreparer.start(config, embedder, logger);
    const graph = await library.startBulkGraph();
    let lastReport = startedAt;
    await ingestInBatches(library, generatePapers(pool, n, 1, 0, mix), {
      prepare: preparer && ((papers) => preparer.prepare(papers)),
      graph,
      onProgress: ({ done }) => {
        if (performance.now() - lastReport < 10_000) return;
        lastReport = performance.now();
        const rate = done / ((lastReport - startedAt) / 1000);
        process.stderr.write(`  n=${n}: ${done} papers ingested, ${rate.toFixed(0)}/s\n`);
      },
    });
    await preparer?.close();
    await library.close();
    const ingestS = (performance.now() - startedAt) / 1000;
    const diskMb = (await bytesUnder(path.join(dataDir, 'library'))) / 1024 / 1024;
    process.stderr.write(`  n=${n}: ingested in ${ingestS.toFixed(1)} s; probing a fresh process\n`);
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', path.join(HERE, 'libraryProbe.ts'), dataDir, String(n), corpus, queries, mix],
      {
        cwd: REPO,
        maxBuffer: 1024 * 1024,
      },
    );
    process.stderr.write(stderr);
    const probe = JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
    const { queries: _count, ...measured } = probe;
    return {
      n,
      ingest_s: round(ingestS),
      papers_per_s: Math.round(n / ingestS),
      ...measured,
      disk_mb: Math.round(diskMb),
    };
  } finally {
    if (!keep) await rm(dataDir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export const libraryBenchmark: Benchmark = {
  name: 'library',
  summary: 'library of n generated papers and one of n/10: ingest, add 20, open, query p50/p99, recall@10, RSS, disk',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      json: { type: 'boolean', default: false },
      corpus: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/corpus.jsonl.gz') },
      queries: { type: 'string', default: path.join(REPO, '../shared/eval/scifact/queries-train.jsonl') },
      keep: { type: 'string' },
      mix: { type: 'string', default: 'topical' },
    });
    if (values.mix !== 'topical' && values.mix !== 'uniform')
      throw new UsageError(`--mix is topical or uniform, not "${values.mix}"`);
    const mix: CorpusMix = values.mix;
    const n = parseCount(values.n, '--n', 100_000, 10_000_000);
    const small = Math.max(1, Math.round(n / 10));
    process.stderr.write(
      `library bench: n=${small} then n=${n}, ${mix} abstracts (load: ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')})\n`,
    );
    const smaller = await measure(small, values.corpus, values.queries, mix, undefined);
    const larger = await measure(n, values.corpus, values.queries, mix, values.keep);
    const result = {
      ...larger,
      query_growth: Math.round((larger.query_p50_ms / smaller.query_p50_ms) * 100) / 100,
      add_growth: Math.round((larger.add20_ms / smaller.add20_ms) * 100) / 100,
    };
    const ordered = {
      n: result.n,
      ingest_s: result.ingest_s,
      papers_per_s: result.papers_per_s,
      add20_ms: result.add20_ms,
      open_ms: result.open_ms,
      query_p50_ms: result.query_p50_ms,
      query_p99_ms: result.query_p99_ms,
      recall10: result.recall10,
      rss_mb: result.rss_mb,
      disk_mb: result.disk_mb,
      query_growth: result.query_growth,
      add_growth: result.add_growth,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(ordered)}\n`);
      return;
    }
    const columns = [
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
    for (const row of [smaller, larger]) process.stdout.write(`${columns.map((column) => row[column]).join('\t')}\n`);
    process.stdout.write(
      `query_growth ${ordered.query_growth}, add_growth ${ordered.add_growth} (load: ${os.loadavg()[0]!.toFixed(2)})\n`,
    );
  },
};
