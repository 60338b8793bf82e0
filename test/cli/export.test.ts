import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';

let root: string;
const library = () => path.join(root, 'library');

const PAPERS = [
  {
    arxivId: '2410.20771',
    primaryCategory: 'cs.CL',
    title: 'MrT5: Dynamic Token Merging for 50% Shorter {Byte}_Level Sequences',
    abstract: 'Byte-level models merge tokens dynamically & cut sequence length by 50%, with Ünïcode intact.',
    authors: ['Julie Kallini', 'C. Balázs'],
    publishedAt: '2024-10-28T00:00:00.000Z',
  },
  {
    arxivId: '2507.10524',
    primaryCategory: 'cs.LG',
    title: 'Mixture-of-Recursions: Learning Dynamic Recursive Depths',
    abstract: 'A router decides how many times each token passes through shared recursive layers.',
    authors: ['Sangmin Bae'],
    publishedAt: '2025-07-14T00:00:00.000Z',
  },
  {
    title: 'A Paper Without an arXiv Id',
    abstract: 'Graph neural networks for molecules, unrelated to tokens.',
    authors: ['Ada Lovelace'],
  },
];

/** Ingests a file and returns `ingest --json`'s counts. */
async function ingestJson(dataDir: string, file: string) {
  const run = await runPapercord(['ingest', '--source', file, '--json'], { DATA_DIR: dataDir });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as { new: number; existing: number; papers: number };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'papercord-export-'));
  const file = path.join(root, 'papers.jsonl');
  await writeFile(file, PAPERS.map((paper) => JSON.stringify(paper)).join('\n'));
  expect(await ingestJson(library(), file)).toMatchObject({ new: 3 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('papercord export', () => {
  for (const [format, extension] of [
    ['bibtex', 'bib'],
    ['csl-json', 'json'],
  ] as const) {
    it(`given two ids exported as ${format}, a fresh library should ingest the file back as the same two papers, and the first library should find nothing new`, async () => {
      const file = path.join(root, `two.${extension}`);
      const exported = await runPapercord(
        ['export', '--ids', 'arxiv:2410.20771,https://arxiv.org/abs/2507.10524v2', '--format', format, '-o', file],
        { DATA_DIR: library() },
      );
      expect(exported).toMatchObject({ code: 0, stdout: '', stderr: `2 papers written to ${file}\n` });

      const fresh = path.join(root, `fresh-${format}`);
      expect(await ingestJson(fresh, file)).toEqual({ new: 2, existing: 0, papers: 2, skipped: [] });
      const listed = await runPapercord(['export', '--ids', 'arxiv:2410.20771,arxiv:2507.10524', '--format', format], {
        DATA_DIR: fresh,
      });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toBe(await readFile(file, 'utf8'));

      expect(await ingestJson(library(), file)).toMatchObject({ new: 0, existing: 2, papers: 3 });
    });
  }

  it('given --query, it should export the papers the search finds, as RIS', async () => {
    const run = await runPapercord(
      ['export', '--query', 'router recursive depth per token', '-k', '1', '--format', 'ris'],
      {
        DATA_DIR: library(),
      },
    );

    expect(run.code).toBe(0);
    expect(run.stdout.match(/^TY {2}- /gm)).toHaveLength(1);
    expect(run.stdout).toContain('TI  - Mixture-of-Recursions: Learning Dynamic Recursive Depths\r\n');
  });

  it('given an id the library does not hold, it should name it, exit 1 and write nothing', async () => {
    const file = path.join(root, 'none.bib');
    const run = await runPapercord(
      ['export', '--ids', 'arxiv:2410.20771,9999.99999', '--format', 'bibtex', '-o', file],
      {
        DATA_DIR: library(),
      },
    );

    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe('papercord: not in the library: 9999.99999; nothing was exported\n');
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
  });

  it('given an unknown format or both --ids and --query, it should exit 2 with the usage', async () => {
    const format = await runPapercord(['export', '--ids', 'arxiv:2410.20771', '--format', 'endnote'], {
      DATA_DIR: library(),
    });
    const both = await runPapercord(['export', '--ids', 'x', '--query', 'y', '--format', 'ris'], {
      DATA_DIR: library(),
    });

    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/^papercord: --format is one of bibtex, csl-json, ris \(got "endnote"\)/);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^papercord: export needs either --query or --ids/);
  });
});
