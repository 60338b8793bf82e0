import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmbedder } from '../../embeddings/registry.js';
import { UsageError, UserError } from '../../errors.js';
import type { Config } from '../../config.js';
import type { PaperEmbedder } from '../../embeddings/types.js';
import type { Library } from '../../library/library.js';
import { PaperLibrary } from '../../library/paperLibrary.js';
import { PostgresLibrary } from '../../library/postgresLibrary.js';
import type { Logger } from '../../logger.js';
import { readBeirCorpus, readBeirQueries, readQrels } from '../../retrieval/beir.js';
import { evaluateBeir, evaluateQuestions, formatTrecRun, readQuestions } from '../../retrieval/evaluate.js';
import { HybridRetriever } from '../../retrieval/hybrid.js';
import { createReranker } from '../../retrieval/rerank.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CommandContext, type CliCommand } from '../command.js';

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'measure retrieval quality on a BEIR benchmark or a question set',
  usage: [
    'papercord eval --corpus corpus.jsonl[.gz] --queries queries.jsonl --qrels qrels.tsv [--json] [--run out.tsv]',
    'papercord eval --queries questions.jsonl [--json]',
    '',
    '  With --corpus: builds a throwaway library from the corpus (in a temporary directory, never DATA_DIR),',
    '  runs every judged query and prints nDCG@10, Recall@10, Recall@100, MRR@10 and ms per query.',
    '    --json   print {"ndcg@10","recall@10","recall@100","mrr@10","ms_per_query","queries"}',
    '    --run    also write the rankings (top 100) in TREC run format: qid Q0 docid rank score papercord',
    '',
    '  Without --corpus: asks each question ({"id","query","kind","relevant":{"<exact title>":grade}}) of the',
    '  current library and prints Recall@5, MRR@10, nDCG@10, the abstention rate on unanswerable questions',
    '  (empty "relevant") and the false-abstention rate on the others.',
    '    --json   print {"recall@5","mrr@10","ndcg@10","abstention","false_abstention","queries"}',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, {
      corpus: { type: 'string' },
      queries: { type: 'string' },
      qrels: { type: 'string' },
      run: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (!values.queries) throw new UsageError('eval needs --queries');
    if (values.corpus) {
      if (!values.qrels) throw new UsageError('eval --corpus needs --qrels');
      await evaluateBenchmark(
        { corpus: values.corpus, queries: values.queries, qrels: values.qrels, run: values.run, json: values.json },
        context,
      );
      return;
    }
    if (values.qrels) throw new UsageError('--qrels goes with --corpus (a BEIR benchmark)');
    if (values.run) throw new UsageError('--run goes with --corpus (a BEIR benchmark)');
    await evaluateQuestionSet(values.queries, values.json, context);
  },
};

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
    const retriever = new HybridRetriever(library, { abstention: false, reranker, logger });
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
    context.stderr.write(`done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s${files.run ? `; run written to ${files.run}` : ''}\n`);
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
  if (!config.DATABASE_URL) throw new UserError('VECTOR_STORE=pgvector needs DATABASE_URL, e.g. postgres://papercord:secret@127.0.0.1:5432/papercord');
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
  for (const title of missingTitles) context.stderr.write(`note: "${title}" is not in the library (counted as not found)\n`);

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
      ['queries', String(metrics.queries)],
    ]),
  );
  const misses = outcomes.filter((outcome) =>
    Object.keys(outcome.question.relevant).length === 0 ? !outcome.abstained : outcome.abstained || outcome['recall@5'] < 1,
  );
  for (const miss of misses) {
    const what = Object.keys(miss.question.relevant).length === 0 ? 'answered, expected abstention' : miss.abstained ? 'abstained' : `recall@5 ${miss['recall@5'].toFixed(2)}`;
    context.stderr.write(`  ${miss.question.id}: ${what}: ${miss.question.query}\n`);
  }
}

function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join('');
}
