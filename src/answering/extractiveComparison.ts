import type { Paper } from '../papers/paper.js';
import { extractFacets, type PaperFacets } from './facets.js';
import { keyTerms, shortTitle } from './keyPhrases.js';

export interface ExtractiveComparison {
  papers: (PaperFacets & { id: string; title: string; url?: string })[];
  similarities: string[];
  differences: string[];
  whenToUse: string;
}

/** A side-by-side comparison from the abstracts alone. Papers are referred to as [1]…[n] in their given order. */
export function extractiveComparison(papers: readonly Paper[]): ExtractiveComparison {
  const { shared, distinct } = keyTerms(papers);
  const label = (index: number) => `${shortTitle(papers[index]!.title)} [${index + 1}]`;
  const all = papers.length === 2 ? 'Both papers' : `All ${papers.length} papers`;

  const similarities =
    shared.length > 0
      ? [`${all} deal with ${shared.join(', ')}.`]
      : [`The abstracts share no key terms: these papers address different topics.`];
  const differences = papers.map((_, index) =>
    distinct[index]!.length > 0
      ? `${label(index)} alone covers ${distinct[index]!.join(', ')}.`
      : `${label(index)} has no key terms the others lack.`,
  );
  const whenToUse = `${papers
    .map((_, index) =>
      distinct[index]!.length > 0
        ? `use ${label(index)} for ${distinct[index]!.slice(0, 3).join(', ')}`
        : `use ${label(index)} for ${shared.slice(0, 2).join(', ') || 'its general approach'}`,
    )
    .join('; ')}.`.replace(/^u/, 'U');

  return {
    papers: papers.map((paper) => ({
      id: paper.id,
      title: paper.title,
      ...(paper.url ? { url: paper.url } : {}),
      ...extractFacets(paper.abstract),
    })),
    similarities,
    differences,
    whenToUse,
  };
}
