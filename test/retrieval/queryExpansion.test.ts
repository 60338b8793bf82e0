import { describe, expect, it } from 'vitest';
import type { Paper } from '../../src/papers/paper.js';
import {
  abbreviationCandidates,
  definedLongForms,
  expandShorthand,
  longFormFor,
  paraphraseExpansions,
} from '../../src/retrieval/queryExpansion.js';
import { paperNameTerms } from '../../src/retrieval/paperNames.js';

const paper = (abstract: string): Paper => ({ id: 't:1', title: 'A paper', abstract, source: 'test' });

describe('abbreviations defined in abstracts', () => {
  it.each([
    ['We introduce Mixture-of-Recursions', 'MoR', 'Mixture-of-Recursions'],
    ['we propose Token-level Direct Preference Optimization', 'TDPO', 'Token-level Direct Preference Optimization'],
    ['the standard supervised fine-tuning', 'SFT', 'supervised fine-tuning'],
    ['models such as the hierarchical network', 'H-Net', 'hierarchical network'],
  ])('given "%s (%s)", it should read the long form "%s"', (before, short, long) => {
    expect(longFormFor(short, before)).toBe(long);
  });

  it('given brackets after words that do not spell the abbreviation, it should find no definition', () => {
    expect(longFormFor('MoR', 'we measure the latency')).toBeUndefined();
  });

  it('given the best hits of a query, it should spell out only the abbreviations the query uses, not lower-case words in brackets', () => {
    const papers = [
      paper('We introduce Mixture-of-Recursions (MoR), a framework. A tokenizer maps text to items (tokens).'),
      paper('Token-level Direct Preference Optimization (TDPO) aligns models.'),
    ];
    const found = definedLongForms(abbreviationCandidates('mor vs tdpo, and tokens?'), papers);
    expect(Object.fromEntries(found)).toEqual({
      mor: 'Mixture-of-Recursions',
      tdpo: 'Token-level Direct Preference Optimization',
    });
  });
});

describe('ML shorthand', () => {
  it('given chat shorthand, it should append the long forms once, after the question', () => {
    const expanded = expandShorthand('sft vs dpo for llms? dpo again');
    expect(expanded.text).toBe(
      'sft vs dpo for llms? dpo again\nsupervised fine-tuning\ndirect preference optimization\nlarge language models',
    );
    expect(expanded.expansions.map((expansion) => expansion.short)).toEqual(['sft', 'dpo', 'llms']);
  });

  it('given a question that already spells the long form out, it should add nothing', () => {
    expect(expandShorthand('direct preference optimization (dpo) explained').expansions).toEqual([]);
  });
});

describe('ML paraphrases', () => {
  it("given a question with a known ML phrase, it should append the abstracts' wording, matching whole words only", () => {
    expect(paraphraseExpansions('how to fix teacher forcing mismatch?').map((expansion) => expansion.short)).toEqual([
      'teacher forcing',
    ]);
    expect(paraphraseExpansions('i know indexes are slow')).toEqual([]);
  });

  it('given a phrase inflected otherwise than in the list, it should still expand it (the issue\'s "memorizes the corpus in its weights")', () => {
    expect(
      paraphraseExpansions('a search model that memorizes the corpus in its weights').map(
        (expansion) => expansion.long,
      ),
    ).toEqual(['model-based retrieval document identifiers']);
    expect(paraphraseExpansions('why do attention sinks form').map((expansion) => expansion.short)).toEqual([
      'attention sink',
    ]);
  });
});

describe('paper names', () => {
  it('given a paper, it should take title identifiers, bracketed definitions and one-word title leads as names, not ordinary title words or works it mentions', () => {
    const names = paperNameTerms({
      title: 'Croc: Pixel Arithmetic with T-REG',
      abstract: 'We propose Mixture-of-Recursions (MoR) and compare it with MrT5.',
    });
    expect([...names]).toEqual(expect.arrayContaining(['croc', 'mor', 'reg']));
    expect(names.has('mrt5')).toBe(false);
    expect(names.has('pixel')).toBe(false);
    expect(names.has('arithmet')).toBe(false);
  });
});
