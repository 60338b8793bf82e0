import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { modelLoadSettings } from '../src/embeddings/model-loading.js';
import { embeddingModelProfile, type EmbeddingDtype } from '../src/embeddings/profiles.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { TransformersEmbeddings } from '../src/embeddings/transformers.js';
import { ingestInBatches } from '../src/library/bulkIngest.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { PaperPreparer, type PreparerEmbedderOptions } from '../src/library/preparer.js';
import { paperEmbeddingText } from '../src/library/paperText.js';
import { silentLogger } from '../src/logger.js';
import type { Paper } from '../src/papers/paper.js';
import { BENCH_ARCHITECTURES, writeBenchModel } from '../scripts/make-bench-model.js';
import { readCorpusPapers, spreadSample, SCIFACT_CORPUS } from './embedCorpus.js';
import type { Benchmark } from './benchmark.js';

/**
 * Real embedding speed on this machine: models with exactly the architecture of the default model (gte-small) and of
 * the old default (all-MiniLM-L6-v2), random weights, generated into a git-ignored cache, run through the real
 * transformers.js pipeline (`TransformersEmbeddings`) on SciFact abstracts. One row per model, dtype and thread
 * count, with the time 100,000 abstracts would take. Then bulk ingest (`papercord ingest`'s path: worker thread,
 * batches of 500, commits, HNSW) with the default model's architecture, as the pipeline did before (fp32, input
 * order, onnxruntime's default threads) and as it does now, side by side.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_CACHE = path.join(REPO, '.cache', 'bench-models');
const PROJECTED_ABSTRACTS = 100_000;
const run = promisify(execFile);

export interface EmbedBenchRow {
  model: string;
  threads: number;
  dtype: EmbeddingDtype;
  abstracts_per_s: number;
  projected_100k_min: number;
}

export interface IngestBenchRow {
  ingest: 'before' | 'after';
  model: string;
  dtype: EmbeddingDtype;
  batch_order: 'input' | 'length';
  threads: number | 'default';
  papers: number;
  ingest_s: number;
  papers_per_s: number;
}

interface IngestSetting {
  name: IngestBenchRow['ingest'];
  dtype: EmbeddingDtype;
  embedder: PreparerEmbedderOptions;
}

/** Before: what bulk ingest did with a model until now. After: int8 weights, batches by length, both cores. */
const INGEST_SETTINGS: readonly IngestSetting[] = [
  { name: 'before', dtype: 'fp32', embedder: { batchOrder: 'input' } },
  { name: 'after', dtype: 'q8', embedder: { batchOrder: 'length', threads: os.availableParallelism() } },
];

async function measureEmbedding(
  cache: string,
  modelId: string,
  realModel: string,
  texts: readonly string[],
  dtype: EmbeddingDtype,
  threads: number,
): Promise<number> {
  const settings = modelLoadSettings(
    loadConfig({ MODEL_CACHE_DIR: cache, ALLOW_REMOTE_MODELS: 'false', MODEL_LOAD_TIMEOUT_MS: '600000' }),
  );
  const { dimension: _dimension, ...profile } = embeddingModelProfile(realModel);
  const embeddings = await TransformersEmbeddings.load(settings, { model: modelId, dtype, threads, profile });
  try {
    await embeddings.embedDocuments(texts.slice(0, 8));
    const startedAt = performance.now();
    await embeddings.embedDocuments([...texts]);
    return texts.length / ((performance.now() - startedAt) / 1000);
  } finally {
    await embeddings.close();
  }
}

async function measureIngest(
  cache: string,
  modelId: string,
  papers: readonly Paper[],
  setting: IngestSetting,
): Promise<IngestBenchRow> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-embed-'));
  const logger = silentLogger();
  const config = loadConfig({
    EMBEDDINGS: 'transformers',
    EMBEDDING_MODEL: modelId,
    EMBEDDING_DTYPE: setting.dtype,
    MODEL_CACHE_DIR: cache,
    ALLOW_REMOTE_MODELS: 'false',
    MODEL_LOAD_TIMEOUT_MS: '600000',
  });
  // The bot's own embedder (for queries) stays on one thread, as the library's main thread needs it only to check.
  const embedder = await createEmbedder(config, logger, { threads: 1 });
  try {
    const library = await PaperLibrary.open({ dataDir, embedder, logger, efConstruction: config.HNSW_EF_CONSTRUCTION });
    const preparer = await PaperPreparer.start(config, embedder, logger, setting.embedder);
    if (!preparer) throw new Error('the embedding worker did not start');
    const graph = await library.startBulkGraph();
    const startedAt = performance.now();
    await ingestInBatches(library, papers, { prepare: (batch) => preparer.prepare(batch), graph });
    const seconds = (performance.now() - startedAt) / 1000;
    await preparer.close();
    await library.close();
    return {
      ingest: setting.name,
      model: modelId,
      dtype: setting.dtype,
      batch_order: setting.embedder.batchOrder ?? 'length',
      threads: setting.embedder.threads ?? 'default',
      papers: papers.length,
      ingest_s: round(seconds, 1),
      papers_per_s: round(papers.length / seconds, 2),
    };
  } finally {
    await embedder.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function ingestInChild(
  setting: IngestBenchRow['ingest'],
  model: string,
  count: number,
  cache: string,
  corpus: string,
): Promise<IngestBenchRow> {
  const args = ['--import', 'tsx', path.join(REPO, 'bench', 'main.ts'), 'embed', '--json', '--ingest-only', setting];
  args.push('--models', model, '--ingest', String(count), '--cache', cache, '--corpus', corpus);
  const { stdout } = await run(process.execPath, args, { cwd: REPO, maxBuffer: 1024 * 1024 });
  const row = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Partial<IngestBenchRow>)
    .find((parsed) => parsed.ingest === setting);
  if (!row) throw new Error(`the ${setting} ingest printed no result`);
  return row as IngestBenchRow;
}

async function meanTokens(cache: string, modelId: string, texts: readonly string[]): Promise<number> {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = cache;
  const tokenizer = await AutoTokenizer.from_pretrained(modelId);
  const counts = texts.map((text) => Math.min(512, tokenizer.encode(text).length));
  return counts.reduce((total, count) => total + count, 0) / counts.length;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

export const embedBenchmark: Benchmark = {
  name: 'embed',
  summary:
    'abstracts/s of the default and old default models (generated, random weights) with 1 and 2 threads, fp32 and int8, and bulk ingest before/after',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      json: { type: 'boolean', default: false },
      abstracts: { type: 'string' },
      ingest: { type: 'string' },
      models: { type: 'string', default: Object.keys(BENCH_ARCHITECTURES).join(',') },
      cache: { type: 'string', default: DEFAULT_CACHE },
      corpus: { type: 'string', default: SCIFACT_CORPUS },
      'no-ingest': { type: 'boolean', default: false },
      // onnxruntime-node aborts the process when a second worker thread runs a model after the first one ended
      // (napi handle scope); until that is fixed, run each ingest setting in its own process with --ingest-only.
      'ingest-only': { type: 'string' },
    });
    const count = parseCount(values.abstracts, '--abstracts', 160, 5000);
    const ingestCount = parseCount(values.ingest, '--ingest', 1000, 5183);
    const models = values.models.split(',').map((name) => name.trim());
    for (const name of models) {
      if (!BENCH_ARCHITECTURES[name])
        throw new UsageError(`--models: no architecture ${name} (${Object.keys(BENCH_ARCHITECTURES).join(', ')})`);
    }
    const say = (line: string) => process.stderr.write(`${line}\n`);
    const corpus = await readCorpusPapers(values.corpus);
    const texts = spreadSample(corpus, count).map(paperEmbeddingText);
    say(`embed bench: ${texts.length} SciFact abstracts, models under ${values.cache} (load: ${loadAverage()})`);

    const rows: EmbedBenchRow[] = [];
    const modelIds = new Map<string, string>();
    for (const name of models) {
      if (values['ingest-only'] !== undefined) {
        modelIds.set(name, await writeBenchModel(values.cache, name, []));
        continue;
      }
      const startedAt = performance.now();
      const modelId = await writeBenchModel(
        values.cache,
        name,
        corpus.map((paper) => `${paper.title} ${paper.abstract}`),
      );
      modelIds.set(name, modelId);
      const realModel = BENCH_ARCHITECTURES[name]!.realModel;
      say(
        `  ${modelId} (shape of ${realModel}) ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s; ` +
          `${(await meanTokens(values.cache, modelId, texts)).toFixed(0)} tokens per abstract on average`,
      );
      for (const dtype of ['fp32', 'q8'] as const) {
        for (const threads of [1, 2]) {
          const perSecond = await measureEmbedding(values.cache, modelId, realModel, texts, dtype, threads);
          const row: EmbedBenchRow = {
            model: realModel,
            threads,
            dtype,
            abstracts_per_s: round(perSecond, 2),
            projected_100k_min: round(PROJECTED_ABSTRACTS / perSecond / 60, 1),
          };
          rows.push(row);
          say(`  ${JSON.stringify(row)} (load: ${loadAverage()})`);
        }
      }
    }

    const ingestRows: IngestBenchRow[] = [];
    if (!values['no-ingest']) {
      const name = models[0]!;
      const papers = spreadSample(corpus, ingestCount);
      say(
        `bulk ingest of ${papers.length} abstracts with ${modelIds.get(name)}, before and after (load: ${loadAverage()})`,
      );
      const only = values['ingest-only'];
      if (only !== undefined && !INGEST_SETTINGS.some((setting) => setting.name === only))
        throw new UsageError(`--ingest-only is before or after, not "${only}"`);
      for (const setting of INGEST_SETTINGS.filter((candidate) => only === undefined || candidate.name === only)) {
        // Each setting in a process of its own when both run (see --ingest-only).
        const row =
          only === undefined
            ? await ingestInChild(setting.name, name, ingestCount, values.cache, values.corpus)
            : await measureIngest(values.cache, modelIds.get(name)!, papers, setting);
        ingestRows.push(row);
        say(`  ${JSON.stringify(row)} (load: ${loadAverage()})`);
      }
    }
    const [before, after] = ingestRows;
    const ratio = before && after ? round(after.papers_per_s / before.papers_per_s, 2) : undefined;

    if (values.json) {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
      for (const row of ingestRows) process.stdout.write(`${JSON.stringify(row)}\n`);
      if (ratio !== undefined) process.stdout.write(`${JSON.stringify({ ingest_speedup: ratio })}\n`);
      return;
    }
    process.stdout.write('model                       threads  dtype  abstracts/s  100k abstracts\n');
    for (const row of rows) {
      process.stdout.write(
        `${row.model.padEnd(28)}${String(row.threads).padEnd(9)}${row.dtype.padEnd(7)}` +
          `${row.abstracts_per_s.toFixed(2).padStart(11)}  ${row.projected_100k_min.toFixed(1).padStart(8)} min\n`,
      );
    }
    for (const row of ingestRows) {
      process.stdout.write(
        `ingest ${row.ingest.padEnd(7)} ${row.dtype}, ${row.batch_order} order, threads ${row.threads}: ` +
          `${row.papers} papers in ${row.ingest_s} s (${row.papers_per_s}/s)\n`,
      );
    }
    if (ratio !== undefined) process.stdout.write(`bulk ingest after/before: ${ratio}x\n`);
    process.stdout.write(`load average at the end: ${loadAverage()}\n`);
  },
};
