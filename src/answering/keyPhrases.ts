import { stemmer } from 'stemmer';
import type { Paper } from '../papers/paper.js';
import { GENERIC_STEMS, PHRASE_STOPWORDS, wordsWithStems } from '../text/proseWords.js';

/** `MrT5: Dynamic Token Merging…` → `MrT5`; long titles without a short name are cut at a word boundary. */
export function shortTitle(title: string): string {
  const beforeColon = title.split(':')[0]!.trim();
  if (beforeColon.length > 0 && beforeColon.length <= 40) return beforeColon;
  return title.length <= 40 ? title : `${title.slice(0, 40).replace(/\s+\S*$/, '')}…`;
}

interface Phrase {
  /** Stems joined by spaces: `byte-level` and `byte level` are one phrase. */
  key: string;
  surface: string;
  words: number;
}

/** Words that may not open or close a phrase: "model", "results", "method" say nothing on a phrase's edge. */
const isEdgeWord = (stem: string) => !GENERIC_STEMS.has(stem);

/**
 * Technical phrases of one to three content words within a clause (`token deletion`, `dynamic chunking`,
 * `byte-level`), neither opening nor closing on a generic word, hyphenated compounds kept as written.
 */
function phrasesOf(text: string): Phrase[] {
  const phrases: Phrase[] = [];
  for (const clause of text.normalize('NFKC').split(/[.,;:!?()[\]{}"“”'‘’]+|\s[-–—]+\s/)) {
    const words: { stem: string; surface: string; compound: boolean }[][] = [];
    let run: { stem: string; surface: string; compound: boolean }[] = [];
    for (const match of clause.matchAll(/[\p{L}\p{N}]+(?:[-‐][\p{L}\p{N}]+)*/gu)) {
      const surface = match[0];
      const lower = surface.toLowerCase();
      if (PHRASE_STOPWORDS.has(lower) || lower.length < 2 || /^\d+$/.test(lower)) {
        if (run.length > 0) words.push(run);
        run = [];
        continue;
      }
      const parts = lower.split(/[-‐]/).filter(Boolean);
      run.push({ stem: parts.map((part) => stemmer(part)).join(' '), surface: lower, compound: parts.length > 1 });
    }
    if (run.length > 0) words.push(run);
    for (const sequence of words) {
      for (let start = 0; start < sequence.length; start += 1) {
        for (let length = 1; length <= 3 && start + length <= sequence.length; length += 1) {
          const slice = sequence.slice(start, start + length);
          const stems = slice.flatMap((word) => word.stem.split(' '));
          if (stems.every((stem) => GENERIC_STEMS.has(stem))) continue;
          if (
            length > 1 &&
            (!isEdgeWord(slice[0]!.stem.split(' ')[0]!) || !isEdgeWord(slice.at(-1)!.stem.split(' ').at(-1)!))
          )
            continue;
          const wordCount = stems.length;
          if (wordCount > 3) continue;
          phrases.push({
            key: stems.join(' '),
            surface: slice.map((word) => word.surface).join(' '),
            words: wordCount,
          });
        }
      }
    }
  }
  return phrases;
}

interface TermProfile {
  counts: Map<string, number>;
  /** Occurrences in the abstract alone: a run of title words (`efficient byte-level`) is not yet a phrase. */
  inAbstract: Map<string, number>;
  surfaces: Map<string, string>;
  words: Map<string, number>;
}

function termProfile(paper: Paper): TermProfile {
  const counts = new Map<string, number>();
  const surfaces = new Map<string, string>();
  const words = new Map<string, number>();
  const inAbstract = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const phrase of phrasesOf(text)) {
      counts.set(phrase.key, (counts.get(phrase.key) ?? 0) + weight);
      if (weight === 1) inAbstract.set(phrase.key, (inAbstract.get(phrase.key) ?? 0) + 1);
      if (!surfaces.has(phrase.key)) surfaces.set(phrase.key, phrase.surface);
      words.set(phrase.key, phrase.words);
    }
  };
  add(paper.title, 3);
  add(paper.abstract, 1);
  return { counts, inAbstract, surfaces, words };
}

/**
 * The best phrases by weight, a phrase of several words counting for more than its words alone, leaving out any
 * phrase that repeats one already chosen (`deletion` after `token deletion`).
 */
function bestPhrases(candidates: { key: string; weight: number; words: number }[], limit: number): string[] {
  const ranked = candidates
    .map((candidate) => ({ ...candidate, value: candidate.weight * (1 + 0.75 * (candidate.words - 1)) }))
    .sort((a, b) => b.value - a.value || a.key.localeCompare(b.key));
  const chosen: string[] = [];
  for (const { key } of ranked) {
    if (chosen.length >= limit) break;
    const stems = key.split(' ');
    // Phrases sharing a word are variations on one idea (`token-level direct` after `direct preference optimization`).
    const overlaps = chosen.some((other) => other.split(' ').some((stem) => stems.includes(stem)));
    if (!overlaps) chosen.push(key);
  }
  return chosen;
}

/**
 * Key phrases all papers share and those only one of them has, by weighted frequency (title words count thrice);
 * multi-word technical phrases (`token deletion`, `byte-level`) are preferred over the single words they contain.
 */
export function keyTerms(papers: readonly Paper[], limit = 5): { shared: string[]; distinct: string[][] } {
  const profiles = papers.map(termProfile);
  const isPhrase = (profile: TermProfile, key: string) =>
    profile.words.get(key) === 1 || (profile.inAbstract.get(key) ?? 0) >= 1;
  const sharedKeys = [...profiles[0]!.counts.keys()].filter((key) =>
    profiles.every((profile) => profile.counts.has(key) && isPhrase(profile, key)),
  );
  // A paper's own name (`MrT5`) tells a reader nothing about what sets it apart.
  const names = papers.map((paper) => new Set(wordsWithStems(shortTitle(paper.title)).map((term) => term.stem)));
  const distinctKeys = profiles.map((profile, index) =>
    bestPhrases(
      [...profile.counts.entries()]
        .filter(([key]) => profiles.every((other, otherIndex) => otherIndex === index || !other.counts.has(key)))
        .filter(
          ([key]) => !(papers[index]!.title.includes(':') && key.split(' ').every((stem) => names[index]!.has(stem))),
        )
        // Said once in the abstract alone, a phrase is more likely an aside than what the paper is about.
        .filter(([key, weight]) => weight >= 2 && isPhrase(profile, key))
        .map(([key, weight]) => ({ key, weight, words: profile.words.get(key)! })),
      limit,
    ),
  );
  const sharedCandidates = sharedKeys.map((key) => ({
    key,
    weight: Math.min(...profiles.map((profile) => profile.counts.get(key)!)),
    words: profiles[0]!.words.get(key)!,
  }));
  // Phrases the papers share say more than the single words they share (`sequence length` over `sequence`).
  const sharedPhrases = bestPhrases(
    sharedCandidates.filter((candidate) => candidate.words > 1),
    limit,
  );
  // A word both papers use inside different phrases (`dynamic` in `dynamic token merging` and `dynamic chunking`)
  // is shared in spelling only.
  const inDistinctPhrases = new Set(
    distinctKeys
      .flat()
      .filter((key) => key.includes(' '))
      .flatMap((key) => key.split(' ')),
  );
  const shared = bestPhrases(
    sharedCandidates.filter((candidate) =>
      candidate.words > 1
        ? sharedPhrases.includes(candidate.key)
        : // A single word said once by one of them is a passing mention, not common ground.
          candidate.weight >= 2 && !inDistinctPhrases.has(candidate.key),
    ),
    limit,
  )
    .sort((a, b) => Number(sharedPhrases.includes(b)) - Number(sharedPhrases.includes(a)))
    .map((key) => profiles[0]!.surfaces.get(key)!);
  const distinct = distinctKeys.map((keys, index) => keys.map((key) => profiles[index]!.surfaces.get(key)!));
  return { shared, distinct };
}
