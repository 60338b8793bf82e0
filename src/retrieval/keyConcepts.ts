import { inverseDocumentFrequency, type TermStatistics } from '../library/library.js';
import { FILLER_TERMS, processTerm, stemmedTerms, tokenize } from '../text/analysis.js';
import { tagWords } from '../text/partsOfSpeech.js';
import { termFound } from './abstention.js';
import type { RetrievedPaper } from './types.js';

/**
 * The concepts a question is about, and which of them the evidence (the best hits) does not cover. A question can
 * share most of its words with the library ("llm", "finetuning") and still ask about something no paper has
 * ("federated learning", "differential privacy"): its rare words carry the topic. Such a question must not be
 * answered as if the library covered it.
 *
 * A key concept is a rare word of the question (in at most `rareShare` of the library, or unknown to it) with the
 * words around it, up to a stopword or punctuation: "protein language models", "debate". It is covered when one
 * of the evidence papers has the rare word near one of the words it stands beside in the question (within
 * `window` content words): a paper that mentions "de novo protein design" in passing does not cover "protein
 * language models". A rare word standing alone needs only to be there.
 */

export interface KeyConceptOptions {
  /** A word in at most this share of the library's papers (at least 1 paper) is rare: a key concept. */
  rareShare: number;
  /** Content words between a rare word and its neighbour from the question, in a paper, for the phrase to count. */
  window: number;
  /**
   * Two words side by side in the question, the rarer in at most this share of the library, are a term: a paper
   * must have them together ("unit tests": "unit" and "tests" each appear, never as one term).
   */
  phraseShare: number;
}

export const DEFAULT_KEY_CONCEPT_OPTIONS: Readonly<KeyConceptOptions> = Object.freeze({
  rareShare: 0.05,
  window: 3,
  phraseShare: 0.1,
});

/** A word of the question: how it was written, its analyzed term, and what joined it to the word before. */
export interface QuestionWord {
  surface: string;
  term: string;
  joiner: ' ' | '-';
  /** Universal part of speech in the question (NOUN, VERB, ADP…). */
  tag: string;
}

/** One key concept of a question and how the evidence covers it. */
export interface ConceptCoverage {
  /** The question's words for it: "federated learning". */
  name: string;
  /** `covered`; `passing`: its rare word is there, never beside the words around it; `absent`: nowhere. */
  state: 'covered' | 'passing' | 'absent';
}

/**
 * The question's runs of content words, in order: stopwords, chat filler and punctuation end a run, so "federated
 * learning with differential privacy" gives [federated learning] [differential privacy].
 */
export function questionRuns(question: string): QuestionWord[][] {
  const runs: QuestionWord[][] = [];
  let run: QuestionWord[] = [];
  const tagged = tagWords(question);
  let next = 0;
  const tagOf = (part: string) => {
    const lower = part.toLowerCase();
    // The tagger splits words a little differently ("multi-agent" is one of its tokens): look a few ahead.
    for (let ahead = next; ahead < Math.min(tagged.length, next + 4); ahead += 1) {
      if (tagged[ahead]!.word === lower) {
        next = ahead + 1;
        return tagged[ahead]!.tag;
      }
    }
    return 'X';
  };
  const close = () => {
    if (run.length > 0) runs.push(run);
    run = [];
  };
  for (const match of question.normalize('NFKC').matchAll(/[\p{L}\p{N}]+(?:[-/][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]+/gu)) {
    const chunk = match[0];
    if (!/[\p{L}\p{N}]/u.test(chunk)) {
      close();
      continue;
    }
    chunk.split(/[-/]+/).forEach((part, partIndex) => {
      const tag = tagOf(part);
      for (const word of tokenize(part)) {
        const term = processTerm(word);
        if (!term || FILLER_TERMS.has(term)) {
          close();
          continue;
        }
        run.push({ surface: word, term, joiner: partIndex > 0 && chunk.includes('-') ? '-' : ' ', tag });
      }
    });
  }
  close();
  return runs;
}

/** Every analyzed term of the question's runs, for one term-statistics lookup. */
export function conceptTerms(runs: readonly QuestionWord[][]): string[] {
  return [...new Set(runs.flat().map((word) => word.term))];
}

/**
 * Each key concept of the question with how the evidence covers it. `longForms` are the query's expansions
 * (`dpo` → direct preference optimization): a paper that spells the short form out covers it.
 */
export function conceptCoverage(
  runs: readonly QuestionWord[][],
  evidence: readonly RetrievedPaper[],
  statistics: TermStatistics,
  longForms: ReadonlyMap<string, readonly string[]> = new Map(),
  options: Readonly<KeyConceptOptions> = DEFAULT_KEY_CONCEPT_OPTIONS,
): ConceptCoverage[] {
  const maxRare = Math.max(1, Math.floor(options.rareShare * statistics.documents));
  const maxPhrase = Math.max(maxRare, Math.floor(options.phraseShare * statistics.documents));
  const maxEveryday = Math.floor(EVERYDAY_SHARE * statistics.documents);
  const frequency = (term: string) => statistics.frequencies.get(term) ?? 0;
  const papers = evidence.map((hit) => {
    const titleLength = stemmedTerms(hit.paper.title).length;
    const terms = [...stemmedTerms(hit.paper.title), ...stemmedTerms(hit.paper.abstract)];
    return { terms, titleLength, vocabulary: new Set(terms) };
  });
  const everywhere = new Set(papers.flatMap((paper) => paper.terms));
  const found = (term: string, vocabulary: ReadonlySet<string>) =>
    termFound(term, vocabulary, longForms, frequency(term));

  const concepts: ConceptCoverage[] = [];
  for (const run of runs) {
    const eligible = run.map((word, index) => !/^\d+$/.test(word.term) && namesAConcept(word, run[index + 1]));
    const rare = (index: number) => eligible[index] === true && frequency(run[index]!.term) <= maxRare;
    // Index ranges of the run that name a missing concept, with their state.
    const spans: Span[] = [];
    let covered = false;
    run.forEach((word, index) => {
      if (!rare(index)) return;
      const neighbours = [index - 1, index + 1].filter((near) => eligible[near]).map((near) => run[near]!);
      const state = anchorState(word.term, neighbours, papers, found, options.window);
      if (state === 'covered') covered = true;
      else if (state === 'passing') spans.push({ ...passingSpan(run, index, rare), state });
      else spans.push({ ...absentSpan(run, index, (term) => found(term, everywhere)), state });
    });
    // A term of two uncommon words must stand together in one paper: "unit tests", "image classification".
    for (let index = 0; index + 1 < run.length; index += 1) {
      if (!eligible[index] || !eligible[index + 1] || rare(index) || rare(index + 1)) continue;
      const [left, right] = [run[index]!, run[index + 1]!];
      const frequencies = [frequency(left.term), frequency(right.term)];
      // Words in a quarter of the library are its everyday vocabulary ("llm activations"), written many ways.
      if (Math.min(...frequencies) > maxPhrase || Math.max(...frequencies) > maxEveryday) continue;
      const state = anchorState(left.term, [right], papers, found, options.window, true);
      if (state === 'covered') covered = true;
      else spans.push({ from: index, to: index + 1, state });
    }
    const merged = mergeSpans(spans);
    for (const span of merged) concepts.push({ name: nameOf(run.slice(span.from, span.to + 1)), state: span.state });
    if (covered && merged.length === 0) concepts.push({ name: nameOf(run), state: 'covered' });
  }
  return dedupe(concepts);
}

/**
 * Nouns and names carry a question's topic, and so do the words that qualify a noun after them ("federated
 * learning", "watermarking llm text"); verbs, adverbs and a lone adjective do not ("deletes tokens inside the
 * encoder", "easy to move", "go quiet"): rare in a library of abstracts, they are how people chat.
 */
function namesAConcept(word: QuestionWord, next: QuestionWord | undefined): boolean {
  if (NOUN_TAGS.has(word.tag)) return true;
  const qualifies = word.tag === 'ADJ' || (word.tag === 'VERB' && /ing$/.test(word.surface));
  return qualifies && next !== undefined && NOUN_TAGS.has(next.tag);
}

const NOUN_TAGS: ReadonlySet<string> = new Set(['NOUN', 'PROPN', 'X', 'NUM', 'SYM']);

/** The names of the concepts not covered, in question order. */
export function missingConcepts(coverage: readonly ConceptCoverage[]): string[] {
  return coverage.filter((concept) => concept.state !== 'covered').map((concept) => concept.name);
}

/**
 * How "protein" stands in the evidence for "protein language models": `covered` when a paper has it within
 * `window` content words of a word beside it in the question, in its title, more than once, or at all when it
 * stands alone in the question. `together`: only beside its neighbour counts (the two words are one term).
 */
function anchorState(
  term: string,
  neighbours: readonly QuestionWord[],
  papers: ReadonlyArray<{ terms: readonly string[]; titleLength: number; vocabulary: ReadonlySet<string> }>,
  found: (term: string, vocabulary: ReadonlySet<string>) => boolean,
  window: number,
  together = false,
): ConceptCoverage['state'] {
  let seen = false;
  for (const paper of papers) {
    if (!found(term, paper.vocabulary)) continue;
    seen = true;
    if (neighbours.length === 0) return 'covered';
    const positions = paper.terms.flatMap((word, position) => (found(term, new Set([word])) ? [position] : []));
    // A typo or an expansion found through the whole vocabulary has no position of its own: it stands. A word a
    // paper's title has, or its abstract repeats, is what the paper is about; a passing mention is said once.
    if (positions.length === 0 || (!together && (positions.length > 1 || positions[0]! < paper.titleLength)))
      return 'covered';
    for (const position of positions) {
      const around = new Set(paper.terms.slice(Math.max(0, position - window), position + window + 1));
      if (neighbours.some((near) => found(near.term, around))) return 'covered';
    }
  }
  return seen ? 'passing' : 'absent';
}

/**
 * The words naming an absent rare word: it and the words beside it the evidence lacks too ("differential
 * privacy"), plus the noun a modifier qualifies ("federated" + "learning") or the word before a noun in -ing
 * ("reward" + "hacking").
 */
function absentSpan(
  run: readonly QuestionWord[],
  index: number,
  inEvidence: (term: string) => boolean,
): { from: number; to: number } {
  let from = index;
  let to = index;
  while (from > 0 && !inEvidence(run[from - 1]!.term)) from -= 1;
  while (to < run.length - 1 && !inEvidence(run[to + 1]!.term)) to += 1;
  if (to < run.length - 1 && MODIFIER.test(run[to]!.surface)) to += 1;
  if (from > 0 && from === to && /ing$/.test(run[from]!.surface)) from -= 1;
  if (from > 0 && run[from]!.joiner === '-') from -= 1;
  while (to < run.length - 1 && run[to + 1]!.joiner === '-') to += 1;
  return { from, to };
}

/** English endings of adjectives and participles, which qualify the noun after them. */
const MODIFIER = /(?:ed|al|ive|ic|ous|ary|ial|ar|ble)$/;

/** A word in more than this share of the library is part of its everyday vocabulary, never half of a term. */
const EVERYDAY_SHARE = 0.25;

interface Span {
  from: number;
  to: number;
  state: 'passing' | 'absent';
}

/**
 * The words naming a rare word a paper mentions only apart from the words around it in the question: it and the
 * common words after it ("protein language models"), not the next rare word ("multi-agent llm", then "debate").
 */
function passingSpan(
  run: readonly QuestionWord[],
  index: number,
  rare: (index: number) => boolean,
): { from: number; to: number } {
  let from = index;
  let to = index;
  while (to + 1 < run.length && to - index < 2 && !rare(to + 1)) to += 1;
  while (from > 0 && run[from]!.joiner === '-') from -= 1;
  while (to + 1 < run.length && run[to + 1]!.joiner === '-') to += 1;
  return { from, to };
}

function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((left, right) => left.from - right.from);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.from <= last.to + 1) {
      last.to = Math.max(last.to, span.to);
      // Nowhere in the evidence is the stronger statement only when the whole span is.
      if (span.state === 'passing') last.state = 'passing';
    } else merged.push({ ...span });
  }
  return merged;
}

function nameOf(words: readonly QuestionWord[]): string {
  return words.map((word, index) => (index === 0 ? word.surface : `${word.joiner}${word.surface}`)).join('');
}

function dedupe(concepts: ConceptCoverage[]): ConceptCoverage[] {
  const seen = new Set<string>();
  return concepts.filter((concept) => {
    const key = `${concept.state}:${concept.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Whether what the question asks that the evidence lacks weighs as much as what the best paper specifically shares
 * with it (its words outside the library's everyday vocabulary), in IDF: "federated learning … for llm finetuning"
 * shares only everyday words with its best hit, so its missing concepts are the question; "long prompts blow up gpu
 * memory, any trick that only keeps the important cached keys/values per head" shares "cached keys values head"
 * with TokenSelect, and "blow", "trick" are how people chat.
 */
export function missingOutweighs(
  runs: readonly QuestionWord[][],
  missing: readonly string[],
  best: RetrievedPaper | undefined,
  statistics: TermStatistics,
  ratio: number,
): boolean {
  if (missing.length === 0) return false;
  if (!best) return true;
  const missingWords = new Set(missing.flatMap((name) => name.split(/[\s-]+/)));
  const words = runs.flat();
  const missingTerms = new Set(words.filter((word) => missingWords.has(word.surface)).map((word) => word.term));
  const vocabulary = new Set(stemmedTerms(`${best.paper.title}\n${best.paper.abstract}`));
  const everyday = EVERYDAY_SHARE * statistics.documents;
  const idf = (term: string) => inverseDocumentFrequency(statistics, term);
  let shared = 0;
  for (const term of new Set(words.map((word) => word.term))) {
    if (missingTerms.has(term) || !vocabulary.has(term)) continue;
    if ((statistics.frequencies.get(term) ?? 0) <= everyday) shared += idf(term);
  }
  const lacking = [...missingTerms].reduce((sum, term) => sum + idf(term), 0);
  return lacking >= ratio * shared;
}

/** The question's words apart from the missing concepts, what the closest papers are on: "llm finetuning". */
export function closestTopic(question: string, missing: readonly string[]): string {
  const missingWords = new Set(missing.flatMap((name) => name.toLowerCase().split(/[\s-]+/)));
  const runs = questionRuns(question)
    .map((run) =>
      run.filter(
        (word) =>
          !missingWords.has(word.surface) &&
          (NOUN_TAGS.has(word.tag) || word.tag === 'ADJ' || /ing$/.test(word.surface)),
      ),
    )
    .filter((run) => run.length > 0);
  const longest = [...runs].sort((left, right) => right.length - left.length)[0];
  return longest ? nameOf(longest) : '';
}

/** "No paper in the library mentions federated learning or differential privacy." */
export function notInLibrary(missing: readonly string[]): string {
  const list = missing.length <= 1 ? missing.join('') : `${missing.slice(0, -1).join(', ')} or ${missing.at(-1)}`;
  return `No paper in the library mentions ${list}.`;
}

/**
 * How front ends introduce the closest papers to a question whose key concepts are missing, before anything else:
 * "No paper in the library mentions federated learning or differential privacy. The closest papers, on llm
 * finetuning" (the caller ends it: ":" before a list, ", are [1] and [2]…" in an answer).
 */
export function missingLead(question: string, missing: readonly string[]): string {
  const topic = closestTopic(question, missing);
  return `${notInLibrary(missing)} The closest papers${topic ? `, on ${topic}` : ''}`;
}
