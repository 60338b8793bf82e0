import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { normalizeTitle, type Paper } from '../papers/paper.js';
import type { BeirQuery } from './beir.js';
import { mean, mrrAtK, ndcgAtK, recallAtK, type Judgments } from './metrics.js';
import type { PaperRetriever, RetrievalConfidence, RetrievedPaper } from './types.js';

/** Evaluation of a retriever: BEIR benchmarks (ranking only) and question sets (ranking and abstention). */

export interface BeirMetrics {
  'ndcg@10': number;
  'recall@10': number;
  'recall@100': number;
  'mrr@10': number;
  ms_per_query: number;
  queries: number;
}

export interface RankedQuery {
  queryId: string;
  hits: RetrievedPaper[];
}

/**
 * Runs every judged query (queries without judgments are skipped, as BEIR does) and averages the metrics.
 * `rankings` keeps each query's top 100 for a TREC run file.
 */
export async function evaluateBeir(
  retriever: PaperRetriever,
  queries: readonly BeirQuery[],
  qrels: ReadonlyMap<string, Judgments>,
  options: { signal?: AbortSignal } = {},
): Promise<{ metrics: BeirMetrics; rankings: RankedQuery[]; msPerQueryP50: number }> {
  const judged = queries.filter((query) => qrels.has(query.id));
  if (judged.length === 0) throw new UserError('no query has judgments in the qrels file (do the query ids match?)');
  const perQuery = {
    ndcg: [] as number[],
    recall10: [] as number[],
    recall100: [] as number[],
    mrr: [] as number[],
    ms: [] as number[],
  };
  const rankings: RankedQuery[] = [];
  const startedAt = performance.now();
  for (const query of judged) {
    options.signal?.throwIfAborted();
    const queryStartedAt = performance.now();
    const { hits } = await retriever.retrieve(query.text, { k: 100, signal: options.signal });
    perQuery.ms.push(performance.now() - queryStartedAt);
    const ranking = hits.map((hit) => hit.paper.id);
    const judgments = qrels.get(query.id)!;
    perQuery.ndcg.push(ndcgAtK(ranking, judgments, 10));
    perQuery.recall10.push(recallAtK(ranking, judgments, 10));
    perQuery.recall100.push(recallAtK(ranking, judgments, 100));
    perQuery.mrr.push(mrrAtK(ranking, judgments, 10));
    rankings.push({ queryId: query.id, hits });
  }
  const elapsed = performance.now() - startedAt;
  return {
    metrics: {
      'ndcg@10': round(mean(perQuery.ndcg)),
      'recall@10': round(mean(perQuery.recall10)),
      'recall@100': round(mean(perQuery.recall100)),
      'mrr@10': round(mean(perQuery.mrr)),
      ms_per_query: Math.round((elapsed / judged.length) * 10) / 10,
      queries: judged.length,
    },
    rankings,
    msPerQueryP50: Math.round(median(perQuery.ms) * 10) / 10,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** TREC run format: `qid Q0 docid rank score papercord`, one line per retrieved document. */
export function formatTrecRun(rankings: readonly RankedQuery[], tag = 'papercord'): string {
  return rankings
    .flatMap(({ queryId, hits }) =>
      hits.map((hit, index) => `${queryId} Q0 ${hit.paper.id} ${index + 1} ${hit.score.toFixed(6)} ${tag}`),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** One line of a question set such as `dev-queries.jsonl`. */
export interface EvalQuestion {
  id: string;
  query: string;
  /** `unanswerable` questions have no relevant paper in the library: the retriever should abstain. */
  kind: string;
  /** Exact paper title → graded relevance (2 highly relevant, 1 relevant). */
  relevant: Record<string, number>;
}

export async function readQuestions(path: string): Promise<EvalQuestion[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
    });
  }
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, number }) => {
      let record: Partial<EvalQuestion> | undefined;
      try {
        record = JSON.parse(line) as Partial<EvalQuestion>;
      } catch {
        // Reported below with the position.
      }
      if (
        !record ||
        typeof record.query !== 'string' ||
        typeof record.relevant !== 'object' ||
        record.relevant === null
      ) {
        throw new UserError(`${path}:${number}: expected {"id","query","kind","relevant":{"<title>":grade}}`);
      }
      return {
        id: String(record.id ?? number),
        query: record.query,
        kind: String(record.kind ?? (Object.keys(record.relevant).length === 0 ? 'unanswerable' : 'single')),
        relevant: record.relevant,
      };
    });
}

export interface QuestionSetMetrics {
  'recall@5': number;
  'mrr@10': number;
  'ndcg@10': number;
  /** Share of unanswerable questions graded `none`, an abstention (higher is better); null when the set has none. */
  abstention: number | null;
  /** Share of answerable questions graded `none` (lower is better); null when the set has none. */
  false_abstention: number | null;
  /** Share of all questions graded `low`: answered with the closest papers, labelled as unsure. */
  low_rate: number;
  /**
   * Share of unanswerable questions graded `high`: answered as if the library covered them (lower is better);
   * null when the set has none. Its complement is the share graded `none` or `low`.
   */
  false_high: number | null;
  /** Share of unanswerable questions graded `none` or `low` (1 - false_high); null when the set has none. */
  abstention_or_low: number | null;
  /** Share of answerable questions graded `low`: answered, but said to be only the closest papers. */
  low_answerable: number | null;
  queries: number;
}

export interface QuestionOutcome {
  question: EvalQuestion;
  confidence: RetrievalConfidence;
  /** Confidence `none`. */
  abstained: boolean;
  /** Titles returned, best first. */
  titles: string[];
  /** The question's key concepts the hits did not cover. */
  missing: string[];
  'recall@5': number;
  'mrr@10': number;
  'ndcg@10': number;
}

/**
 * Asks every question of the set. Ranking metrics cover the answerable questions, with what the user would get:
 * a question wrongly abstained on scores 0. Relevant titles are matched to library papers by normalized title.
 */
export async function evaluateQuestions(
  retriever: PaperRetriever,
  papers: readonly Paper[],
  questions: readonly EvalQuestion[],
  options: { signal?: AbortSignal } = {},
): Promise<{ metrics: QuestionSetMetrics; outcomes: QuestionOutcome[]; missingTitles: string[] }> {
  const { judged, missingTitles } = judgeQuestions(papers, questions);
  const outcomes: QuestionOutcome[] = [];
  for (const { question, judgments } of judged) {
    options.signal?.throwIfAborted();
    const { hits, confidence, missing } = await retriever.retrieve(question.query, { k: 10, signal: options.signal });
    outcomes.push(scoreQuestion(question, judgments, hits, confidence, missing));
  }
  return { metrics: questionSetMetrics(outcomes), outcomes, missingTitles };
}

export interface JudgedQuestion {
  question: EvalQuestion;
  /** Paper id → grade. */
  judgments: Judgments;
}

/**
 * Each question with its judgments as library ids. Throws when none of the answerable questions' titles are in the
 * library (the question set is about papers that were never ingested).
 */
export function judgeQuestions(
  papers: readonly Paper[],
  questions: readonly EvalQuestion[],
): { judged: JudgedQuestion[]; missingTitles: string[] } {
  const idByTitle = new Map(papers.map((paper) => [normalizeTitle(paper.title), paper.id]));
  const missingTitles = new Set<string>();
  const judged = questions.map((question) => {
    const judgments = new Map<string, number>();
    for (const [title, grade] of Object.entries(question.relevant)) {
      const id = idByTitle.get(normalizeTitle(title));
      if (id === undefined) missingTitles.add(title);
      else judgments.set(id, Number(grade));
    }
    return { question, judgments };
  });
  const titles = new Set(questions.flatMap((question) => Object.keys(question.relevant)));
  if (titles.size > 0 && missingTitles.size === titles.size) {
    throw new UserError(
      'none of the relevant titles are in the library; ingest the papers the question set is about first',
    );
  }
  return { judged, missingTitles: [...missingTitles] };
}

/** What the user would get for one question: nothing when confidence is `none`. */
export function scoreQuestion(
  question: EvalQuestion,
  judgments: Judgments,
  hits: readonly RetrievedPaper[],
  confidence: RetrievalConfidence,
  missing: readonly string[] = [],
): QuestionOutcome {
  const abstained = confidence === 'none';
  const ranking = abstained ? [] : hits.map((hit) => hit.paper.id);
  return {
    question,
    confidence,
    abstained,
    titles: abstained ? [] : hits.map((hit) => hit.paper.title),
    missing: [...missing],
    'recall@5': recallAtK(ranking, judgments, 5),
    'mrr@10': mrrAtK(ranking, judgments, 10),
    'ndcg@10': ndcgAtK(ranking, judgments, 10),
  };
}

export function questionSetMetrics(outcomes: readonly QuestionOutcome[]): QuestionSetMetrics {
  const answerable = outcomes.filter((outcome) => Object.keys(outcome.question.relevant).length > 0);
  const unanswerable = outcomes.filter((outcome) => Object.keys(outcome.question.relevant).length === 0);
  // A rate over no questions is unknown, not 0% (which would read as "never abstains").
  const shareOf = (items: readonly QuestionOutcome[], counted: (outcome: QuestionOutcome) => boolean) =>
    items.length === 0 ? null : round(mean(items.map((outcome) => (counted(outcome) ? 1 : 0))));
  const share = (items: readonly QuestionOutcome[]) => shareOf(items, (outcome) => outcome.abstained);
  return {
    'recall@5': round(mean(answerable.map((outcome) => outcome['recall@5']))),
    'mrr@10': round(mean(answerable.map((outcome) => outcome['mrr@10']))),
    'ndcg@10': round(mean(answerable.map((outcome) => outcome['ndcg@10']))),
    abstention: share(unanswerable),
    false_abstention: share(answerable),
    low_rate: round(mean(outcomes.map((outcome) => (outcome.confidence === 'low' ? 1 : 0)))),
    false_high: shareOf(unanswerable, (outcome) => outcome.confidence === 'high'),
    abstention_or_low: shareOf(unanswerable, (outcome) => outcome.confidence !== 'high'),
    low_answerable: shareOf(answerable, (outcome) => outcome.confidence === 'low'),
    queries: outcomes.length,
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
