import type { Paper } from '../papers/paper.js';
import {
  judgeQuestions,
  questionSetMetrics,
  scoreQuestion,
  type EvalQuestion,
  type QuestionSetMetrics,
} from './evaluate.js';
import { gradeConfidence } from './abstention.js';
import { HybridRetriever, type RetrievalLibrary, type RetrievalSignals } from './hybrid.js';
import { DEFAULT_ABSTENTION, DEFAULT_HYBRID_OPTIONS, type HybridRetrieverOptions } from './hybridOptions.js';
import type { RetrievedPaper } from './types.js';

/**
 * `papercord eval --calibrate`: searches DENSE_WEIGHT and MIN_DENSE_SIMILARITY on a question set. Each dense weight
 * ranks every question once; every similarity threshold then only regrades the recorded signals, so the whole grid
 * costs one retrieval per question and weight.
 */

export const CALIBRATION_WEIGHTS: readonly number[] = [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
/** 0.10 to 0.60 in steps of 0.01: the hashing embedder's useful range and a sentence encoder's. */
export const CALIBRATION_SIMILARITIES: readonly number[] = Array.from({ length: 51 }, (_, index) => (10 + index) / 100);

export interface CalibrationPoint {
  denseWeight: number;
  minDenseSimilarity: number;
  metrics: QuestionSetMetrics;
  /** What the search maximizes: Recall@5 + abstention − false abstention + MRR@10 / 10 (a tie-breaker). */
  objective: number;
}

export interface CalibrationOptions {
  /** The retriever's other options (a reranker, say); dense weight and threshold are what is searched. */
  base?: Partial<HybridRetrieverOptions>;
  weights?: readonly number[];
  similarities?: readonly number[];
  signal?: AbortSignal;
}

/** Every grid point, best first. */
export async function calibrate(
  library: RetrievalLibrary,
  papers: readonly Paper[],
  questions: readonly EvalQuestion[],
  options: CalibrationOptions = {},
): Promise<CalibrationPoint[]> {
  const { judged } = judgeQuestions(papers, questions);
  const base = { ...DEFAULT_HYBRID_OPTIONS, ...options.base };
  const grading = base.abstention || DEFAULT_ABSTENTION;
  const points: CalibrationPoint[] = [];
  for (const denseWeight of options.weights ?? CALIBRATION_WEIGHTS) {
    const retriever = new HybridRetriever(library, {
      ...base,
      denseWeight: { hashing: denseWeight, transformers: denseWeight },
      // Never abstain while recording: the hits and signals are kept and graded below.
      abstention: false,
    });
    const recorded: Array<{ hits: RetrievedPaper[]; signals: RetrievalSignals }> = [];
    for (const { question } of judged) {
      options.signal?.throwIfAborted();
      recorded.push(await retriever.retrieveExplained(question.query, { k: 10, signal: options.signal }));
    }
    for (const minDenseSimilarity of options.similarities ?? CALIBRATION_SIMILARITIES) {
      const abstention = {
        ...grading,
        minDenseSimilarity: { hashing: minDenseSimilarity, transformers: minDenseSimilarity },
      };
      const outcomes = judged.map(({ question, judgments }, index) => {
        const { hits, signals } = recorded[index]!;
        const confidence =
          signals.queryTerms.length === 0 ? 'none' : gradeConfidence(signals, abstention, library.embedder.kind);
        return scoreQuestion(question, judgments, hits, confidence);
      });
      const metrics = questionSetMetrics(outcomes);
      points.push({ denseWeight, minDenseSimilarity, metrics, objective: objectiveOf(metrics) });
    }
  }
  return points.sort((left, right) => right.objective - left.objective);
}

function objectiveOf(metrics: QuestionSetMetrics): number {
  return metrics['recall@5'] + (metrics.abstention ?? 0) - (metrics.false_abstention ?? 0) + metrics['mrr@10'] / 10;
}
