import { splitSentences } from '../text/sentences.js';

/**
 * The facets of a paper read from its abstract alone (problem, method, data, results, limitations), for the
 * extractive comparison, and the sentence that best says what a paper does.
 */

export interface PaperFacets {
  problem: string;
  method: string;
  data: string;
  results: string;
  limitations: string;
}

export const NOT_STATED = 'Not stated in the abstract.';

/** Words that name how something works: a sentence with them says what the paper does, not that it does something. */
export const MECHANISM =
  /\b(mechanism|gate|gating|module|layer|encoder|decoder|router|routing|pool\w*|merg\w*|delet\w*|chunk\w*|boundar\w*|compress\w*|hierarch\w*|predict\w*|learn\w* to|by (using|replacing|adding|learning|predicting|training|applying)|which|that (learns|predicts|selects|removes))\b/i;

/** Cue phrases that mark what a sentence of an abstract is about, strongest first within each facet. */
export const FACET_CUES: Record<keyof PaperFacets, RegExp[]> = {
  problem: [
    /\b(problem|challenge|drawback|bottleneck|shortcoming|suffer|struggle|costly|expensive|inefficien|limited|lack)\w*/i,
    /\b(however|despite|although|remains?|typically|existing|current|conventional|standard)\b/i,
  ],
  method: [
    /\b(we (propose|introduce|present|develop|design)|this (paper|work) (proposes|introduces|presents))\b/i,
    /\b(our (method|approach|model|framework)|framework|architecture|mechanism|technique|algorithm)\b/i,
  ],
  data: [
    /\b(dataset|benchmark|corpus|corpora)s?\b/i,
    /\b(experiments? (on|with|across)|evaluat\w+ (on|across)|trained on|pre-?train\w* on|languages|scales?|parameters|settings?|domains?)\b/i,
  ],
  results: [
    /\b(outperform\w*|state-of-the-art|surpass\w*|speed-?up|\d+(\.\d+)?\s?(%|x|×)|improv\w+ by|reduc\w+ by)/i,
    /\b(achiev\w*|results? (show|demonstrate)|we (show|find|demonstrate)|experiments (show|demonstrate)|competitive|matches|better)\b/i,
  ],
  // Abstracts mostly name the limitations of earlier work; only phrases that point back at this paper count.
  limitations: [
    /\b(limitations? (of (our|this|the proposed)|include|remain)|we leave|(is|are) left (to|for) future|future work (is needed|should|will)|at the cost of|trade-?offs? between|remaining gap|(additional|extra) (processing )?(overhead|cost))/i,
    /\b(our|this) (method|approach|model|work) (does not|cannot|is limited|requires)/i,
  ],
};

/** The order facets claim sentences in, so the most telling sentence goes to the facet with the strongest cue. */
const FACET_ORDER: (keyof PaperFacets)[] = ['method', 'results', 'problem', 'data', 'limitations'];

/** Words and phrases that point at the abstract's own shortcomings rather than those of earlier work. */
const OWN_LIMITATION =
  /\b(limitations?|future work|we leave|left for future|at the cost of|trade-?offs?|cannot|can ?not|fails? to|does not|do not|is limited|remains? (challenging|open|difficult)|only (applies|works)|requires? (more|additional|extra|large))/i;
/** Earlier work, whose shortcomings are the paper's problem, not its limitations. */
const EARLIER_WORK =
  /\b(existing|prior|previous|current|conventional|standard|traditional|typical(ly)?|most|many|recent) (methods?|approaches|models?|works?|techniques?|systems?|tokeni[sz]ers?|llms?|lms?)\b|\b(they|these (methods|approaches|models))\b/i;

/**
 * How well a sentence fits each facet: its cue phrases (the first, stronger list counts double) and where it sits
 * in the abstract, which opens with the problem, turns to the method and closes with results.
 */
function facetScore(facet: keyof PaperFacets, sentence: string, position: number, count: number): number {
  const [strong, weak] = FACET_CUES[facet];
  const cue = (strong!.test(sentence) ? 2 : 0) + (weak!.test(sentence) ? 1 : 0);
  const at = count <= 1 ? 0 : position / (count - 1);
  const numbers = /\d+(\.\d+)?\s?(%|x\b|×|points?|times)|\bby up to\b/i.test(sentence);
  switch (facet) {
    case 'problem':
      return cue === 0 && position > 1 ? 0 : cue + 1.5 * (1 - at) - (FACET_CUES.method[0]!.test(sentence) ? 1.5 : 0);
    case 'method':
      return cue === 0 ? 0 : cue + (MECHANISM.test(sentence) ? 0.5 : 0) + (at > 0.1 && at < 0.75 ? 0.5 : 0);
    case 'data':
      return cue === 0 ? 0 : cue + (/\b[A-Z][\w-]*[A-Z0-9]\w*\b/.test(sentence) ? 0.5 : 0) + 0.5 * at;
    case 'results':
      return cue === 0 && !numbers ? 0 : cue + (numbers ? 1.5 : 0) + at;
    case 'limitations':
      if (EARLIER_WORK.test(sentence) || at < 0.4) return 0;
      return (
        (cue > 0 ? cue + 1 : 0) +
        (OWN_LIMITATION.test(sentence) ? 1 : 0) +
        (/\bhowever\b|\balthough\b/i.test(sentence) && OWN_LIMITATION.test(sentence) ? 0.5 : 0)
      );
  }
}

/** The least score a sentence needs to stand for a facet; below it, the facet is "Not stated in the abstract." */
const FACET_MIN_SCORE: Record<keyof PaperFacets, number> = {
  problem: 1,
  method: 1,
  data: 1,
  results: 1.5,
  limitations: 2,
};

/**
 * The most on-point sentence of the abstract for each facet, no sentence used twice: every (facet, sentence) pair is
 * scored and the best pairs claim their sentences first, so a sentence goes to the facet it fits best.
 */
export function extractFacets(abstract: string): PaperFacets {
  const sentences = splitSentences(abstract);
  const facets: PaperFacets = { problem: '', method: '', data: '', results: '', limitations: '' };
  const candidates = FACET_ORDER.flatMap((facet, facetRank) =>
    sentences.map((sentence, position) => ({
      facet,
      position,
      // Ties go to the facet that matters most to a reader (method, then results…).
      score: facetScore(facet, sentence, position, sentences.length) - facetRank * 0.01,
    })),
  )
    .filter((candidate) => candidate.score >= FACET_MIN_SCORE[candidate.facet])
    .sort((a, b) => b.score - a.score);
  const used = new Set<number>();
  for (const { facet, position } of candidates) {
    if (facets[facet] || used.has(position)) continue;
    facets[facet] = sentences[position]!;
    used.add(position);
  }
  // Abstracts open with the problem more often than they name it; a method is what every paper has.
  const unused = (preferred: number) =>
    used.has(preferred) ? sentences.findIndex((_, index) => !used.has(index)) : preferred;
  if (!facets.problem && sentences.length > 0) {
    const index = unused(0);
    if (index >= 0) {
      facets.problem = sentences[index]!;
      used.add(index);
    }
  }
  if (!facets.method && sentences.length > 0) {
    const index = unused(Math.min(1, sentences.length - 1));
    facets.method = index >= 0 ? sentences[index]! : sentences[0]!;
  }
  for (const facet of FACET_ORDER) if (!facets[facet]) facets[facet] = NOT_STATED;
  return facets;
}

function pickSentence(sentences: string[], cues: RegExp[], used: Set<number>): string | undefined {
  for (const cue of cues) {
    const index = sentences.findIndex((sentence, position) => !used.has(position) && cue.test(sentence));
    if (index >= 0) {
      used.add(index);
      return sentences[index];
    }
  }
  return undefined;
}

/** The sentence of an abstract that best says what the paper does: its method sentence, else its opening. */
export function keySentence(abstract: string): string {
  const sentences = splitSentences(abstract);
  const used = new Set<number>();
  return pickSentence(sentences, FACET_CUES.method, used) ?? sentences[0] ?? abstract.trim();
}
