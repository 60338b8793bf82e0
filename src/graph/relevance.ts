import { stemmedTerms } from '../text/analysis.js';
import type { GraphNeighbor } from './paperGraph.js';

/**
 * The `limit` most relevant of a paper's references or citations: the most cited first, and among equally cited
 * ones (or where counts are unknown) those whose titles share the most terms with the paper's title and abstract.
 */
export function mostRelevant(
  neighbors: readonly GraphNeighbor[],
  paper: { title: string; abstract?: string },
  limit: number,
): GraphNeighbor[] {
  const paperTerms = new Set(stemmedTerms(`${paper.title} ${paper.abstract ?? ''}`));
  const similarity = (neighbor: GraphNeighbor) => {
    const terms = new Set(stemmedTerms(neighbor.title));
    if (terms.size === 0) return 0;
    let shared = 0;
    for (const term of terms) if (paperTerms.has(term)) shared += 1;
    return shared / terms.size;
  };
  return neighbors
    .map((neighbor) => ({ neighbor, citations: neighbor.citationCount ?? -1, similarity: similarity(neighbor) }))
    .sort((a, b) => b.citations - a.citations || b.similarity - a.similarity)
    .slice(0, limit)
    .map(({ neighbor }) => neighbor);
}
