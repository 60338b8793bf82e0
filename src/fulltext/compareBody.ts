import { splitSentences } from '../text/sentences.js';
import { sectionLabel, type FullTextDocument, type FullTextSection } from './document.js';

/**
 * What a comparison can take from a paper's body rather than its abstract: the data or setting, the key results and
 * the limitations, each one sentence from the section a reader would look in, with that section's label so the
 * comparison can say which cells came from the body.
 */

export type BodyFacet = 'data' | 'results' | 'limitations';
export const BODY_FACETS: readonly BodyFacet[] = ['data', 'results', 'limitations'];

export interface BodyStatement {
  text: string;
  /** `§4.1`, `p. 7`. */
  label: string;
}

const SECTIONS: Record<BodyFacet, RegExp> = {
  data: /\b(data|datasets?|benchmarks?|corpus|setup|experimental setup|experiments|evaluation( protocol)?|training details)\b/i,
  results: /\b(results?|main results|experiments|evaluation|findings)\b/i,
  limitations: /\b(limitations?|conclusions?|discussion|future work)\b/i,
};

const CUES: Record<BodyFacet, RegExp[]> = {
  data: [
    /\b(datasets?|benchmarks?|corpus|corpora)\b/i,
    /\b(train(ed)? on|evaluat\w* (on|against)|collected from|drawn from)\b/i,
    /\b(tokens|hours|examples|problems|questions)\b/i,
  ],
  results: [
    /\d+(\.\d+)?\s?%|\b\d+(\.\d+)?\s?(times|x|×)\b/i,
    /\b(outperform\w*|improv\w*|lowers?|reach\w*|achiev\w*|faster|accuracy|error rate)\b/i,
  ],
  limitations: [
    /\b(limitations?|does not|do not|cannot|can not|not yet|fails?|assumes?|only)\b/i,
    /\b(future work|remain\w*|hard)\b/i,
  ],
};

function score(facet: BodyFacet, sentence: string): number {
  return CUES[facet].reduce((sum, cue, rank) => sum + (cue.test(sentence) ? 1 / (rank + 1) : 0), 0);
}

/** For each facet it can find, the best sentence of the sections whose headings fit it. */
export function bodyFacets(document: FullTextDocument): Partial<Record<BodyFacet, BodyStatement>> {
  const found: Partial<Record<BodyFacet, BodyStatement>> = {};
  for (const facet of BODY_FACETS) {
    const sections = document.sections.filter(
      (section: FullTextSection) => SECTIONS[facet].test(section.title) && !/related/i.test(section.title),
    );
    let best: { text: string; label: string; score: number } | undefined;
    for (const section of sections) {
      for (const block of section.blocks) {
        for (const sentence of splitSentences(block.text)) {
          const value = score(facet, sentence);
          if (value > (best?.score ?? 0))
            best = { text: sentence, label: sectionLabel(section, block.page), score: value };
        }
      }
    }
    if (best) found[facet] = { text: best.text, label: best.label };
  }
  return found;
}

/** A cell taken from the body names where: `… (from §4.1)`. */
export function bodyCell(statement: BodyStatement): string {
  return `${statement.text} (from ${statement.label})`;
}

export const BODY_CELLS_NOTICE =
  'Cells ending in “(from §…)” come from the papers’ full text; the others from their abstracts.';
