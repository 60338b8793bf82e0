import { seededRandom } from '../../bench/libraryCorpus.js';

/** `count` reproducible random vectors (components uniform in [-1, 1)), for index tests that need no embedder. */
export function seededVectors(count: number, dimension: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length: dimension }, () => random() * 2 - 1));
}
