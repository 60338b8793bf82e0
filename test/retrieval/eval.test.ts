import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';

const BEIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/beir-tiny');
const beirArgs = [
  '--corpus',
  path.join(BEIR, 'corpus.jsonl'),
  '--queries',
  path.join(BEIR, 'queries.jsonl'),
  '--qrels',
  path.join(BEIR, 'qrels.tsv'),
];

const DEV_QUESTIONS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../bench/data/dev-queries-with-unanswerable.jsonl',
);

let root: string;

function papercord(dataDir: string, args: string[]) {
  return runPapercord(args, { DATA_DIR: dataDir });
}

/** Temp directories `eval` made under the system temp dir, to check it leaves none behind. */
async function evalTempDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('papercord-eval-'));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'papercord-eval-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('papercord eval on a BEIR benchmark', () => {
  it('given --json, it should print the documented metrics over the judged queries only', async () => {
    const dataDir = path.join(root, 'never-used');
    const before = await evalTempDirs();

    const { code, stdout } = await papercord(dataDir, ['eval', ...beirArgs, '--json']);

    expect(code).toBe(0);
    const metrics = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(metrics).sort()).toEqual(
      ['mrr@10', 'ms_per_query', 'ndcg@10', 'queries', 'recall@10', 'recall@100'].sort(),
    );
    expect(metrics.queries).toBe(3);
    // Each query's best document is its relevant one; q2's second relevant document may rank anywhere in 5.
    expect(metrics['mrr@10']).toBe(1);
    expect(metrics['recall@10']).toBe(1);
    expect(metrics['ndcg@10']).toBeGreaterThan(0.9);
    // A throwaway library: the user's DATA_DIR is never created, and the temporary one is gone.
    expect(existsSync(dataDir)).toBe(false);
    expect(await evalTempDirs()).toEqual(before);
  });

  it('given --run, it should write the rankings in TREC run format', async () => {
    const runFile = path.join(root, 'out.tsv');
    const { code, stdout } = await papercord(path.join(root, 'unused'), ['eval', ...beirArgs, '--run', runFile]);

    expect(code).toBe(0);
    expect(stdout).toMatch(/^nDCG@10\s+1\.0000$/m);
    const lines = (await readFile(runFile, 'utf8')).trim().split('\n');
    expect(lines[0]).toMatch(/^q1 Q0 d2 1 -?\d+\.\d+ papercord$/);
    expect(lines.filter((line) => line.startsWith('q1 ')).map((line) => Number(line.split(' ')[3]))).toEqual(
      Array.from({ length: lines.filter((line) => line.startsWith('q1 ')).length }, (_, index) => index + 1),
    );
    expect(lines.some((line) => line.startsWith('q4 '))).toBe(false);
  });

  it('given --corpus without --qrels, it should fail as a usage error', async () => {
    const { code, stderr } = await papercord(path.join(root, 'unused'), [
      'eval',
      '--corpus',
      path.join(BEIR, 'corpus.jsonl'),
      '--queries',
      path.join(BEIR, 'queries.jsonl'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('--qrels');
  });

  it('given a corpus file that does not exist, it should say which file in one line', async () => {
    const { code, stderr } = await papercord(path.join(root, 'unused'), [
      'eval',
      ...beirArgs.slice(2),
      '--corpus',
      path.join(root, 'missing.jsonl'),
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('missing.jsonl');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('papercord eval on a question set', () => {
  it('given answerable and unanswerable questions over the seed library, it should print the documented --json shape', async () => {
    const dataDir = path.join(root, 'seeded');
    expect((await papercord(dataDir, ['ingest'])).code).toBe(0);
    const questions = path.join(root, 'questions.jsonl');
    await writeFile(
      questions,
      [
        {
          id: 'a',
          query: 'anything on attention sinks?',
          kind: 'multi',
          relevant: {
            "ZeroTuning: Unlocking the Initial Token's Power to Enhance Large Language Models Without Training": 2,
            'Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token Phenomena in LLMs': 2,
          },
        },
        {
          id: 'b',
          query: 'byt5 variant w/ a learned delete gate',
          kind: 'single',
          relevant: { 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models': 2 },
        },
        { id: 'u', query: 'how long should i rest a steak after grilling', kind: 'unanswerable', relevant: {} },
        {
          id: 'l',
          query:
            'is there a paper where the search engine is just one big model that memorized the whole doc collection in its weights?',
          kind: 'single',
          relevant: { 'DynamicRetriever: A Pre-training Model-based IR System with Neither Sparse nor Dense Index': 2 },
        },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );

    const { code, stdout } = await papercord(dataDir, ['eval', '--queries', questions, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      'recall@5': 1,
      'mrr@10': 1,
      'ndcg@10': expect.any(Number),
      abstention: 1,
      false_abstention: 0,
      // The loosely worded question is answered with its paper, graded low: one of four.
      low_rate: 0.25,
      // The steak question is abstained on, never answered `high`.
      false_high: 0,
      abstention_or_low: 1,
      low_answerable: expect.closeTo(1 / 3, 4),
      queries: 4,
    });
  });

  it('given --calibrate, it should print the best DENSE_WEIGHT and MIN_DENSE_SIMILARITY beside the current ones', async () => {
    const dataDir = path.join(root, 'seeded');
    expect((await papercord(dataDir, ['ingest'])).code).toBe(0);
    const { code, stdout } = await papercord(dataDir, ['eval', '--queries', DEV_QUESTIONS, '--calibrate', '--json']);

    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Record<'best' | 'current', Record<string, number>> & { top: unknown[] };
    expect(result.current).toMatchObject({ dense_weight: 0.05, min_dense_similarity: 0.21, queries: 64 });
    expect(Object.keys(result.best)).toEqual([
      'dense_weight',
      'min_dense_similarity',
      'recall@5',
      'mrr@10',
      'ndcg@10',
      'abstention',
      'false_abstention',
      'low_rate',
      'false_high',
      'abstention_or_low',
      'low_answerable',
      'queries',
    ]);
    const objective = (metrics: Record<string, number>) =>
      metrics['recall@5']! + metrics.abstention! - metrics.false_abstention! + metrics['mrr@10']! / 10;
    expect(objective(result.best)).toBeGreaterThanOrEqual(objective(result.current));
    expect(result.top).toHaveLength(5);

    const text = await papercord(dataDir, ['eval', '--queries', DEV_QUESTIONS, '--calibrate']);
    expect(text.stdout).toMatch(/^current +0\.05 +0\.21 /m);
    expect(text.stdout).toContain(
      `DENSE_WEIGHT=${result.best.dense_weight}\nMIN_DENSE_SIMILARITY=${result.best.min_dense_similarity}\n`,
    );
  });

  it('given a question set without unanswerable questions, it should report the abstention rate as unknown, not 0', async () => {
    const dataDir = path.join(root, 'seeded');
    expect((await papercord(dataDir, ['ingest'])).code).toBe(0);
    const questions = path.join(root, 'answerable-only.jsonl');
    await writeFile(
      questions,
      JSON.stringify({
        id: 'a',
        query: 'byt5 variant w/ a learned delete gate',
        kind: 'single',
        relevant: { 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models': 2 },
      }),
    );

    const { code, stdout } = await papercord(dataDir, ['eval', '--queries', questions, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ abstention: null, false_abstention: 0, queries: 1 });
  });

  it('given --run without a corpus, it should fail as a usage error', async () => {
    const { code } = await papercord(path.join(root, 'unused'), ['eval', '--queries', 'q.jsonl', '--run', 'out.tsv']);
    expect(code).toBe(2);
  });
});
