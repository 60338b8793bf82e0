import { describe, expect, it } from 'vitest';
import { mrrAtK, ndcgAtK, recallAtK } from '../../src/retrieval/metrics.js';

const judgments = new Map([
  ['a', 2],
  ['b', 1],
]);

describe('ranking metrics', () => {
  it('given the ideal order, it should score nDCG@10 = 1', () => {
    expect(ndcgAtK(['a', 'b', 'x'], judgments, 10)).toBeCloseTo(1, 10);
  });

  it('given graded judgments in the wrong order, it should use 2^rel - 1 gains and log2 discounts', () => {
    // DCG = (2^1-1)/log2(2) + (2^2-1)/log2(3) = 1 + 3/1.58496 = 2.89279; IDCG = 3/1 + 1/1.58496 = 3.63093
    expect(ndcgAtK(['b', 'a'], judgments, 10)).toBeCloseTo(2.89279 / 3.63093, 4);
  });

  it('given a relevant paper below the cut-off, it should not count it', () => {
    const ranking = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9', 'x10', 'a'];
    expect(ndcgAtK(ranking, judgments, 10)).toBe(0);
    expect(recallAtK(ranking, judgments, 10)).toBe(0);
    expect(mrrAtK(ranking, judgments, 10)).toBe(0);
  });

  it('given one of two relevant papers in the top 5, it should score Recall@5 = 0.5', () => {
    expect(recallAtK(['x', 'b', 'y', 'z', 'w', 'a'], judgments, 5)).toBe(0.5);
  });

  it('given the first relevant paper at rank 3, it should score MRR@10 = 1/3', () => {
    expect(mrrAtK(['x', 'y', 'b', 'a'], judgments, 10)).toBeCloseTo(1 / 3, 10);
  });

  it('given a query with no relevant papers, it should score 0 rather than divide by zero', () => {
    expect(ndcgAtK(['a'], new Map(), 10)).toBe(0);
    expect(recallAtK(['a'], new Map(), 10)).toBe(0);
  });
});
