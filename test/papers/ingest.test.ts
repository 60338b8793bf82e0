import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { loadPapersFromSource, streamPaperLines } from '../../src/papers/ingest.js';
import { paperId } from '../../src/papers/paper.js';

const ABSTRACT =
  'We study how language models learn to count. Our experiments on synthetic tasks show that a small transformer ' +
  'learns a counting circuit after a sudden phase transition, and we explain why this happens.';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'papercord-ingest-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('loadPapersFromSource', () => {
  it('given "seeds", it should read the 54 papers of the shipped seed page', async () => {
    const papers = await loadPapersFromSource('seeds');

    expect(papers).toHaveLength(54);
    expect(papers.every((paper) => paper.source === 'seeds')).toBe(true);
  });

  it('given a JSONL file of papers, it should give them stable ids and record the file as their source', async () => {
    const file = path.join(directory, 'papers.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ title: 'Counting Circuits', abstract: ABSTRACT })}\n\n${JSON.stringify({ title: 'Other', abstract: ABSTRACT, arxivId: '2507.10524v2' })}\n`,
    );

    const papers = await loadPapersFromSource(file);

    expect(papers.map((paper) => paper.id)).toEqual([paperId({ title: 'Counting Circuits' }), 'arxiv:2507.10524']);
    expect(papers[0].source).toBe(file);
  });

  it('given a directory holding a good page and a malformed one, it should reject the whole source naming the bad file', async () => {
    await writeFile(path.join(directory, 'a.txt'), `Counting Circuits\n\n${ABSTRACT}\n`);
    await writeFile(path.join(directory, 'b.txt'), 'Counting Circuits\n\nLearned Tokenizers\n');

    await expect(loadPapersFromSource(directory)).rejects.toThrow(
      `${path.join(directory, 'b.txt')}:1: the title "Counting Circuits" has no abstract`,
    );
  });

  it('given a JSON paper without an abstract, it should reject the file naming the paper', async () => {
    const file = path.join(directory, 'papers.json');
    await writeFile(
      file,
      JSON.stringify([{ title: 'Counting Circuits', abstract: ABSTRACT }, { title: 'No Abstract' }]),
    );

    await expect(loadPapersFromSource(file)).rejects.toThrow(/papers\.json: paper 2: abstract/);
  });

  it('given a JSON paper linking to a javascript: URL, it should reject the file naming the paper and the link', async () => {
    const file = path.join(directory, 'papers.json');
    await writeFile(
      file,
      JSON.stringify([{ title: 'Counting Circuits', abstract: ABSTRACT, url: 'javascript:alert(1)' }]),
    );

    await expect(loadPapersFromSource(file)).rejects.toThrow(
      /papers\.json: paper 1: url: expected an http:\/\/ or https:\/\/ link/,
    );
  });

  it.each([
    [
      'an empty JSONL file',
      'papers.jsonl',
      '',
      /papers\.jsonl: the file is empty; nothing from this file was ingested/,
    ],
    ['an empty JSON file', 'papers.json', '\n', /papers\.json: the file is empty/],
    [
      'a binary file named .json',
      'papers.json',
      '\u007fELF\u0002\u0001\u0001\u0000\u0000',
      /papers\.json:1: binary content, not JSON/,
    ],
  ])('given %s, it should reject it with one readable line naming the file', async (_case, name, content, problem) => {
    const file = path.join(directory, name);
    await writeFile(file, content);

    const error = await loadPapersFromSource(file).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).not.toContain('\u0000');
    expect((error as Error).message).not.toContain('ELF');
  });

  it('given abstracts holding a U+FFFD character in valid UTF-8 (left by PDF extraction), it should add them, and still refuse invalid bytes', async () => {
    const abstract = `${ABSTRACT} Viral load fell (p \u00bc 7.7 3 10 \uFFFD 12) in treatment-na\u00a8ve patients.`;
    const lines = path.join(directory, 'papers.jsonl');
    await writeFile(lines, `${JSON.stringify({ title: 'Counting Circuits', abstract })}\n`);
    const array = path.join(directory, 'papers.json');
    await writeFile(array, JSON.stringify([{ title: 'Counting Circuits', abstract }]));

    expect((await loadPapersFromSource(lines)).map((paper) => paper.abstract)).toEqual([abstract]);
    expect((await loadPapersFromSource(array)).map((paper) => paper.abstract)).toEqual([abstract]);
    const streamed = await streamPaperLines(lines);
    expect(streamed.count).toBe(1);

    // A byte that is not UTF-8 at all, in the middle of an otherwise valid line, is still binary content.
    const broken = path.join(directory, 'broken.jsonl');
    await writeFile(
      broken,
      Buffer.concat([
        Buffer.from(`${JSON.stringify({ title: 'A', abstract: ABSTRACT })}\n{"title":"B","abstract":"x`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}\n'),
      ]),
    );
    await expect(loadPapersFromSource(broken)).rejects.toThrow(/broken\.jsonl:2: binary content, not JSON/);
    await expect(streamPaperLines(broken)).rejects.toThrow(/broken\.jsonl:2: binary content, not JSON/);
  });

  it('given a JSON file saved with a byte-order mark, it should read its papers', async () => {
    const file = path.join(directory, 'papers.json');
    await writeFile(file, `\uFEFF${JSON.stringify([{ title: 'Counting Circuits', abstract: ABSTRACT }])}`);

    expect((await loadPapersFromSource(file)).map((paper) => paper.title)).toEqual(['Counting Circuits']);
  });

  it('given a path that does not exist, it should say so', async () => {
    const error = await loadPapersFromSource(path.join(directory, 'missing.txt')).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/missing\.txt: no such file or directory/);
  });
});
