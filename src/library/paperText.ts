import type { Paper } from '../papers/paper.js';

/** What the library embeds for a paper. */
export function paperEmbeddingText(paper: Paper): string {
  return `${paper.title}\n\n${paper.abstract}`;
}
