import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { seedsDirectory } from '../../src/papers/ingest.js';
import { parseSeedPage } from '../../src/papers/seedPage.js';

const SEED_FILE = path.join(seedsDirectory(), '000_b2698e67a77da07d.txt');

const ABSTRACT_A =
  'We study how language models learn to count. Our experiments on synthetic tasks show that a small transformer ' +
  'learns a counting circuit after a sudden phase transition, and we explain why this happens.';
const ABSTRACT_B =
  'Tokenizers decide what a model sees. We propose a learned tokenizer that adapts to the domain at hand and ' +
  'improves perplexity on code and biomedical text without retraining the model from scratch.';

function page(...lines: string[]): string {
  return ['new', '', 'Daily Papers', '', 'Jul 29', '', ...lines.flatMap((line) => [line, ''])].join('\n');
}

function parseError(text: string): UserError {
  try {
    parseSeedPage(text, 'page.txt');
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected the page to be rejected');
}

describe('parseSeedPage', () => {
  it('given the captured Daily Papers page, it should find its 54 papers with their titles and abstracts', async () => {
    const papers = parseSeedPage(await readFile(SEED_FILE, 'utf8'), SEED_FILE);

    expect(papers).toHaveLength(54);
    expect(papers[0].title).toBe('FAIT: Fault-Aware Fine-Tuning for Better Code Generation');
    expect(papers[0].abstract).toMatch(/^Modern instruction-tuned large language models/);
    const recursions = papers.find((paper) => paper.title.startsWith('Mixture-of-Recursions'));
    expect(recursions?.abstract).toMatch(/^Scaling language models unlocks impressive capabilities/);
    expect(papers.at(-1)?.title).toBe("Let's Predict Sentence by Sentence");
    expect(papers.map((paper) => paper.title)).toContain(
      'Skill-it! A Data-Driven Skills Framework for Understanding and Training Language Models',
    );
    expect(papers.every((paper) => paper.source === 'seeds' && paper.abstract.length > 500)).toBe(true);
    expect(new Set(papers.map((paper) => paper.id)).size).toBe(54);
  });

  it('given the same page twice, once with Windows line endings, it should give every paper the same id', async () => {
    const text = await readFile(SEED_FILE, 'utf8');
    const first = parseSeedPage(text, 'a.txt').map((paper) => paper.id);
    const second = parseSeedPage(text.replace(/\n/g, '\r\n'), 'b.txt').map((paper) => paper.id);

    expect(second).toEqual(first);
    expect(first[0]).toMatch(/^t:[0-9a-f]{16}$/);
  });

  it('given a title followed by another title, it should reject the page naming the file and the title line', () => {
    const error = parseError(page('Counting Circuits', 'Learned Tokenizers', ABSTRACT_B));

    expect(error.message).toMatch(/^page\.txt:7: the title "Counting Circuits" has no abstract/);
    expect(error.message).toContain('nothing from this file was ingested');
  });

  it('given a last title with no abstract, it should reject the page at that line', () => {
    expect(parseError(page('Counting Circuits', ABSTRACT_A, 'Learned Tokenizers')).message).toMatch(
      /^page\.txt:11: the title "Learned Tokenizers" has no abstract after it/,
    );
  });

  it('given an abstract where a title belongs, it should reject the page at that line', () => {
    expect(parseError(page('Counting Circuits', ABSTRACT_A, ABSTRACT_B)).message).toMatch(
      /^page\.txt:11: expected a paper title, found prose of \d+ words/,
    );
  });

  it('given an empty or blank file, it should reject it as empty', () => {
    expect(parseError('').message).toBe('page.txt: the file is empty; nothing from this file was ingested');
    expect(parseError(' \n\n  \n').message).toMatch(/the file is empty/);
  });

  it('given binary content, it should reject it naming the line', () => {
    expect(parseError(`new\n\n\u0000\u0001\u0002PNG`).message).toMatch(/^page\.txt:3: binary content/);
    expect(parseError('Title\n\nabstract \uFFFD bytes').message).toMatch(/binary content/);
  });

  it('given only the page header, it should say no papers were found', () => {
    expect(parseError('new\n\nSubscribe\n\nDaily Papers\n\nJul 29\n').message).toMatch(/no papers found/);
  });

  it('given a short abstract that reads as a sentence, it should accept it', () => {
    const papers = parseSeedPage(
      page('Tiny Paper', 'We show that a tiny model can learn to count to ten with one layer.'),
      'page.txt',
    );

    expect(papers).toEqual([
      expect.objectContaining({ title: 'Tiny Paper', abstract: expect.stringMatching(/count to ten/) }),
    ]);
  });
});
