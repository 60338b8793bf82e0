import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import { createServices } from '../../src/services.js';
import { runPapercord } from '../support/cli.js';
import { seededDataDir, type Cleanup } from '../support/processes.js';

const now = new Date().toISOString();
const ROUTING: Paper = {
  id: paperId({ title: 'Token routing in sparse mixture of experts for video diffusion' }),
  title: 'Token routing in sparse mixture of experts for video diffusion',
  abstract:
    'We study how a learned router assigns each token to experts in a sparse mixture of experts. ' +
    'Routing with expert capacity limits keeps the load balanced across experts. ' +
    'We apply the sparse mixture of experts to video diffusion models and halve training cost.',
  source: 'test',
  authors: ['Léna Fischer'],
  primaryCategory: 'cs.CV',
  publishedAt: now,
};
const PROTEINS: Paper = {
  id: paperId({ title: 'Protein language models learn contact maps without supervision' }),
  title: 'Protein language models learn contact maps without supervision',
  abstract: 'A protein language model trained on amino acid sequences predicts residue contact maps.',
  source: 'test',
  authors: ['Lukas Fischer'],
  primaryCategory: 'q-bio.BM',
  publishedAt: now,
};
const OLD: Paper = {
  ...ROUTING,
  id: paperId({ title: 'Sparse mixture of experts routing, a year ago' }),
  title: 'Sparse mixture of experts routing, a year ago',
  publishedAt: new Date(Date.now() - 365 * 86_400_000).toISOString(),
};

/** Removed after the whole file: every test reads the same library. */
const cleanups: Cleanup[] = [];
let dataDir: string;

beforeAll(async () => {
  ({ dataDir } = await seededDataDir('papercord-feed-cli-', cleanups));
  const services = await createServices(
    loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' }),
    silentLogger(),
  );
  await services.library.add([ROUTING, PROTEINS, OLD]);
  await services.close();
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const preview = (...args: string[]) => runPapercord(['feed', 'preview', ...args], { DATA_DIR: dataDir });
const rowsOf = (stdout: string) => JSON.parse(stdout) as { id: string; title: string; score: number; why: string }[];

describe('papercord feed preview', () => {
  it('given a topic, it should print the papers of the window it matches as JSON rows, and not older ones', async () => {
    const { code, stdout } = await preview('--topic', 'sparse mixture of experts routing', '--json');
    expect(code).toBe(0);
    const rows = rowsOf(stdout);
    const routing = rows.find((row) => row.id === ROUTING.id);
    expect(routing).toEqual({
      id: ROUTING.id,
      title: ROUTING.title,
      score: expect.any(Number),
      why: 'follows topic "sparse mixture of experts routing"',
    });
    expect(rows.map((row) => row.id)).not.toContain(PROTEINS.id);
    expect(rows.map((row) => row.id)).not.toContain(OLD.id);
    expect(
      rowsOf((await preview('--topic', 'sparse mixture of experts routing', '--since', '400d', '--json')).stdout).map(
        (row) => row.id,
      ),
    ).toContain(OLD.id);
  });

  it('given an excluded word, it should leave out the paper that has it', async () => {
    const { stdout } = await preview(
      '--topic',
      'sparse mixture of experts routing',
      '--exclude',
      'video, speech',
      '--json',
    );
    expect(rowsOf(stdout).map((row) => row.id)).not.toContain(ROUTING.id);
  });

  it('given an author, a category or a question, it should print what that follow would have delivered and why', async () => {
    expect(rowsOf((await preview('--author', 'Fischer, Lena', '--json')).stdout)).toEqual([
      { id: ROUTING.id, title: ROUTING.title, score: 1, why: 'by Léna Fischer' },
    ]);
    expect(rowsOf((await preview('--category', 'q-bio.bm', '--json')).stdout).map((row) => row.id)).toEqual([
      PROTEINS.id,
    ]);
    const question = await preview(
      '--question',
      'How does a router assign tokens to experts in a sparse mixture of experts?',
    );
    expect(question.code).toBe(0);
    expect(question.stdout).toContain(ROUTING.title);
    expect(question.stdout).toContain('We study how a learned router assigns each token to experts');
  });

  it('given a bad category, no follow or two, or a bad window, it should exit non-zero with one readable line', async () => {
    const badCategory = await preview('--category', 'cs.XX');
    expect(badCategory.code).not.toBe(0);
    expect(badCategory.stderr.trim().split('\n')[0]).toMatch(/"cs\.XX" is not an arXiv category/);
    const none = await preview('--json');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exactly one of --topic, --author, --category, --paper, --question');
    const two = await preview('--topic', 'routing', '--author', 'Lena Fischer');
    expect(two.code).toBe(2);
    const window = await preview('--topic', 'routing', '--since', 'forever');
    expect(window.code).toBe(2);
    expect(window.stderr).toContain('--since expects a number and h, d or w');
  });
});
