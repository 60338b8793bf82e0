import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Answer } from '../src/answering/answerService.js';
import { parseCommandArgs } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { loadPapersFromSource } from '../src/papers/ingest.js';
import { createServices, type Services } from '../src/services.js';
import {
  ArxivServer,
  fixturePapers,
  fixtureQuestions,
  ingestJson,
  type FixtureQuestion,
} from './support/arxivServer.js';
import type { Benchmark } from './benchmark.js';

/**
 * Body-only questions over the full-text fixture papers (`bench/data/fulltext/`, written before any tuning): the
 * papers are served by a loopback arXiv in LaTeXML HTML, added by their arXiv ids beside the 54 seed papers, and
 * each question is asked four ways: full text on or off, about the named paper (`ask --paper`) or the whole library.
 *
 *   npm run bench -- fulltext [--json] [--show]
 *
 * right section: a citation of the expected paper whose section is the expected one (`4.1 …`);
 * fact: the answer contains the expected fact; both: the two together.
 */

interface ModeResult {
  mode: string;
  questions: number;
  right_section: number;
  fact: number;
  both: number;
}

function rightSection(question: FixtureQuestion, answer: Answer): boolean {
  return answer.citations.some(
    (citation) =>
      citation.id === `arxiv:${question.arxivId}` && (citation.section ?? '').split(' ')[0] === question.section,
  );
}

function hasFact(question: FixtureQuestion, answer: Answer): boolean {
  return answer.answer.toLowerCase().includes(question.fact.toLowerCase());
}

async function openLibrary(dataDir: string, arxiv: ArxivServer, fullText: 'on' | 'off'): Promise<Services> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    EMBEDDINGS: 'hashing',
    LOG_LEVEL: 'silent',
    FULL_TEXT: fullText,
    ARXIV_HTML_BASE: arxiv.htmlBase,
    ARXIV_PDF_BASE: arxiv.pdfBase,
    ARXIV_API_BASE: arxiv.baseUrl,
  });
  return createServices(config, silentLogger());
}

export const fulltextBenchmark: Benchmark = {
  name: 'fulltext',
  summary:
    'body-only questions over LaTeXML fixture papers: right section cited and fact in the answer, full text on vs off',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      json: { type: 'boolean', default: false },
      show: { type: 'boolean', default: false },
    });
    const papers = fixturePapers();
    const questions = fixtureQuestions();
    const arxiv = await ArxivServer.start(papers);
    const dir = await mkdtemp(path.join(tmpdir(), 'papercord-bench-fulltext-'));
    const results: ModeResult[] = [];
    try {
      const file = path.join(dir, 'papers.json');
      await writeFile(file, ingestJson(papers));
      const setup = await openLibrary(path.join(dir, 'data'), arxiv, 'off');
      await setup.library.add([...(await loadPapersFromSource('seeds')), ...(await loadPapersFromSource(file))]);
      await setup.close();
      for (const fullText of ['on', 'off'] as const) {
        const services = await openLibrary(path.join(dir, 'data'), arxiv, fullText);
        try {
          for (const scope of ['paper', 'library'] as const) {
            const mode = `full text ${fullText}, ${scope === 'paper' ? 'ask --paper' : 'whole library'}`;
            const tally = { mode, questions: 0, right_section: 0, fact: 0, both: 0 };
            for (const question of questions) {
              const answer = await services.answers.ask(
                question.question,
                scope === 'paper' ? { paper: question.arxivId } : {},
              );
              const section = rightSection(question, answer);
              const fact = hasFact(question, answer);
              tally.questions += 1;
              tally.right_section += Number(section);
              tally.fact += Number(fact);
              tally.both += Number(section && fact);
              if (values.show && (!section || !fact)) {
                const cited = answer.citations
                  .map((citation) => `[${citation.n}, ${citation.section ?? '-'}]`)
                  .join(' ');
                process.stderr.write(
                  `${mode} ${question.id} expected §${question.section} "${question.fact}": ${cited}\n  ${answer.answer.replace(/\s+/g, ' ').slice(0, 400)}\n`,
                );
              }
            }
            results.push(tally);
          }
        } finally {
          await services.close();
        }
      }
    } finally {
      await arxiv.close();
      await rm(dir, { recursive: true, force: true });
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(results)}\n`);
      return;
    }
    const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`.padStart(8);
    process.stdout.write(
      `${questions.length} body-only questions over ${papers.length} papers (extractive answers, hashing embedder)\n\n`,
    );
    process.stdout.write(`${'mode'.padEnd(36)}${'section'.padStart(8)}${'fact'.padStart(8)}${'both'.padStart(8)}\n`);
    for (const result of results) {
      process.stdout.write(
        `${result.mode.padEnd(36)}${pct(result.right_section, result.questions)}${pct(result.fact, result.questions)}${pct(result.both, result.questions)}\n`,
      );
    }
  },
};
