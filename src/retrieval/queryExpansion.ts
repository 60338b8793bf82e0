import { stemmer } from 'stemmer';
import type { Paper } from '../papers/paper.js';

/**
 * Query-side expansion for questions worded unlike the abstracts: ML shorthand from a small curated lexicon, and
 * abbreviations spelled out the way the library's own abstracts define them ("Mixture-of-Recursions (MoR)").
 * Expansions are appended to the query, never replace it, and nothing here touches the index: papers are analyzed
 * exactly as before, so a persisted or on-disk full-text index stays valid.
 */

/**
 * Shorthand people type in chat that abstracts spell out. Only unambiguous ML usage; `lm`, `ctx`, `seq` and the
 * like are already expanded by the lexical tokenizer for both sides.
 */
export const ML_SHORTHAND: Readonly<Record<string, string>> = Object.freeze({
  llm: 'large language model',
  llms: 'large language models',
  dpo: 'direct preference optimization',
  rlhf: 'reinforcement learning from human feedback',
  sft: 'supervised fine-tuning',
  kv: 'key value cache',
  moe: 'mixture of experts',
  ssm: 'state space model',
  ssms: 'state space models',
  mamba: 'selective state space',
  mlm: 'masked language modeling',
  bos: 'initial first token',
  ffn: 'feedforward',
  mlp: 'feedforward',
  mlps: 'feedforward',
  attn: 'attention',
  emb: 'embedding',
  embs: 'embeddings',
  repr: 'representation',
  reps: 'representations',
  pics: 'images',
  pic: 'image',
  img: 'image',
  imgs: 'images',
  txt: 'text',
  tok: 'token',
  toks: 'tokens',
  vocab: 'vocabulary',
  pretrain: 'pre-training',
  pretraining: 'pre-training',
  finetune: 'fine-tuning',
  finetuning: 'fine-tuning',
  finetuned: 'fine-tuned',
  ar: 'autoregressive',
  gen: 'generation',
  nn: 'neural network',
  perf: 'performance',
  eval: 'evaluation',
  lr: 'learning rate',
  codegen: 'code generation',
  bpe: 'byte-pair encoding',
  mem: 'memory',
  gpu: 'memory',
  multilingual: 'languages',
});

/**
 * Phrases of chat and of ML folklore that abstracts say in other words: general ML vocabulary (training, decoding,
 * retrieval, tokenization, data, interpretability), not the wording of any one paper. Matched as whole words.
 */
export const ML_PARAPHRASES: Readonly<Record<string, string>> = Object.freeze({
  'teacher forcing': 'exposure bias training-inference gap',
  'exposure bias': 'training-inference gap teacher forcing',
  'free running': 'self-generated tokens inference',
  'early exit': 'adaptive depth computation per token',
  'bail out': 'adaptive depth computation',
  'weight sharing': 'parameter sharing recursive layers',
  'weight tying': 'parameter sharing recursive layers',
  'same layers': 'recursive parameter sharing layers',
  'memorize the corpus': 'model-based retrieval document identifiers',
  'memorized the corpus': 'model-based retrieval document identifiers',
  'no index': 'model-based retrieval without index',
  'generative retrieval': 'model-based retrieval document identifiers',
  'too many tokens': 'tokenization efficiency compression vocabulary',
  'tokenizer free': 'byte-level tokenizer-free',
  'no tokenizer': 'byte-level tokenizer-free',
  'raw bytes': 'byte-level',
  'attention sink': 'extreme-token initial token attention',
  'attention sinks': 'extreme-token initial token attention',
  'data mix': 'data mixture domain weights',
  'data mixing': 'data mixture domain weights',
  'quality filter': 'data quality selection',
  'quality filtering': 'data quality selection',
  curriculum: 'ordering training data skills',
  'ai generated': 'machine-generated text detection',
  'ai written': 'machine-generated text detection',
  'machine written': 'machine-generated text detection',
  'chatgpt written': 'machine-generated text detection',
  jailbreak: 'adversarial attacks',
  jailbreaks: 'adversarial attacks',
  'low rank': 'low-rank structured',
  grokking: 'abrupt learning emergence',
  'phase transition': 'abrupt learning emergence',
  'appears suddenly': 'abrupt emergence',
  'emerges suddenly': 'abrupt emergence',
  'latent reasoning': 'continuous latent space reasoning',
  'long prompts': 'long-context inference',
  'length generalization': 'length extrapolation',
  'unseen words': 'out-of-vocabulary',
  'reward shaping': 'token-level reward',
  pictures: 'images',
  picture: 'image',
  photos: 'images',
  'continuous thought': 'continuous latent reasoning',
  'continuous vectors': 'continuous latent representations',
  'thinking in vectors': 'continuous latent reasoning',
  mechanistically: 'mechanistic interpretability circuits',
  interpretability: 'mechanistic circuits',
  'fairness across languages': 'multilingual tokenization disparities',
  'unfairness across languages': 'multilingual tokenization disparities',
  'other languages': 'multilingual',
  'non english': 'multilingual languages',
  'cheaper per token': 'efficient adaptive computation',
  'compute cheaper': 'efficient computation',
  'next token prediction': 'autoregressive next-token objective',
  'training objective': 'pre-training objective loss',
  'rate documents': 'data quality rating',
  'quality criteria': 'data quality rating',
  'rlhf alternative': 'preference optimization',
  'dense reward': 'token-level reward',
});

export interface Expansion {
  /** As the query wrote it, lower-cased: `dpo`. */
  short: string;
  /** `direct preference optimization`. */
  long: string;
}

export interface ExpandedQuery {
  /** The query with expansions appended (the original text first). */
  text: string;
  expansions: Expansion[];
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Appends the long forms of shorthand the query uses (once each, only when the query lacks them). */
export function expandShorthand(
  query: string,
  lexicon: Readonly<Record<string, string>> = ML_SHORTHAND,
): ExpandedQuery {
  const lower = query.toLowerCase();
  const expansions: Expansion[] = [];
  for (const word of new Set(lower.match(WORD) ?? [])) {
    const long = lexicon[word];
    if (!long || lower.includes(long) || expansions.some((expansion) => expansion.long === long)) continue;
    expansions.push({ short: word, long });
  }
  if (lexicon === ML_SHORTHAND) {
    for (const expansion of paraphraseExpansions(query)) {
      if (!expansions.some((known) => known.long === expansion.long)) expansions.push(expansion);
    }
  }
  return { text: withExpansions(query, expansions), expansions };
}

/** Words stemmed, so a phrase matches however it is inflected ("memorizes the corpus", "attention sinks"). */
function stemmedWords(text: string): string {
  return ` ${(text.toLowerCase().match(WORD) ?? []).map((word) => stemmer(word)).join(' ')} `;
}

const STEMMED_PARAPHRASES: ReadonlyArray<readonly [stemmed: string, phrase: string, long: string]> = Object.entries(
  ML_PARAPHRASES,
).map(([phrase, long]) => [stemmedWords(phrase), phrase, long] as const);

/** The ML_PARAPHRASES phrases the query uses, as whole words in any inflection, each long form once. */
export function paraphraseExpansions(query: string): Expansion[] {
  const words = stemmedWords(query);
  const expansions: Expansion[] = [];
  for (const [stemmed, phrase, long] of STEMMED_PARAPHRASES) {
    if (words.includes(stemmed) && !expansions.some((expansion) => expansion.long === long))
      expansions.push({ short: phrase, long });
  }
  return expansions;
}

/** The query followed by the long forms, one a line. */
export function withExpansions(query: string, expansions: readonly Expansion[]): string {
  return expansions.length > 0 ? `${query}\n${expansions.map((expansion) => expansion.long).join('\n')}` : query;
}

/** Words that can be abbreviations: 2 to 10 letters or digits with at least one letter ("MoR", "cDPO", "xAR"). */
export function abbreviationCandidates(query: string): string[] {
  const words = query.match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? [];
  return [
    ...new Set(
      words
        .filter((word) => word.length >= 2 && word.length <= 10 && /\p{L}/u.test(word))
        .map((word) => word.toLowerCase()),
    ),
  ];
}

/**
 * Long forms the papers define for the given abbreviations, read from "long form (ABBR)" in their abstracts, e.g.
 * `mor` → "Mixture-of-Recursions". Only the papers passed are read (the best hits of a first pass), so a query costs
 * a few abstracts, however large the library.
 */
export function definedLongForms(abbreviations: readonly string[], papers: readonly Paper[]): Map<string, string> {
  const wanted = new Set(abbreviations.map((abbreviation) => abbreviation.toLowerCase()));
  const found = new Map<string, string>();
  if (wanted.size === 0) return found;
  const definition = /([^()]{1,120})\(\s*([\p{L}\p{N}][\p{L}\p{N}-]{1,9})\s*\)/gu;
  for (const paper of papers) {
    for (const match of `${paper.title}. ${paper.abstract}`.matchAll(definition)) {
      const short = match[2]!;
      const key = short.toLowerCase();
      // Written in lower case it is a word in brackets ("(tokens)"), not an abbreviation.
      if (!wanted.has(key) || found.has(key) || !/[\p{Lu}\p{N}]/u.test(short)) continue;
      const longForm = longFormFor(short, match[1]!);
      if (longForm) found.set(key, longForm);
    }
  }
  return found;
}

/**
 * The shortest ending of `before` whose characters spell `short` in order, each matched letter of the first
 * abbreviation character starting a word: Schwartz & Hearst's algorithm (PSB 2003), as most biomedical
 * abbreviation finders use it.
 */
export function longFormFor(short: string, before: string): string | undefined {
  const text = before.replace(/\s+/g, ' ').trimEnd();
  const words = text.split(' ');
  // A definition spans at most min(|A| + 5, |A| * 2) words.
  const window = words.slice(-Math.min(short.length + 5, short.length * 2)).join(' ');
  const longForm = window.toLowerCase();
  const abbreviation = short.toLowerCase();
  let s = abbreviation.length - 1;
  let l = longForm.length - 1;
  while (s >= 0) {
    const char = abbreviation[s]!;
    if (!/[\p{L}\p{N}]/u.test(char)) {
      s -= 1;
      continue;
    }
    while (l >= 0 && (longForm[l] !== char || (s === 0 && l > 0 && /[\p{L}\p{N}]/u.test(longForm[l - 1]!)))) l -= 1;
    if (l < 0) return undefined;
    l -= 1;
    s -= 1;
  }
  const start = longForm.lastIndexOf(' ', l) + 1;
  const result = window.slice(start).trim();
  // "(MoR)" after a single word that merely starts with M is no definition.
  if (result.split(/[\s-]+/).length < 2 || result.toLowerCase() === abbreviation) return undefined;
  return result;
}
