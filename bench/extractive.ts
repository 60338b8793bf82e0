import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AnswerService, type Answer } from '../src/answering/answerService.js';
import { splitSentences } from '../src/text/sentences.js';
import { loadConfig } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../src/logger.js';
import { loadPapersFromSource } from '../src/papers/ingest.js';
import { readQuestions, type EvalQuestion } from '../src/retrieval/evaluate.js';
import { HybridRetriever } from '../src/retrieval/hybrid.js';
import type { Benchmark } from './benchmark.js';

/**
 * Quality of the extractive (no-LLM) answers on the dev questions over the seed library, hashing embedder:
 *
 *   npm run bench -- extractive [--json] [--questions <jsonl> ...] [--show]
 *
 * citation precision: share of cited papers graded relevant for the question (macro over answered questions);
 * grade-2 recall: share of a question's grade-2 papers the answer cites; first sentence relevant: share of answers
 * whose first sentence cites a relevant paper; mean length in characters and sentences. Unanswerable questions
 * only count towards abstention.
 */

const DEFAULT_QUESTION_FILES = ['../shared/eval/dev-queries.jsonl', 'bench/data/dev-queries-with-unanswerable.jsonl'];

export interface ExtractiveMetrics {
  questions: number;
  answered: number;
  citation_precision: number;
  grade2_recall: number;
  first_sentence_relevant: number;
  mean_chars: number;
  mean_sentences: number;
  mean_citations: number;
  unanswerable: number;
  unanswerable_abstained: number;
}

interface Scored {
  precision: number;
  recall: number | undefined;
  firstRelevant: boolean;
  chars: number;
  sentences: number;
  citations: number;
}

export function scoreAnswer(question: EvalQuestion, answer: Answer): Scored {
  const cited = answer.citations.map((citation) => citation.title);
  const relevant = (title: string) => (question.relevant[title] ?? 0) > 0;
  const grade2 = Object.entries(question.relevant)
    .filter(([, grade]) => grade >= 2)
    .map(([title]) => title);
  const first = splitSentences(answer.answer)[0] ?? '';
  const firstNumbers = [...first.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
  const firstTitles = answer.citations
    .filter((citation) => firstNumbers.includes(citation.n))
    .map((citation) => citation.title);
  return {
    precision: cited.length === 0 ? 0 : cited.filter(relevant).length / cited.length,
    recall: grade2.length === 0 ? undefined : grade2.filter((title) => cited.includes(title)).length / grade2.length,
    firstRelevant: firstTitles.some(relevant),
    chars: answer.answer.length,
    sentences: splitSentences(answer.answer).length,
    citations: cited.length,
  };
}

const mean = (values: number[]) =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

export const extractiveBenchmark: Benchmark = {
  name: 'extractive',
  summary:
    'extractive answers on the dev questions: citation precision, grade-2 recall, first sentence relevant, length',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        json: { type: 'boolean', default: false },
        /** Print every question with its answer, for reading rather than counting. */
        show: { type: 'boolean', default: false },
        questions: { type: 'string', multiple: true },
      },
    });
    const files = values.questions ?? DEFAULT_QUESTION_FILES.filter((file) => existsSync(file));
    // The second file repeats the first one's questions and adds unanswerable ones: take each id once.
    const byId = new Map<string, EvalQuestion>();
    for (const file of files) for (const question of await readQuestions(file)) byId.set(question.id, question);
    const questions = [...byId.values()];

    const logger = silentLogger();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-bench-extractive-'));
    const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing' });
    const embedder = await createEmbedder(config, logger);
    const library = await PaperLibrary.open({ dataDir, embedder, logger });
    try {
      await library.add(await loadPapersFromSource('seeds'));
      const answers = new AnswerService({
        retriever: new HybridRetriever(library),
        resolvePaper: () => {
          throw new Error('not used');
        },
        config,
        backend: null,
        logger,
      });
      const scored: Scored[] = [];
      let unanswerable = 0;
      let unanswerableAbstained = 0;
      for (const question of questions) {
        const answer = await answers.ask(question.query);
        if (values.show)
          process.stderr.write(
            `\n${question.id} ${question.query}\n${answer.answer}\n${answer.citations.map((c) => `  [${c.n}] ${question.relevant[c.title] ?? 0} ${c.title}`).join('\n')}\n`,
          );
        if (Object.keys(question.relevant).length === 0) {
          unanswerable += 1;
          if (answer.abstained) unanswerableAbstained += 1;
          continue;
        }
        if (!answer.abstained) scored.push(scoreAnswer(question, answer));
      }
      const metrics: ExtractiveMetrics = {
        questions: questions.length,
        answered: scored.length,
        citation_precision: mean(scored.map((score) => score.precision)),
        grade2_recall: mean(scored.flatMap((score) => (score.recall === undefined ? [] : [score.recall]))),
        first_sentence_relevant: mean(scored.map((score) => (score.firstRelevant ? 1 : 0))),
        mean_chars: mean(scored.map((score) => score.chars)),
        mean_sentences: mean(scored.map((score) => score.sentences)),
        mean_citations: mean(scored.map((score) => score.citations)),
        unanswerable,
        unanswerable_abstained: unanswerableAbstained,
      };
      if (values.json) {
        process.stdout.write(`${JSON.stringify(metrics)}\n`);
      } else {
        process.stdout.write(
          [
            `Extractive answers: ${metrics.answered} answered of ${metrics.questions - unanswerable} answerable dev questions (${library.size}-paper seed library, hashing embedder)`,
            `citation precision       ${metrics.citation_precision.toFixed(3)}`,
            `grade-2 recall           ${metrics.grade2_recall.toFixed(3)}`,
            `first sentence relevant  ${metrics.first_sentence_relevant.toFixed(3)}`,
            `mean length              ${metrics.mean_chars.toFixed(0)} chars, ${metrics.mean_sentences.toFixed(2)} sentences, ${metrics.mean_citations.toFixed(2)} papers cited`,
            `unanswerable abstained   ${unanswerableAbstained}/${unanswerable}`,
          ].join('\n') + '\n',
        );
      }
    } finally {
      await library.close();
      await embedder.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
