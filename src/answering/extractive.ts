import { definedOnly } from '../util/options.js';
import { stemmer } from 'stemmer';
import { eng as englishStopwords } from 'stopword';
import type { Paper } from '../papers/paper.js';
import { analyze as analyzeForSearch, queryTerms } from '../retrieval/lexical.js';

/**
 * The answer and comparison papercord gives with no language model, and whenever the model fails: sentences taken
 * verbatim from the retrieved abstracts, so every statement is the authors' own and carries its [n].
 */

export interface ExtractiveOptions {
  /** Sentences in the answer. */
  maxSentences?: number;
  /** Sentences taken from any one paper, so one abstract cannot crowd out the others. */
  maxSentencesPerPaper?: number;
}

export const DEFAULT_EXTRACTIVE_OPTIONS: Required<ExtractiveOptions> = {
  maxSentences: 4,
  maxSentencesPerPaper: 2,
};

/** Words too common in abstracts to say anything about a paper's topic. */
const GENERIC_WORDS = [
  'paper', 'work', 'propose', 'proposed', 'present', 'introduce', 'approach', 'method', 'methods', 'model', 'models',
  'result', 'results', 'show', 'shows', 'demonstrate', 'achieve', 'achieves', 'new', 'novel', 'existing', 'also',
  'however', 'based', 'using', 'use', 'used', 'performance', 'improve', 'improves', 'improved', 'improvement',
  'study', 'task', 'tasks', 'significant', 'significantly', 'large', 'language', 'llm', 'llms', 'lm', 'lms', 'well',
  'can', 'may', 'often', 'across', 'different', 'via', 'effective', 'effectively', 'key', 'further', 'including',
  'state', 'art', 'first', 'one', 'two', 'three', 'various', 'within', 'without', 'like', 'e.g', 'i.e', 'et', 'al',
  'code', 'available', 'github', 'com', 'https', 'www', 'its', 'it\'s', 'learn', 'learning', 'data', 'training',
];
const STOPWORDS = new Set(englishStopwords.map((word) => word.toLowerCase()));
const GENERIC_STEMS = new Set(GENERIC_WORDS.map((word) => stemmer(word)));

export interface Term {
  stem: string;
  surface: string;
}

/**
 * Content words of `text` with the word each stem came from, for key terms shown to users; `compounds` keeps
 * hyphenated words such as `byte-level` whole.
 */
export function analyze(text: string, options: { compounds?: boolean } = {}): Term[] {
  const pattern = options.compounds ? /[\p{L}\p{N}]+(?:[-‐][\p{L}\p{N}]+)*/gu : /[\p{L}\p{N}]+/gu;
  const terms: Term[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(pattern)) {
    const surface = match[0];
    if (STOPWORDS.has(surface) || surface.length < 2 || /^\d+$/.test(surface)) continue;
    terms.push({ stem: surface.split(/[-‐]/).map((part) => stemmer(part)).join('-'), surface });
  }
  return terms;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Sentences of an abstract; fragments too short to stand alone ("e.g." splits) join the sentence before them. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const { segment } of sentenceSegmenter.segment(text.replace(/\s+/g, ' ').trim())) {
    const sentence = segment.trim();
    if (!sentence) continue;
    if (sentences.length > 0 && (sentence.length < 25 || /^[a-z(,;]/.test(sentence))) {
      sentences[sentences.length - 1] += ` ${sentence}`;
    } else sentences.push(sentence);
  }
  return sentences;
}

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
 * The sentences of the sources that best match the question: scored by the question's content words, weighted by
 * how rare each is among the sources' sentences, nudged towards better-ranked sources; near-duplicates dropped; read
 * in source order so the answer flows from the most relevant paper to the least.
 * `sources` are in retrieval order; source i is cited as [i + 1].
 */
export function extractiveAnswer(question: string, sources: readonly Paper[], options: ExtractiveOptions = {}): string {
  const { maxSentences, maxSentencesPerPaper } = { ...DEFAULT_EXTRACTIVE_OPTIONS, ...definedOnly(options) };
  if (sources.length === 0) return '';
  const sentences: ScoredSentence[] = sources.flatMap((paper, index) =>
    splitSentences(paper.abstract).map((text, position) => ({
      text,
      n: index + 1,
      position,
      score: 0,
      // The retriever's analyzer, so a sentence matches the question the way its paper matched it.
      stems: new Set(analyzeForSearch(text)),
    })),
  );
  const questionStems = new Set(queryTerms(question));
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const stem of sentence.stems) documentFrequency.set(stem, (documentFrequency.get(stem) ?? 0) + 1);
  }
  for (const sentence of sentences) {
    let overlap = 0;
    for (const stem of questionStems) {
      if (sentence.stems.has(stem)) overlap += Math.log(1 + sentences.length / documentFrequency.get(stem)!);
    }
    const lengthPenalty = 1 + Math.log(1 + sentence.stems.size / 25);
    const rankPrior = 1 / (1 + 0.15 * (sentence.n - 1));
    sentence.score = (overlap / lengthPenalty) * rankPrior;
  }

  // "How do … ?" is answered by what the papers do, not by the problem they start from.
  if (/^\s*(how|what (method|technique|approach)s?)\b/i.test(question)) {
    for (const sentence of sentences) if (FACET_CUES.method.some((cue) => cue.test(sentence.text))) sentence.score *= 1.5;
  }

  const ranked = sentences.filter((sentence) => sentence.score > 0).sort((a, b) => b.score - a.score);
  // A question sharing no content word with any sentence still gets the best source's opening sentence.
  if (ranked.length === 0) ranked.push(sentences[0]!);
  const chosen: ScoredSentence[] = [];
  const perPaper = new Map<number, number>();
  // First one sentence per paper, so the answer draws on several papers; then more from each. Sentences far below
  // the best one are left out: a weakly related paper is not worth citing.
  const passes = [
    { cap: 1, minShare: 0.35 },
    { cap: maxSentencesPerPaper, minShare: 0.5 },
  ];
  for (const { cap, minShare } of passes) {
    for (const sentence of ranked) {
      if (chosen.length >= maxSentences || sentence.score < ranked[0]!.score * minShare) break;
      if (chosen.includes(sentence) || (perPaper.get(sentence.n) ?? 0) >= cap) continue;
      if (chosen.some((other) => similarity(other.stems, sentence.stems) > 0.6)) continue;
      chosen.push(sentence);
      perPaper.set(sentence.n, (perPaper.get(sentence.n) ?? 0) + 1);
    }
  }
  chosen.sort((a, b) => a.n - b.n || a.position - b.position);
  return chosen.map((sentence) => citeSentence(sentence.text, sentence.n)).join(' ');
}

function similarity(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const stem of a) if (b.has(stem)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparisons

export interface PaperFacets {
  problem: string;
  method: string;
  data: string;
  results: string;
  limitations: string;
}

export interface ExtractiveComparison {
  papers: (PaperFacets & { id: string; title: string; url?: string })[];
  similarities: string[];
  differences: string[];
  whenToUse: string;
}

export const NOT_STATED = 'Not stated in the abstract.';

/** Cue phrases that mark what a sentence of an abstract is about, strongest first within each facet. */
const FACET_CUES: Record<keyof PaperFacets, RegExp[]> = {
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
    /\b(limitations? (of (our|this|the proposed)|include|remain)|future work|we leave|left for future|at the cost of|trade-?offs? between)/i,
    /\b(our|this) (method|approach|model|work) (does not|cannot|is limited|requires)/i,
  ],
};

/** The order facets claim sentences in, so the most telling sentence goes to the facet with the strongest cue. */
const FACET_ORDER: (keyof PaperFacets)[] = ['method', 'results', 'problem', 'data', 'limitations'];

export function extractFacets(abstract: string): PaperFacets {
  const sentences = splitSentences(abstract);
  const used = new Set<number>();
  const facets: PaperFacets = { problem: '', method: '', data: '', results: '', limitations: '' };
  for (const facet of FACET_ORDER) {
    facets[facet] = pickSentence(sentences, FACET_CUES[facet], used) ?? '';
  }
  // Abstracts open with the problem more often than they name it.
  if (!facets.problem && sentences.length > 0) {
    const opening = used.has(0) ? undefined : sentences[0];
    facets.problem = opening ?? sentences[0]!;
  }
  if (!facets.method) facets.method = sentences.find((_, index) => !used.has(index)) ?? sentences[0] ?? NOT_STATED;
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

/** `MrT5: Dynamic Token Merging…` → `MrT5`; long titles without a short name are cut at a word boundary. */
export function shortTitle(title: string): string {
  const beforeColon = title.split(':')[0]!.trim();
  if (beforeColon.length > 0 && beforeColon.length <= 40) return beforeColon;
  return title.length <= 40 ? title : `${title.slice(0, 40).replace(/\s+\S*$/, '')}…`;
}

interface TermProfile {
  counts: Map<string, number>;
  surfaces: Map<string, string>;
}

function termProfile(paper: Paper): TermProfile {
  const counts = new Map<string, number>();
  const surfaces = new Map<string, string>();
  const add = (text: string, weight: number) => {
    for (const term of analyze(text, { compounds: true })) {
      if (term.stem.split('-').every((part) => GENERIC_STEMS.has(part))) continue;
      counts.set(term.stem, (counts.get(term.stem) ?? 0) + weight);
      if (!surfaces.has(term.stem)) surfaces.set(term.stem, term.surface);
    }
  };
  add(paper.title, 3);
  add(paper.abstract, 1);
  return { counts, surfaces };
}

/** Key terms all papers share and those only one of them has, by weighted frequency (title words count thrice). */
export function keyTerms(papers: readonly Paper[], limit = 5): { shared: string[]; distinct: string[][] } {
  const profiles = papers.map(termProfile);
  const sharedStems = [...profiles[0]!.counts.keys()].filter((stem) => profiles.every((profile) => profile.counts.has(stem)));
  const shared = sharedStems
    .map((stem) => ({ stem, weight: Math.min(...profiles.map((profile) => profile.counts.get(stem)!)) }))
    .sort((a, b) => b.weight - a.weight || a.stem.localeCompare(b.stem))
    .slice(0, limit)
    .map(({ stem }) => profiles[0]!.surfaces.get(stem)!);
  // A paper's own name (`MrT5`) tells a reader nothing about what sets it apart.
  const names = papers.map((paper) => new Set(analyze(shortTitle(paper.title)).map((term) => term.stem)));
  const distinct = profiles.map((profile, index) =>
    [...profile.counts.entries()]
      .filter(([stem]) => profiles.every((other, otherIndex) => otherIndex === index || !other.counts.has(stem)))
      .filter(([stem]) => !(names[index]!.has(stem) && papers[index]!.title.includes(':')))
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([stem]) => profile.surfaces.get(stem)!),
  );
  return { shared, distinct };
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

/** The sentence of an abstract that best says what the paper does: its method sentence, else its opening. */
export function keySentence(abstract: string): string {
  const sentences = splitSentences(abstract);
  const used = new Set<number>();
  return pickSentence(sentences, FACET_CUES.method, used) ?? sentences[0] ?? abstract.trim();
}
