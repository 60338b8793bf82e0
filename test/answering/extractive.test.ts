import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerService } from '../../src/answering/answerService.js';
import { verifyCitations } from '../../src/answering/citations.js';
import { NOT_STATED } from '../../src/answering/facets.js';
import { splitSentences } from '../../src/text/sentences.js';
import { openExtractiveAnswers, type SeedLibrary } from './seedLibrary.js';

let seeds: SeedLibrary;
let answers: AnswerService;

beforeAll(async () => {
  ({ seeds, answers } = await openExtractiveAnswers());
});
afterAll(() => seeds.close());

describe('extractive answers on the seed library (no LLM configured)', () => {
  it('given a question about long byte sequences, it should cite the byte-level papers and every [n] should resolve', async () => {
    const answer = await answers.ask('how do byte-level models avoid very long sequences?');
    expect(answer).toMatchObject({ abstained: false, model: 'extractive' });
    const titles = answer.citations.map((citation) => citation.title).join(' | ');
    expect(titles).toMatch(/MrT5|Hierarchical Autoregressive|Dynamic Chunking/);
    const cited = verifyCitations(
      answer.answer,
      answer.citations.length === 0 ? 0 : Math.max(...answer.citations.map((c) => c.n)),
    );
    expect(cited.removed).toEqual([]);
    expect(cited.kept).toEqual(answer.citations.map((citation) => citation.n));
    // Every sentence of the answer is a sentence of the paper it cites.
    for (const sentence of splitSentences(answer.answer)) {
      const n = Number(sentence.match(/\[(\d+)\]/)![1]);
      const paper = seeds.library.get(answer.citations.find((citation) => citation.n === n)!.id)!;
      expect(paper.abstract).toContain(sentence.replace(/ \[\d+\](?=[.!?]*$)/, '').slice(0, 60));
    }
  });

  it('given the same sentence would be picked twice, it should appear once', async () => {
    const answer = await answers.ask('tokenization byte-level tokenization byte-level');
    const sentences = splitSentences(answer.answer);
    // An answer at all, of more than one sentence: an empty one would have no duplicates either.
    expect(answer.abstained).toBe(false);
    expect(sentences.length).toBeGreaterThan(1);
    expect(new Set(sentences).size).toBe(sentences.length);
  });
});

describe('extractive comparisons on the seed library', () => {
  it('given MrT5 and Dynamic Chunking, it should fill every field for both papers from their own abstracts', async () => {
    const comparison = await answers.compare(['MrT5', 'Dynamic Chunking']);
    expect(comparison.model).toBe('extractive');
    expect(comparison.papers.map((paper) => paper.title)).toEqual([
      'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
      'Dynamic Chunking for End-to-End Hierarchical Sequence Modeling',
    ]);
    for (const paper of comparison.papers) {
      const abstract = seeds.library.get(paper.id)!.abstract;
      for (const field of ['problem', 'method', 'data', 'results', 'limitations'] as const) {
        expect(paper[field].length).toBeGreaterThan(0);
        if (paper[field] !== NOT_STATED) expect(abstract).toContain(paper[field]);
      }
    }
    expect(comparison.papers[0]!.method).toMatch(/token deletion/);
    expect(comparison.papers[1]!.method).toMatch(/dynamic chunking/);
    expect(comparison.similarities.join(' ')).toMatch(/byte/);
    expect(comparison.differences[0]).toMatch(/^MrT5 \[1\].*deletion/);
    expect(comparison.differences[1]).toMatch(/\[2\].*chunking/);
    expect(comparison.whenToUse).toMatch(/\[1\].*\[2\]/);
  });

  it('given three papers, it should compare all three', async () => {
    const comparison = await answers.compare(['MrT5', 'Dynamic Chunking', 'Hierarchical Autoregressive Transformers']);
    expect(comparison.papers).toHaveLength(3);
    expect(comparison.similarities[0]).toMatch(/^All 3 papers/);
    expect(comparison.differences).toHaveLength(3);
  });
});
