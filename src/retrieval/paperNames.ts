import type { Paper } from '../papers/paper.js';
import { stemmedTerms } from '../text/analysis.js';

/**
 * The words a paper is called by in chat: "wat is the lexinvariant lm idea", "mrt5 vs tokenselect", "how is mor
 * different from early exit". A question that names a paper is about it even when its other words are chat the
 * library lacks, so a rare name matched in one of the best hits counts as evidence (see HybridRetriever).
 */

/** A word (or a hyphenated part: T-REG) with a capital after the first character (MrT5, TokenSelect, MoR, CLIMB, xAR) or letters with digits (ByT5). */
const IDENTIFIER = /^(?=.*\p{L})(?:.+\p{Lu}|.*\p{L}.*\p{N}|.*\p{N}.*\p{L})/u;

/**
 * Analyzed terms that name the paper: a one-word title lead before a colon ("Croc: …"), and identifier-like words
 * of the title or in brackets in the abstract, which is how papers write their own names and the abbreviations they
 * define ("MrT5", "Mixture-of-Recursions (MoR)"); an identifier merely mentioned ("unlike BERT") names another paper. Ordinary words of a title are no names, even rare ones: "Pixel Sentence
 * Representation Learning" is not what "ppo for atari from pixels" asks about. Reads one paper only.
 */
export function paperNameTerms(paper: Pick<Paper, 'title' | 'abstract'>): Set<string> {
  const names = new Set<string>();
  const colon = paper.title.indexOf(':');
  const lead = colon > 0 ? paper.title.slice(0, colon).trim() : '';
  if (lead && !/\s/.test(lead)) for (const term of stemmedTerms(lead)) names.add(term);
  // Abstracts also mention other work by name ("unlike BERT"); only what the paper defines in brackets is its own.
  const defined = [...paper.abstract.matchAll(/\(\s*([\p{L}\p{N}][\p{L}\p{N}-]{1,11})\s*\)/gu)].map(
    (match) => match[1]!,
  );
  for (const word of [...(paper.title.match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? []), ...defined]) {
    if (word.split('-').some((part) => IDENTIFIER.test(part))) for (const term of stemmedTerms(word)) names.add(term);
  }
  return names;
}
