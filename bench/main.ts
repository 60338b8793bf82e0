import { describeError, UsageError } from '../src/errors.js';
import type { Benchmark } from './benchmark.js';

/** Every benchmark; loaded only when chosen, so one benchmark's dependencies never slow another. Add one line. */
const BENCHMARKS: Record<string, { summary: string; load: () => Promise<Benchmark> }> = {
  index: {
    summary: 'HNSW against an exact scan: recall@10, latency, load vs rebuild, peak RSS',
    load: async () => (await import('./index.js')).indexBenchmark,
  },
  eval: {
    summary: 'retrieval ablation (lexical, dense, hybrid) on SciFact train and the dev questions with abstention',
    load: async () => (await import('./eval.js')).evalBenchmark,
  },
  extractive: {
    summary:
      'extractive (no-LLM) answers on the dev questions: citation precision, grade-2 recall, first sentence relevant, length',
    load: async () => (await import('./extractive.js')).extractiveBenchmark,
  },
  discord: {
    summary: '200 /ask at once through the Discord emulator: acknowledged within 3 s, answered, ack p50/p99',
    load: async () => (await import('./discord.js')).discordBenchmark,
  },
  library: {
    summary:
      'library of n generated papers (default 100000) and one of n/10, --store local|pgvector|local,pgvector: ingest, add 20, open, query p50/p99, recall@10, RSS, disk',
    load: async () => (await import('./library.js')).libraryBenchmark,
  },
  hnswlib: {
    summary:
      'the SIMD builds of hnswlib-node against the stock build: insert and search time on the same graph, recall@10',
    load: async () => (await import('./hnswlib.js')).hnswlibBenchmark,
  },
  intake: {
    summary: 'arXiv snapshot validation pass vs full ingest, PDF metadata pages vs whole document',
    load: async () => (await import('./intake.js')).intakeBenchmark,
  },
  fulltext: {
    summary:
      'body-only questions over LaTeXML fixture papers: right section cited and fact in the answer, full text on vs off',
    load: async () => (await import('./fulltext.js')).fulltextBenchmark,
  },
  cli: {
    summary:
      'wall time of papercord stats / search on a library (--data-dir): npm run cli vs the bin vs tsx, Node start included',
    load: async () => (await import('./cli.js')).cliBenchmark,
  },
  embed: {
    summary:
      'abstracts/s of the default and old default models (their exact shape, random weights) by threads and dtype, bulk ingest before/after',
    load: async () => (await import('./embed.js')).embedBenchmark,
  },
  feed: {
    summary:
      'N follows of every kind (--follows, default 10000) over generated papers: per-paper match p50/p99, deliveries/s, ranker AUC',
    load: async () => (await import('./feed.js')).feedBenchmark,
  },
  soak: {
    summary: 'mixed Discord traffic at a fixed rate for --minutes (default 2): errors, RSS growth, p50/p99',
    load: async () => (await import('./soak.js')).soakBenchmark,
  },
};

function usage(): string {
  return [
    'usage: npm run bench -- <name> [options]',
    '',
    'benchmarks:',
    ...Object.entries(BENCHMARKS).map(([name, { summary }]) => `  ${name.padEnd(12)}${summary}`),
  ].join('\n');
}

async function runBenchmark(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const entry = name === undefined ? undefined : BENCHMARKS[name];
  if (!entry) {
    process.stderr.write(`${name === undefined ? '' : `bench: unknown benchmark "${name}"\n\n`}${usage()}\n`);
    return 2;
  }
  try {
    return (await (await entry.load()).run(args)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench ${name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`bench ${name}: ${error instanceof Error ? error.stack : describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await runBenchmark(process.argv.slice(2));
