import { stemmer } from 'stemmer';
import { eng as englishStopwords } from 'stopword';

/**
 * Word lists and analysis for reading abstracts as prose (choosing informative sentences, key phrases), beside the
 * search analysis of ./analysis.ts: here the word as written is kept, and the lists drop what reads as a fragment or
 * says nothing about a paper's topic, which search must not drop.
 */

/** Words too common in abstracts to say anything about a paper's topic. */
export const GENERIC_WORDS = [
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
/** Stopwords of key phrases: English stopwords and function words that read as fragments inside a phrase. */
export const PHRASE_STOPWORDS: ReadonlySet<string> = new Set([
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
/** Stems of GENERIC_WORDS. */
export const GENERIC_STEMS: ReadonlySet<string> = new Set(GENERIC_WORDS.map((word) => stemmer(word)));

/** A content word as written and its Porter stem. */
export interface StemmedWord {
  stem: string;
  surface: string;
}

/**
 * Content words of `text` with the word each stem came from, for key terms shown to users; `compounds` keeps
 * hyphenated words such as `byte-level` whole.
 */
export function wordsWithStems(text: string, options: { compounds?: boolean } = {}): StemmedWord[] {
  const pattern = options.compounds ? /[\p{L}\p{N}]+(?:[-‐][\p{L}\p{N}]+)*/gu : /[\p{L}\p{N}]+/gu;
  const terms: StemmedWord[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(pattern)) {
    const surface = match[0];
    if (PHRASE_STOPWORDS.has(surface) || surface.length < 2 || /^\d+$/.test(surface)) continue;
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
