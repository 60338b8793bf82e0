import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmbedder } from '../../embeddings/registry.js';
import { UsageError, UserError } from '../../errors.js';
import type { Config } from '../../config.js';
import type { PaperEmbedder } from '../../embeddings/types.js';
import type { Library } from '../../library/library.js';
import { PaperLibrary } from '../../library/sqlite/paperLibrary.js';
import { PostgresLibrary } from '../../library/postgres/postgresLibrary.js';
import type { Logger } from '../../logger.js';
import { readBeirCorpus, readBeirQueries, readQrels } from '../../retrieval/beir.js';
import {
  evaluateBeir,
  evaluateQuestions,
  formatTrecRun,
  readQuestions,
  type QuestionOutcome,
} from '../../retrieval/evaluate.js';
import {
  CALIBRATION_SIMILARITIES,
  CALIBRATION_WEIGHTS,
  calibrate,
  type CalibrationPoint,
} from '../../retrieval/calibrate.js';
import { HybridRetriever } from '../../retrieval/hybrid.js';
import {
  DEFAULT_ABSTENTION,
  DEFAULT_HYBRID_OPTIONS,
  hybridOptionsFromSettings,
} from '../../retrieval/hybridOptions.js';
import { createReranker } from '../../retrieval/rerank.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CommandContext, type CliCommand } from '../command.js';

export const evalCommand: CliCommand = {
  usage: [
    'papercord eval --corpus corpus.jsonl[.gz] --queries queries.jsonl --qrels qrels.tsv [--json] [--run out.tsv]',
    'papercord eval --queries questions.jsonl [--json]',
    'papercord eval --queries questions.jsonl --calibrate [--json]',
    '',
    '  With --corpus: builds a throwaway library from the corpus (in a temporary directory, never DATA_DIR),',
    '  runs every judged query and prints nDCG@10, Recall@10, Recall@100, MRR@10 and ms per query.',
    '    --json   print {"ndcg@10","recall@10","recall@100","mrr@10","ms_per_query","queries"}',
    '    --run    also write the rankings (top 100) in TREC run format: qid Q0 docid rank score papercord',
    '',
    '  Without --corpus: asks each question ({"id","query","kind","relevant":{"<exact title>":grade}}) of the',
    '  current library and prints Recall@5, MRR@10, nDCG@10, the abstention rate (confidence none) on unanswerable',
    '  questions (empty "relevant"), the false-abstention rate on the others, and the share graded low.',
    '    --json   print {"recall@5","mrr@10","ndcg@10","abstention","false_abstention","low_rate","false_high",',
    '             "abstention_or_low","low_answerable","queries"}: false_high is the share of unanswerable questions',
    '             answered with confidence high, abstention_or_low the share graded none or low',
    '',
    '  With --calibrate: tries dense weights 0 to 0.8 and dense similarity thresholds 0.10 to 0.60 on the question',
    '  set and prints the best DENSE_WEIGHT and MIN_DENSE_SIMILARITY with their metrics, beside the current ones.',
    '  Maximized: Recall@5 + abstention - false abstention (+ MRR@10 / 10 to break ties). Include unanswerable',
    '  questions, or nothing holds the threshold up.',
    '    --json   print {"best":{"dense_weight","min_dense_similarity",...metrics},"current":{...},"top":[...]}',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      qrels: { type: 'string' },
      run: { type: 'string' },
      json: { type: 'boolean', default: false },
      calibrate: { type: 'boolean', default: false },
    });
    if (!values.queries) throw new UsageError('eval needs --queries');
    if (values.corpus) {
      if (values.calibrate) throw new UsageError('--calibrate goes with a question set (--queries without --corpus)');
      if (!values.qrels) throw new UsageError('eval --corpus needs --qrels');
      await evaluateBenchmark(
        { corpus: values.corpus, queries: values.queries, qrels: values.qrels, run: values.run, json: values.json },
        context,
      );
      return;
    }
    if (values.qrels) throw new UsageError('--qrels goes with --corpus (a BEIR benchmark)');
    if (values.run) throw new UsageError('--run goes with --corpus (a BEIR benchmark)');
    if (values.calibrate) await calibrateOnQuestions(values.queries, values.json, context);
    else await evaluateQuestionSet(values.queries, values.json, context);
  },
};

async function calibrateOnQuestions(file: string, json: boolean, context: CommandContext): Promise<void> {
  const questions = await readQuestions(file);
  if (questions.length === 0) throw new UserError(`${file} holds no questions`);
  const { config, logger, signal } = context;
  const { library } = await context.services();
  if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);
  const reranker = await createReranker(config, logger, { signal });
  try {
    const kind = library.embedder.kind;
    const settings = hybridOptionsFromSettings(config, library.embedder);
    const currentWeight = (settings.denseWeight ?? DEFAULT_HYBRID_OPTIONS.denseWeight)[kind];
    const currentSimilarity = (settings.abstention || DEFAULT_ABSTENTION).minDenseSimilarity[kind];
    context.stderr.write(`calibrating on ${questions.length} questions with ${library.embedder.description}…\n`);
    const points = await calibrate(library, await library.all(), questions, {
      base: { reranker, logger },
      weights: [...new Set([...CALIBRATION_WEIGHTS, currentWeight])].sort((a, b) => a - b),
      similarities: [...new Set([...CALIBRATION_SIMILARITIES, currentSimilarity])].sort((a, b) => a - b),
      signal,
    });
    const current = points.find(
      (point) => point.denseWeight === currentWeight && point.minDenseSimilarity === currentSimilarity,
    )!;
    const best = points[0]!;
    if (questions.every((question) => Object.keys(question.relevant).length > 0)) {
      context.stderr.write(
        'note: no unanswerable questions, so nothing keeps MIN_DENSE_SIMILARITY from abstaining too rarely\n',
      );
    }
    const row = (point: CalibrationPoint) => ({
      dense_weight: point.denseWeight,
      min_dense_similarity: point.minDenseSimilarity,
      ...point.metrics,
    });
    if (json) {
      context.stdout.write(
        `${JSON.stringify({ best: row(best), current: row(current), top: points.slice(0, 5).map(row) })}\n`,
      );
      return;
    }
    const percent = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`);
    const line = (label: string, point: CalibrationPoint) =>
      `${label.padEnd(9)} ${point.denseWeight.toFixed(2).padStart(12)} ${point.minDenseSimilarity.toFixed(2).padStart(20)}  ` +
      `${point.metrics['recall@5'].toFixed(4)}  ${point.metrics['mrr@10'].toFixed(4)}  ${percent(point.metrics.abstention).padStart(10)}  ` +
      `${percent(point.metrics.false_abstention).padStart(16)}  ${percent(point.metrics.low_rate).padStart(6)}\n`;
    context.stdout.write(
      '          DENSE_WEIGHT  MIN_DENSE_SIMILARITY  R@5     MRR@10  abstention  false abstention  low\n',
    );
    context.stdout.write(line('current', current));
    points
      .slice(0, 5)
      .forEach((point, index) => context.stdout.write(line(index === 0 ? 'best' : `#${index + 1}`, point)));
    context.stdout.write(
      `\nTo use the best values, set:\nDENSE_WEIGHT=${best.denseWeight}\nMIN_DENSE_SIMILARITY=${best.minDenseSimilarity}\n`,
    );
  } finally {
    await reranker?.close();
  }
}

interface BenchmarkFiles {
  corpus: string;
  queries: string;
  qrels: string;
  run: string | undefined;
  json: boolean;
}

async function evaluateBenchmark(files: BenchmarkFiles, context: CommandContext): Promise<void> {
  const { config, logger, signal } = context;
  const startedAt = performance.now();
  const [papers, queries, qrels] = await Promise.all([
    readBeirCorpus(files.corpus),
    readBeirQueries(files.queries),
    readQrels(files.qrels),
  ]);
  if (papers.length === 0) throw new UserError(`${files.corpus} holds no documents`);

  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-eval-'));
  const closers: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true })];
  try {
    const embedder = await createEmbedder(config, logger, { signal });
    closers.push(() => embedder.close());
    const reranker = await createReranker(config, logger, { signal });
    if (reranker) closers.push(() => reranker.close());
    const { library, dispose } = await openThrowawayLibrary(config, dataDir, embedder, logger);
    closers.push(dispose);

    context.stderr.write(`indexing ${papers.length} documents with ${embedder.description}…\n`);
    const { existing } = await library.add(papers, { signal });
    if (existing > 0) {
      context.stderr.write(`note: ${existing} documents repeat another's id or title and were merged into it\n`);
    }
    const retriever = new HybridRetriever(library, {
      ...hybridOptionsFromSettings(config),
      abstention: false,
      reranker,
      logger,
    });
    const { metrics, rankings, msPerQueryP50 } = await evaluateBeir(retriever, queries, qrels, { signal });
    if (files.run) await writeFile(files.run, formatTrecRun(rankings));

    if (files.json) {
      context.stdout.write(`${JSON.stringify(metrics)}\n`);
    } else {
      context.stdout.write(
        table([
          ['nDCG@10', metrics['ndcg@10'].toFixed(4)],
          ['Recall@10', metrics['recall@10'].toFixed(4)],
          ['Recall@100', metrics['recall@100'].toFixed(4)],
          ['MRR@10', metrics['mrr@10'].toFixed(4)],
          ['ms/query', `${metrics.ms_per_query.toFixed(1)} mean, ${msPerQueryP50.toFixed(1)} median`],
          ['queries', String(metrics.queries)],
        ]),
      );
    }
    context.stderr.write(
      `done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s${files.run ? `; run written to ${files.run}` : ''}\n`,
    );
  } finally {
    while (closers.length > 0) await closers.pop()!();
  }
}

/**
 * Where the benchmark's library is built, in the store `VECTOR_STORE` names: a temp directory, or tables of their
 * own in DATABASE_URL (dropped afterwards), never the user's library.
 */
async function openThrowawayLibrary(
  config: Config,
  dataDir: string,
  embedder: PaperEmbedder,
  logger: Logger,
): Promise<{ library: Library; dispose(): Promise<void> }> {
  if (config.VECTOR_STORE === 'hnsw') {
    const library = await PaperLibrary.open({ dataDir, embedder, logger });
    return { library, dispose: () => library.close() };
  }
  if (!config.DATABASE_URL)
    throw new UserError(
      'VECTOR_STORE=pgvector needs DATABASE_URL, e.g. postgres://papercord:secret@127.0.0.1:5432/papercord',
    );
  const tableName = `papercord_eval_${process.pid}_${Date.now().toString(36)}`;
  const library = await PostgresLibrary.open({ connectionString: config.DATABASE_URL, embedder, logger, tableName });
  return { library, dispose: () => library.drop() };
}

async function evaluateQuestionSet(file: string, json: boolean, context: CommandContext): Promise<void> {
  const questions = await readQuestions(file);
  if (questions.length === 0) throw new UserError(`${file} holds no questions`);
  const { library, retriever } = await context.services();
  if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);

  const { metrics, outcomes, missingTitles } = await evaluateQuestions(retriever, await library.all(), questions, {
    signal: context.signal,
  });
  for (const title of missingTitles)
    context.stderr.write(`note: "${title}" is not in the library (counted as not found)\n`);

  if (json) {
    context.stdout.write(`${JSON.stringify(metrics)}\n`);
    return;
  }
  const answerable = outcomes.filter((outcome) => Object.keys(outcome.question.relevant).length > 0).length;
  const rate = (value: number | null, of: number, kind: string) =>
    value === null ? `n/a (no ${kind} questions)` : `${(value * 100).toFixed(1)}% of ${of} ${kind}`;
  context.stdout.write(
    table([
      ['Recall@5', metrics['recall@5'].toFixed(4)],
      ['MRR@10', metrics['mrr@10'].toFixed(4)],
      ['nDCG@10', metrics['ndcg@10'].toFixed(4)],
      ['abstention', rate(metrics.abstention, outcomes.length - answerable, 'unanswerable')],
      ['false abstention', rate(metrics.false_abstention, answerable, 'answerable')],
      ['low confidence', lowRates(outcomes)],
      ['false high', rate(metrics.false_high, outcomes.length - answerable, 'unanswerable')],
      ['queries', String(metrics.queries)],
    ]),
  );
  const misses = outcomes.filter((outcome) =>
    Object.keys(outcome.question.relevant).length === 0
      ? !outcome.abstained
      : outcome.abstained || outcome['recall@5'] < 1 || outcome.confidence === 'low',
  );
  for (const miss of misses) {
    const what =
      Object.keys(miss.question.relevant).length === 0
        ? `confidence ${miss.confidence}, expected none`
        : miss.abstained
          ? 'abstained'
          : `recall@5 ${miss['recall@5'].toFixed(2)} (confidence ${miss.confidence})`;
    const missing = miss.missing.length > 0 ? ` (missing: ${miss.missing.join(', ')})` : '';
    context.stderr.write(`  ${miss.question.id}: ${what}${missing}: ${miss.question.query}\n`);
  }
}

/** "12.5% (8 answerable, 2 unanswerable)": how often, and on which kind of question, the answer was unsure. */
function lowRates(outcomes: readonly QuestionOutcome[]): string {
  const low = outcomes.filter((outcome) => outcome.confidence === 'low');
  const unanswerable = low.filter((outcome) => Object.keys(outcome.question.relevant).length === 0).length;
  const share = outcomes.length === 0 ? 0 : (low.length / outcomes.length) * 100;
  return `${share.toFixed(1)}% (${low.length - unanswerable} answerable, ${unanswerable} unanswerable)`;
}

function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join('');
}
