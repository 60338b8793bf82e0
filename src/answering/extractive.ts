import { definedOnly } from '../util/options.js';
import { stemmer } from 'stemmer';
import { eng as englishStopwords } from 'stopword';
import type { Paper } from '../papers/paper.js';
import { FILLER_TERMS, queryTerms, stemmedTerms } from '../text/analysis.js';

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

/** Words too common in abstracts to say anything about a paper's topic. */
const GENERIC_WORDS = [
  'paper',
  'work',
  'propose',
  'proposed',
  'present',
  'introduce',
  'approach',
  'method',
  'methods',
  'model',
  'models',
  'result',
  'results',
  'show',
  'shows',
  'demonstrate',
  'achieve',
  'achieves',
  'new',
  'novel',
  'existing',
  'also',
  'however',
  'based',
  'using',
  'use',
  'used',
  'performance',
  'improve',
  'improves',
  'improved',
  'improvement',
  'study',
  'task',
  'tasks',
  'significant',
  'significantly',
  'large',
  'language',
  'llm',
  'llms',
  'lm',
  'lms',
  'well',
  'can',
  'may',
  'often',
  'across',
  'different',
  'via',
  'effective',
  'effectively',
  'key',
  'further',
  'including',
  'state',
  'art',
  'first',
  'one',
  'two',
  'three',
  'various',
  'within',
  'without',
  'like',
  'e.g',
  'i.e',
  'et',
  'al',
  'code',
  'available',
  'github',
  'com',
  'https',
  'www',
  'its',
  "it's",
  'learn',
  'learning',
  'data',
  'training',
  // Verbs and adjectives of academic prose: they report, they do not name a topic.
  'better',
  'increase',
  'increases',
  'decrease',
  'gain',
  'gained',
  'enable',
  'enables',
  'allow',
  'allows',
  'lead',
  'leads',
  'remain',
  'remains',
  'provide',
  'provides',
  'obtain',
  'yield',
  'yields',
  'make',
  'makes',
  'combine',
  'combining',
  'find',
  'finds',
  'found',
  'domain',
  'domains',
  'setting',
  'settings',
  'strong',
  'high',
  'low',
];
const STOPWORDS = new Set([
  ...englishStopwords.map((word) => word.toLowerCase()),
  // Function words the list lacks; inside a key phrase they read as fragments ("phenomena during").
  'during',
  'while',
  'whereas',
  'within',
  'without',
  'across',
  'towards',
  'toward',
  'upon',
  'via',
  'among',
  'beyond',
  'despite',
  'thus',
  'hence',
  'therefore',
  'moreover',
  'furthermore',
  'additionally',
  'respectively',
  'e.g',
  'i.e',
]);
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
    terms.push({
      stem: surface
        .split(/[-‐]/)
        .map((part) => stemmer(part))
        .join('-'),
      surface,
    });
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

/** Words that name how something works: a sentence with them says what the paper does, not that it does something. */
const MECHANISM =
  /\b(mechanism|gate|gating|module|layer|encoder|decoder|router|routing|pool\w*|merg\w*|delet\w*|chunk\w*|boundar\w*|compress\w*|hierarch\w*|predict\w*|learn\w* to|by (using|replacing|adding|learning|predicting|training|applying)|which|that (learns|predicts|selects|removes))\b/i;

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
      if (STOPWORDS.has(lower) || lower.length < 2 || /^\d+$/.test(lower)) {
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
  const names = papers.map((paper) => new Set(analyze(shortTitle(paper.title)).map((term) => term.stem)));
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
