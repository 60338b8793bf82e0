import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';
import { GENERIC_STEMS } from '../text/proseWords.js';
import { splitSentences } from '../text/sentences.js';
import { definedOnly } from '../util/options.js';
import { FACET_CUES, keySentence, MECHANISM } from './facets.js';

/**
 * The answer and comparison papercord gives with no language model, and whenever the model fails: sentences taken
 * verbatim from the retrieved abstracts, so every statement is the authors' own and carries its [n].
 */

export interface ExtractiveOptions {
  /** Sentences in the answer. */
  maxSentences?: number;
  /** Sentences taken from any one paper, so one abstract cannot crowd out the others. */
  maxSentencesPerPaper?: number;
  /**
   * The retriever's scores of `sources`, in the same order (higher is better). Papers scoring below
   * `minRelativeScore` times the best one are not cited; without scores, a paper's rank stands in for its score.
   */
  scores?: readonly number[];
  /** Share of the best paper's retrieval score a paper needs to be cited. */
  minRelativeScore?: number;
}

export const DEFAULT_EXTRACTIVE_OPTIONS: Required<Omit<ExtractiveOptions, 'scores'>> = {
  maxSentences: 4,
  maxSentencesPerPaper: 2,
  // Measured on the dev questions (npm run bench -- extractive): papers graded irrelevant mostly score below half
  // the top hit, relevant ones mostly above.
  minRelativeScore: 0.5,
};

/** `Sentence.` → `Sentence [2].`: the citation sits inside the sentence it supports. */
export function citeSentence(sentence: string, n: number): string {
  const match = sentence.match(/^(.*?)([.!?]+["')\]]*)?$/s)!;
  return `${match[1]} [${n}]${match[2] ?? '.'}`;
}

interface ScoredSentence {
  text: string;
  n: number;
  position: number;
  score: number;
  stems: Set<string>;
}

/**
 * Derived forms Porter stemming keeps apart (`long` / `length`), so "very long sequences" meets "sequence length".
 * Words sharing a prefix (`short` / `shorten`) are matched by `relatedStems` without a list.
 */
const DERIVED_FORMS: Readonly<Record<string, string>> = Object.freeze({
  long: 'length',
  length: 'long',
  wide: 'width',
  width: 'wide',
  deep: 'depth',
  depth: 'deep',
  strong: 'strength',
  strength: 'strong',
  high: 'height',
  height: 'high',
  short: 'shorten',
  shorten: 'short',
});

/**
 * Openings that describe the paper rather than say anything about its subject ("In this paper, we…", "Our approach
 * presents a solution to…", "Experiments show that our method outperforms…"): worth a sentence only when the rest
 * of it carries the question's terms.
 */
const BOILERPLATE = [
  /^(in this (paper|work|study)|here),? we (propose|present|introduce|study|investigate|address|explore)\b/i,
  /^(this|our) (paper|work|study|approach|method|framework) (presents?|proposes?|provides?|offers?|introduces?) (a |an )?(new |novel |simple |general )?(solution|approach|method|framework|way)\b/i,
  /^(extensive |comprehensive )?(experiments|results|evaluations?) (show|demonstrate|indicate|confirm)s? that (our|the proposed) (method|approach|model|framework)/i,
  /\b(our|the proposed) (method|approach|model|framework) (significantly |consistently )?(outperforms|surpasses) (existing|previous|prior|state-of-the-art|baseline)/i,
  /^(code|our code|models?|data)( and \w+)? (is|are|will be) (publicly )?(available|released)\b/i,
];

/** Sentences about where to get the code: they answer no question about the paper's content. */
const ANNOUNCEMENT =
  /\b(we )?(will )?(release|open-source|make)\b.*\b(code|models?|data|weights)\b.*\b(available|public|at)\b|https?:\/\/|\bgithub\b/i;

/** Question stems and the related stems (derived forms, shared prefixes) a sentence may use instead, at half weight. */
function relatedStems(questionStems: readonly string[], vocabulary: Iterable<string>): Map<string, string[]> {
  const related = new Map<string, string[]>();
  const words = [...vocabulary];
  for (const stem of questionStems) {
    const matches = new Set<string>();
    const derived = DERIVED_FORMS[stem];
    for (const word of words) {
      if (word === stem) continue;
      const shorter = word.length < stem.length ? word : stem;
      const longer = shorter === word ? stem : word;
      if (
        (shorter.length >= 4 && longer.startsWith(shorter) && longer.length - shorter.length <= 4) ||
        (derived && word.startsWith(derived))
      ) {
        matches.add(word);
      }
    }
    related.set(stem, [...matches]);
  }
  return related;
}

/** How much a sentence says beyond the question: specific content words, numbers, names, mechanisms. */
function informativeness(text: string, stems: Set<string>, questionStems: ReadonlySet<string>): number {
  let specific = 0;
  for (const stem of stems) if (!questionStems.has(stem) && !GENERIC_STEMS.has(stem)) specific += 1;
  let value = Math.min(1, specific / 8);
  if (/\d+(\.\d+)?\s?(%|x\b|×|times)|\bby up to\b/i.test(text)) value += 0.25;
  if (/\b[A-Z][a-z]*[A-Z]\w*|\b[A-Z]{2,}[a-z0-9]*\b/.test(text)) value += 0.1;
  if (MECHANISM.test(text)) value += 0.25;
  return value;
}

/** Each source's weight, 1 for the best: its retrieval score relative to the best one, else a prior from its rank. */
function sourceWeights(count: number, scores: readonly number[] | undefined): number[] {
  if (scores && scores.length === count && scores.every(Number.isFinite)) {
    const best = Math.max(...scores);
    if (best > 0) return scores.map((score) => Math.max(0, score / best));
  }
  return Array.from({ length: count }, (_, index) => 1 / (1 + 0.25 * index));
}

/**
 * The sentences of the sources that best answer the question. A sentence scores by the question's content words it
 * carries (stemmed, weighted by how rare each is among the sources' sentences, related forms such as long/length at
 * half weight), by how well its paper was retrieved, and by how much it says beyond the question (boilerplate such as
 * "In this paper, we…" is discounted, mechanisms and numbers favoured). Papers retrieved much worse than the best one
 * are not cited; near-duplicates are left out (MMR); the answer reads from the best paper to the least, each in the
 * abstract's own order.
 * `sources` are in retrieval order; source i is cited as [i + 1].
 */
export function extractiveAnswer(question: string, sources: readonly Paper[], options: ExtractiveOptions = {}): string {
  const { maxSentences, maxSentencesPerPaper, minRelativeScore, scores } = {
    ...DEFAULT_EXTRACTIVE_OPTIONS,
    ...definedOnly(options),
  };
  if (sources.length === 0) return '';
  const weights = sourceWeights(sources.length, scores);
  const sentences: ScoredSentence[] = sources.flatMap((paper, index) =>
    splitSentences(paper.abstract).map((text, position) => ({
      text,
      n: index + 1,
      position,
      score: 0,
      // The retriever's analyzer, so a sentence matches the question the way its paper matched it.
      stems: new Set(stemmedTerms(text)),
    })),
  );
  const questionStems = queryTerms(question).filter((stem) => !FILLER_TERMS.has(stem));
  const questionSet = new Set(questionStems);
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const stem of sentence.stems) documentFrequency.set(stem, (documentFrequency.get(stem) ?? 0) + 1);
  }
  const idf = (stem: string) => Math.log(1 + sentences.length / (documentFrequency.get(stem) ?? 1));
  const related = relatedStems(questionStems, documentFrequency.keys());
  const asksHow = /^\s*(how|(what|which) (methods?|techniques?|approach(es)?)|ways?)\b/i.test(question);

  // `byte-level` in the question is one idea: a sentence on "byte-pair encoding" shares a word with it, not the idea.
  const compoundOf = new Map<string, string>();
  for (const [compound] of question.toLowerCase().matchAll(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+/gu)) {
    const joined = stemmedTerms(compound.replace(/-/g, ''))[0];
    if (!joined) continue;
    for (const part of stemmedTerms(compound.replace(/-/g, ' '))) compoundOf.set(part, joined);
  }
  for (const sentence of sentences) {
    let overlap = 0;
    for (const stem of questionStems) {
      const compound = compoundOf.get(stem);
      if (sentence.stems.has(stem)) overlap += (compound && !sentence.stems.has(compound) ? 0.5 : 1) * idf(stem);
      else {
        const alternative = related.get(stem)!.find((word) => sentence.stems.has(word));
        if (alternative) overlap += 0.5 * idf(alternative);
      }
    }
    if (overlap === 0 || ANNOUNCEMENT.test(sentence.text)) continue;
    const lengthPenalty = 1 + Math.log(1 + sentence.stems.size / 25);
    const boilerplate = BOILERPLATE.some((pattern) => pattern.test(sentence.text));
    const information = informativeness(sentence.text, sentence.stems, questionSet);
    // "How do … ?" is answered by what the papers do, not by the problem they start from, which tends to repeat the
    // question's words.
    const method = !asksHow
      ? 1
      : FACET_CUES.method.some((cue) => cue.test(sentence.text)) || MECHANISM.test(sentence.text)
        ? 1.5
        : FACET_CUES.problem.some((cue) => cue.test(sentence.text))
          ? 0.6
          : 1;
    sentence.score =
      (overlap / lengthPenalty) *
      (0.3 + 0.7 * weights[sentence.n - 1]!) *
      (0.6 + 0.4 * information) *
      (boilerplate ? 0.5 : 1) *
      method;
  }

  // A paper retrieved much worse than the best one is cited only when the question names it ("TDPO vs T-REG") or
  // one of its sentences matches the question about as well as the best sentence of all.
  const named = namedInQuestion(question, sources);
  const topSentence = Math.max(...sentences.map((sentence) => sentence.score));
  const bestOfPaper = sources.map((_, index) =>
    Math.max(0, ...sentences.filter((sentence) => sentence.n === index + 1).map((sentence) => sentence.score)),
  );
  const citable = sources.map(
    (_, index) =>
      index === 0 ||
      named[index]! ||
      weights[index]! >= minRelativeScore ||
      (weights[index]! >= minRelativeScore / 2 && bestOfPaper[index]! >= 0.5 * topSentence),
  );
  const ranked = sentences
    .filter((sentence) => sentence.score > 0 && citable[sentence.n - 1])
    .sort((a, b) => b.score - a.score);
  // A question sharing no content word with any sentence still gets the best source's key sentence.
  if (ranked.length === 0) {
    const key = keySentence(sources[0]!.abstract);
    return citeSentence(key, 1);
  }
  const chosen: ScoredSentence[] = [];
  const perPaper = new Map<number, number>();
  const redundancy = (sentence: ScoredSentence) =>
    Math.max(0, ...chosen.map((other) => similarity(other.stems, sentence.stems)));
  // First one sentence per paper, so the answer draws on several papers; then more from each. Sentences far below
  // the best one are left out: a weakly related paper is not worth citing. Within a pass, maximal marginal
  // relevance: a sentence repeating one already chosen loses to one that adds something.
  const passes = [
    { cap: 1, minShare: 0.35 },
    { cap: maxSentencesPerPaper, minShare: 0.5 },
  ];
  // The best-retrieved paper always speaks: its best sentence opens the selection even when another paper words the
  // question more closely.
  const bestOfFirst = ranked.find((sentence) => sentence.n === 1);
  if (bestOfFirst) {
    chosen.push(bestOfFirst);
    perPaper.set(1, 1);
  }
  for (const { cap, minShare } of passes) {
    while (chosen.length < maxSentences) {
      let best: { sentence: ScoredSentence; value: number } | undefined;
      for (const sentence of ranked) {
        if (sentence.score < ranked[0]!.score * minShare) break;
        if (chosen.includes(sentence) || (perPaper.get(sentence.n) ?? 0) >= cap) continue;
        const overlapWithChosen = redundancy(sentence);
        if (overlapWithChosen > 0.5) continue;
        const value = sentence.score * (1 - 0.7 * overlapWithChosen);
        if (!best || value > best.value) best = { sentence, value };
      }
      if (!best) break;
      chosen.push(best.sentence);
      perPaper.set(best.sentence.n, (perPaper.get(best.sentence.n) ?? 0) + 1);
    }
  }
  chosen.sort((a, b) => a.n - b.n || a.position - b.position);
  return chosen.map((sentence) => citeSentence(sentence.text, sentence.n)).join(' ');
}

/**
 * Which sources the question names: by a word of three or more characters with capitals or digits inside (`TDPO`,
 * `T-REG`, `MrT5`) that is in the paper's title or that its abstract defines as its name ("… (TDPO)").
 */
function namedInQuestion(question: string, sources: readonly Paper[]): boolean[] {
  const names = [...question.matchAll(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu)]
    .map((match) => match[0])
    .filter(
      (word) =>
        word.length >= 3 && /\p{Lu}.*\p{Lu}|\p{Ll}\p{Lu}|\p{L}\d/u.test(word) && !/^(LLMs?|LMs?|NLP|AI)$/.test(word),
    );
  if (names.length === 0) return sources.map(() => false);
  const boundary = (name: string) => `(?<![\\p{L}\\p{N}])${name}(?![\\p{L}\\p{N}])`;
  return sources.map((paper) =>
    names.some(
      (name) =>
        new RegExp(boundary(name), 'iu').test(paper.title) ||
        new RegExp(`\\(${boundary(name)}\\)`, 'u').test(paper.abstract),
    ),
  );
}

function similarity(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const stem of a) if (b.has(stem)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}
