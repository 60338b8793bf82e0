import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerService } from '../../src/answering/answerService.js';
import { extractiveAnswer } from '../../src/answering/extractiveAnswer.js';
import { extractFacets, NOT_STATED } from '../../src/answering/facets.js';
import { keyTerms } from '../../src/answering/keyPhrases.js';
import type { Paper } from '../../src/papers/paper.js';
import { openExtractiveAnswers, type SeedLibrary } from './seedLibrary.js';

let seeds: SeedLibrary;
let answers: AnswerService;

beforeAll(async () => {
  ({ seeds, answers } = await openExtractiveAnswers());
});
afterAll(() => seeds.close());

const paper = (id: string, title: string, abstract: string): Paper => ({ id, title, abstract }) as Paper;

describe('which sentences an extractive answer picks', () => {
  it('given the byte-level question, it should cite MrT5 with its deletion sentence and nothing about KV caches', async () => {
    const answer = await answers.ask('how do byte-level models avoid very long sequences?');
    expect(answer.citations.map((citation) => citation.title)).toContain(
      'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
    );
    expect(answer.answer).toMatch(/token deletion mechanism[^.]*shorten/);
    expect(answer.answer).not.toMatch(/KV cache/i);
    expect(answer.citations.map((citation) => citation.title).join(' ')).not.toMatch(/TokenSelect/);
    // The generic sentence of the same abstract loses to the informative one.
    expect(answer.answer).not.toMatch(/Our approach presents a solution/);
  });

  it('given a generic sentence and an informative one with the same question words, it should pick the informative one', () => {
    const source = paper(
      'x1',
      'ShrinkNet',
      'Byte-level models process very long sequences. Our approach presents a solution to the limitations of byte-level models with long sequences. ' +
        'ShrinkNet adds a learned gate in the encoder that deletes bytes, shortening byte-level sequences by 70%.',
    );
    const answer = extractiveAnswer('how do byte-level models avoid long sequences?', [source], { maxSentences: 1 });
    expect(answer).toMatch(/^ShrinkNet adds a learned gate/);
  });

  it('given a paper retrieved far below the best one, it should not cite it', () => {
    const best = paper(
      'a',
      'Gated byte deletion',
      'We delete bytes with a learned gate in the encoder to shorten byte sequences.',
    );
    const weak = paper(
      'b',
      'KV cache selection',
      'We select KV cache entries for long byte sequences at inference time.',
    );
    expect(extractiveAnswer('how to shorten byte sequences?', [best, weak], { scores: [1, 0.2] })).not.toMatch(/\[2\]/);
    // Without scores both are cited: the weaker paper is dropped for its score, not its words.
    expect(extractiveAnswer('how to shorten byte sequences?', [best, weak])).toMatch(/\[2\]/);
  });

  it('given a question that names a paper by its acronym, it should cite that paper even with a low retrieval score', () => {
    const first = paper(
      'a',
      'T-REG: token-level reward regularization',
      'T-REG regularizes preference optimization with token-level rewards.',
    );
    const named = paper(
      'b',
      'Token-level Direct Preference Optimization',
      'We propose Token-level Direct Preference Optimization (TDPO), which adds a forward KL constraint per token.',
    );
    expect(
      extractiveAnswer('TDPO vs T-REG token-level preference optimization', [first, named], { scores: [1, 0.05] }),
    ).toMatch(/\[2\]/);
  });

  it('given two papers named by acronym, it should cite both and not quote where the code is', async () => {
    const answer = await answers.ask('TDPO vs T-REG whats the difference');
    expect(answer.citations.map((citation) => citation.title).sort()).toEqual([
      'T-REG: Preference Optimization with Token-Level Reward Regularization',
      'Token-level Direct Preference Optimization',
    ]);
    expect(answer.answer).not.toMatch(/github|release the code/i);
  });
});

describe('facets and key terms of an extractive comparison', () => {
  it("given an abstract that blames earlier work, it should not report that as the paper's limitation", () => {
    const facets = extractFacets(
      'Existing tokenizers fail on noisy text. However, current methods cannot adapt their vocabulary. We propose FlexTok, a tokenizer that merges bytes on the fly. ' +
        'FlexTok outperforms BPE by 12% on noisy benchmarks. However, existing models still cannot handle code.',
    );
    expect(facets.limitations).toBe(NOT_STATED);
    expect(facets.method).toMatch(/^We propose FlexTok/);
    expect(facets.results).toMatch(/12%/);
    expect(facets.problem).toMatch(/^Existing tokenizers fail/);
    const stated = Object.values(facets).filter((value) => value !== NOT_STATED);
    expect(new Set(stated).size).toBe(stated.length);
  });

  it('given MrT5 and Dynamic Chunking, it should describe their differences with technical phrases, not with words both use', () => {
    const { shared, distinct } = keyTerms([seeds.paper('MrT5'), seeds.paper('Dynamic Chunking')]);
    expect(distinct[1]).toContain('dynamic chunking');
    expect(distinct[0]).toContain('sequence lengths');
    // `dynamic` appears in both titles but in different phrases: not common ground.
    expect(shared).not.toContain('dynamic');
    expect(shared).toContain('byte-level');
  });
});
