import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Paper } from '../../src/papers/paper.js';
import { conceptCoverage, missingConcepts, questionRuns } from '../../src/retrieval/keyConcepts.js';
import { questionSetMetrics, scoreQuestion } from '../../src/retrieval/evaluate.js';
import { openSeedLibrary, type SeedLibrary } from '../answering/seedLibrary.js';

let seeds: SeedLibrary;
beforeAll(async () => {
  seeds = await openSeedLibrary();
});
afterAll(() => seeds.close());

describe('key concepts of a question over the seed library', () => {
  it.each([
    ['federated learning with differential privacy for llm finetuning', ['federated learning', 'differential privacy']],
    ['multi-agent llm debate to improve factuality', [expect.stringContaining('debate')]],
    // One abstract mentions "de novo protein design" in passing: that does not cover protein language models.
    ['protein language models', ['protein language models']],
  ])(
    'given "%s", whose words are common in the library but not its key concepts, it should name them and grade at most low',
    async (question, missing) => {
      const result = await seeds.retriever.retrieve(question, { k: 5 });
      expect(result.missing).toEqual(missing);
      expect(result.confidence).not.toBe('high');
    },
  );

  it('given "text to video diffusion", it should not answer high and should name video as missing', async () => {
    const result = await seeds.retriever.retrieve('text to video diffusion', { k: 5 });
    expect(['low', 'none']).toContain(result.confidence);
    expect(result.missing).toContain('video');
  });

  it.each([
    ['token-level kv cache selection for long context llm inference without training', /^TokenSelect/],
    ['recursive transformer with routers deciding the recursion depth of each token', /^Mixture-of-Recursions/],
    ['concept-aware fine-tuning with multi-token prediction', /^Improving large language models/],
  ])('given the answerable "%s", it should find no concept missing and stay high', async (question, title) => {
    const result = await seeds.retriever.retrieve(question, { k: 5 });
    expect(result).toMatchObject({ confidence: 'high', missing: [] });
    expect(result.hits[0]!.paper.title).toMatch(title);
  });
});

describe('conceptCoverage', () => {
  const paper = (abstract: string): { paper: Paper; score: number } => ({
    paper: { id: abstract.slice(0, 8), title: 'A paper', abstract, authors: [], source: 'test' } as unknown as Paper,
    score: 1,
  });
  // "protein" and "debate" are rare (one paper of 100 has protein), the other words everyday.
  const statistics = {
    documents: 100,
    frequencies: new Map([
      ['protein', 1],
      ['languag', 90],
      ['model', 95],
      ['design', 40],
      ['llm', 80],
    ]),
  };
  const runs = questionRuns('protein language models');

  it('given a paper that mentions protein once, apart from language models, it should call the concept missing', () => {
    const coverage = conceptCoverage(
      runs,
      [paper('Language models help many tasks. We also test de novo protein design.')],
      statistics,
    );
    expect(missingConcepts(coverage)).toEqual(['protein language models']);
  });

  it('given a paper about protein language models, it should call the concept covered', () => {
    const coverage = conceptCoverage(runs, [paper('We train protein language models on sequences.')], statistics);
    expect(missingConcepts(coverage)).toEqual([]);
  });

  it('given a paper that never says the rare word, it should call the concept absent', () => {
    const coverage = conceptCoverage(questionRuns('llm debate'), [paper('An LLM answers questions.')], statistics);
    expect(coverage).toEqual([{ name: 'debate', state: 'absent' }]);
  });
});

describe('false_high', () => {
  it('given one of two unanswerable questions graded high, it should report false_high 0.5 and abstention_or_low 0.5', () => {
    const unanswerable = (id: string) => ({ id, query: id, kind: 'unanswerable', relevant: {} });
    const metrics = questionSetMetrics([
      scoreQuestion(unanswerable('u1'), new Map(), [], 'high'),
      scoreQuestion(unanswerable('u2'), new Map(), [], 'low', ['federated learning']),
    ]);
    expect(metrics).toMatchObject({ false_high: 0.5, abstention_or_low: 0.5, low_answerable: null });
  });
});
