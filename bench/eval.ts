import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import type { PaperEmbedder } from '../src/embeddings/types.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../src/logger.js';
import { loadPapersFromSource } from '../src/papers/ingest.js';
import type { Paper } from '../src/papers/paper.js';
import { readBeirCorpus, readBeirQueries, readQrels } from '../src/retrieval/beir.js';
import { evaluateBeir, evaluateQuestions, readQuestions } from '../src/retrieval/evaluate.js';
import { HybridRetriever } from '../src/retrieval/hybrid.js';
import { DEFAULT_QUERY_EXPANSION, type HybridRetrieverOptions } from '../src/retrieval/hybridOptions.js';
import type { Benchmark } from './benchmark.js';

/**
 * Retrieval ablation with the offline default embedder: lexical only, dense only and the default hybrid, on a
 * BEIR benchmark (SciFact train by default) and on the dev questions with unanswerable ones over the seed library.
 *
 *   npm run bench -- eval [--scifact ../shared/eval/scifact] [--questions bench/data/dev-queries-with-unanswerable.jsonl]
 *                         [--dense-weight 0.05 ...]
 */

type Variant = { name: string; options: Partial<HybridRetrieverOptions> };

function variants(denseWeights: readonly number[]): Variant[] {
  return [
    { name: 'lexical (BM25)', options: { denseWeight: { hashing: 0, transformers: 0 } } },
    { name: 'dense (HNSW)', options: { denseWeight: { hashing: 1, transformers: 1 } } },
    { name: 'hybrid (default)', options: {} },
    {
      name: 'no expansion',
      options: {
        expansion: { when: 'weak', shorthand: false, definitions: false, feedback: false, paraphrases: false },
      },
    },
    {
      name: 'weak: shorthand + feedback',
      options: { expansion: { when: 'weak', shorthand: true, definitions: false, feedback: true, paraphrases: true } },
    },
    {
      name: 'weak: shorthand',
      options: {
        expansion: { when: 'weak', shorthand: true, definitions: false, feedback: false, paraphrases: false },
      },
    },
    { name: 'no paraphrases', options: { expansion: { ...DEFAULT_QUERY_EXPANSION, paraphrases: false } } },
    {
      name: 'weak: definitions',
      options: { expansion: { when: 'weak', shorthand: false, definitions: true, feedback: false, paraphrases: true } },
    },
    {
      name: 'always: both',
      options: {
        expansion: { when: 'always', shorthand: true, definitions: true, feedback: false, paraphrases: true },
      },
    },
    {
      name: 'always: shorthand',
      options: {
        expansion: { when: 'always', shorthand: true, definitions: false, feedback: false, paraphrases: true },
      },
    },
    {
      name: 'always: definitions',
      options: {
        expansion: { when: 'always', shorthand: false, definitions: true, feedback: false, paraphrases: true },
      },
    },
    ...denseWeights.map((weight) => ({
      name: `hybrid dense=${weight}`,
      options: { denseWeight: { hashing: weight, transformers: weight } },
    })),
  ];
}

export const evalBenchmark: Benchmark = {
  name: 'eval',
  summary: 'retrieval ablation (lexical, dense, hybrid) on SciFact and the dev questions, abstention included',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        scifact: { type: 'string', default: '../shared/eval/scifact' },
        questions: {
          type: 'string',
          multiple: true,
          default: ['bench/data/dev-queries-with-unanswerable.jsonl', 'bench/data/loose-questions-tune.jsonl'],
        },
        /** Only these variants (by name), e.g. `--variant 'no expansion'`; all by default. */
        variant: { type: 'string', multiple: true, default: [] },
        /** Skips SciFact (question sets only). */
        'no-scifact': { type: 'boolean', default: false },
        /** Extra hybrid variants, e.g. `--dense-weight 0.05 --dense-weight 0.3`, for tuning. */
        'dense-weight': { type: 'string', multiple: true, default: [] },
      },
    });
    const wanted = values.variant!;
    const VARIANTS = variants(values['dense-weight']!.map(Number)).filter(
      (variant) => wanted.length === 0 || wanted.includes(variant.name),
    );
    const logger = silentLogger();
    const embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), logger);
    try {
      const directory = values.scifact!;
      if (!values['no-scifact']) {
        const [corpus, queries, qrels] = await Promise.all([
          readBeirCorpus(path.join(directory, 'corpus.jsonl.gz')),
          readBeirQueries(path.join(directory, 'queries-train.jsonl')),
          readQrels(path.join(directory, 'qrels-train.tsv')),
        ]);
        await withLibrary(embedder, corpus, async (library, indexMs) => {
          process.stdout.write(
            `SciFact train: ${corpus.length} documents indexed in ${(indexMs / 1000).toFixed(1)} s, ${qrels.size} judged queries\n`,
          );
          process.stdout.write('variant            nDCG@10  R@10    R@100   MRR@10  ms/query\n');
          for (const variant of VARIANTS) {
            const retriever = new HybridRetriever(library, { ...variant.options, abstention: false });
            const { metrics } = await evaluateBeir(retriever, queries, qrels);
            process.stdout.write(
              `${variant.name.padEnd(18)} ${[metrics['ndcg@10'], metrics['recall@10'], metrics['recall@100'], metrics['mrr@10']].map((value) => value.toFixed(4)).join('  ')}  ${metrics.ms_per_query.toFixed(1)}\n`,
            );
          }
        });
      }

      await withLibrary(embedder, await loadPapersFromSource('seeds'), async (library) => {
        for (const file of values.questions!) {
          const questions = await readQuestions(file);
          process.stdout.write(
            `\n${file}: ${questions.length} questions over the ${library.size}-paper seed library\n`,
          );
          process.stdout.write('variant            R@5     MRR@10  nDCG@10 abstention false-abstention low\n');
          for (const variant of VARIANTS) {
            const retriever = new HybridRetriever(library, variant.options);
            const { metrics } = await evaluateQuestions(retriever, library.all(), questions);
            process.stdout.write(
              `${variant.name.padEnd(18)} ${[metrics['recall@5'], metrics['mrr@10'], metrics['ndcg@10']].map((value) => value.toFixed(4)).join('  ')}  ${metrics.abstention?.toFixed(3) ?? 'n/a  '}      ${metrics.false_abstention?.toFixed(3) ?? 'n/a'}            ${metrics.low_rate.toFixed(3)}\n`,
            );
          }
        }
      });
    } finally {
      await embedder.close();
    }
  },
};

async function withLibrary(
  embedder: PaperEmbedder,
  papers: readonly Paper[],
  use: (library: PaperLibrary, indexMs: number) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-bench-eval-'));
  const library = await PaperLibrary.open({ dataDir, embedder, logger: silentLogger() });
  try {
    const startedAt = performance.now();
    await library.add(papers);
    await use(library, performance.now() - startedAt);
  } finally {
    await library.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
