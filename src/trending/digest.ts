import { definedOnly } from '../util/options.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { findThemes, type Theme, type ThemeOptions } from './themes.js';

export type { Theme } from './themes.js';

/** One line of the digest: what a reader needs to decide whether to open the paper. */
export interface DigestPaper {
  id: string;
  title: string;
  /** Null when the source has no votes (arXiv, seeds). */
  upvotes: number | null;
  /** Null when the source gave no link (seed pages). */
  url: string | null;
  tldr: string;
  authors: string[];
}

export interface Digest {
  /** The day the papers are from, `YYYY-MM-DD`. */
  date: string;
  papers: DigestPaper[];
  themes: Theme[];
}

/** A one- or two-line TL;DR of a paper; `AnswerService.summarize` in the app. */
export type Summarize = (paper: Paper, options: { signal?: AbortSignal }) => Promise<string>;

export interface BuildDigestOptions {
  date: string;
  /** The day's papers, in any order. */
  papers: readonly Paper[];
  embedder: PaperEmbedder;
  summarize: Summarize;
  count?: number;
  /** Keep papers matching any topic: as a phrase in the title, abstract or keywords, or by embedding similarity. */
  topics?: readonly string[];
  /** Words or phrases that keep a paper out (in its title, abstract or keywords), whatever its topics. */
  exclude?: readonly string[];
  /** Cosine similarity from which a paper counts as on-topic without mentioning it. */
  topicSimilarity?: number;
  /** Papers clustered into themes; the rest of the day is ignored for the themes line. */
  maxThemePapers?: number;
  themes?: ThemeOptions;
  signal?: AbortSignal;
  logger?: Logger;
}

export const DEFAULT_DIGEST_OPTIONS = {
  count: 5,
  topics: [] as readonly string[],
  topicSimilarity: 0.35,
  maxThemePapers: 60,
} as const;

/** Most upvotes first; ties (and sources without votes) by most recent; then the source's own order. */
export function rankPapers(papers: readonly Paper[]): Paper[] {
  const time = (paper: Paper) => (paper.publishedAt ? Date.parse(paper.publishedAt) || 0 : 0);
  return papers
    .map((paper, index) => ({ paper, index }))
    .sort(
      (a, b) => (b.paper.upvotes ?? -1) - (a.paper.upvotes ?? -1) || time(b.paper) - time(a.paper) || a.index - b.index,
    )
    .map(({ paper }) => paper);
}

/** The text a paper is embedded from for topics and themes. */
export function embeddingText(paper: Paper): string {
  return `${paper.title}\n\n${paper.abstract}`;
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((sum, value, i) => sum + value * b[i], 0);

const SUMMARY_CUE = /\b(we (propose|present|introduce|show|find|develop|release)|this (paper|work|survey))\b/i;
const MAX_TLDR_CHARS = 240;

/** At most `max` characters, cut at a word, with an ellipsis when cut. */
export function clip(text: string, max: number = MAX_TLDR_CHARS): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max - 1);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > max / 2 ? cut.slice(0, lastSpace) : cut).replace(/[\s,;:.]+$/, '')}…`;
}

/**
 * A TL;DR without a language model: the source's AI summary, else the abstract's key sentence (the first that says
 * what the paper does, else its first sentence).
 */
export function keySentenceSummary(paper: Paper): string {
  if (paper.aiSummary?.trim()) return clip(paper.aiSummary);
  const sentences = paper.abstract.split(/(?<=[.!?])\s+(?=[A-Z0-9])/).filter((sentence) => sentence.trim());
  const key = sentences.find((sentence) => SUMMARY_CUE.test(sentence)) ?? sentences[0] ?? paper.title;
  return clip(key);
}

/**
 * A topic as whole words, plural allowed: "GAN" finds "GANs" but not "organizes", "RL" not "world", as a substring
 * test would.
 */
export function topicPattern(topic: string): RegExp {
  const escaped = topic
    .trim()
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?:s|es)?(?![\\p{L}\\p{N}])`, 'iu');
}

/**
 * The day's digest: papers ranked and topic-filtered, the top `count` with TL;DRs, and the themes of the (filtered)
 * day. A failing `summarize` falls back to the key sentence, so one bad LLM call does not lose the post.
 */
export async function buildDigest(options: BuildDigestOptions): Promise<Digest> {
  const settings = { ...DEFAULT_DIGEST_OPTIONS, ...definedOnly(options) };
  const { signal, embedder, logger } = settings;
  const ranked = rankPapers(settings.papers);
  const candidates = ranked.slice(0, Math.max(settings.maxThemePapers, settings.count));
  signal?.throwIfAborted();
  const vectors = candidates.length ? await embedder.embeddings.embedDocuments(candidates.map(embeddingText)) : [];
  signal?.throwIfAborted();

  let kept = candidates.map((paper, index) => ({ paper, vector: vectors[index] }));
  const excluded = (settings.exclude ?? [])
    .map((phrase) => phrase.trim())
    .filter(Boolean)
    .map(topicPattern);
  if (excluded.length) {
    kept = kept.filter(({ paper }) => {
      const haystack = [paper.title, paper.abstract, ...(paper.keywords ?? [])].join('\n');
      return !excluded.some((pattern) => pattern.test(haystack));
    });
  }
  const topics = settings.topics.map((topic) => topic.trim()).filter(Boolean);
  if (topics.length) {
    // Topics are what members search for: queries, embedded with the model's query prefix.
    const topicVectors = await Promise.all(topics.map((topic) => embedder.embeddings.embedQuery(topic)));
    const patterns = topics.map(topicPattern);
    kept = kept.filter(({ paper, vector }) => {
      const haystack = [paper.title, paper.abstract, ...(paper.keywords ?? [])].join('\n');
      return topics.some(
        (_, index) => patterns[index]!.test(haystack) || dot(vector, topicVectors[index]) >= settings.topicSimilarity,
      );
    });
  }

  const papers: DigestPaper[] = [];
  for (const { paper } of kept.slice(0, settings.count)) {
    signal?.throwIfAborted();
    let tldr: string;
    try {
      tldr = clip((await settings.summarize(paper, { signal })).trim()) || keySentenceSummary(paper);
    } catch (error) {
      if (signal?.aborted) throw error;
      logger?.warn({ paperId: paper.id, error: describeError(error) }, 'summary failed; using the key sentence');
      tldr = keySentenceSummary(paper);
    }
    papers.push({
      id: paper.id,
      title: paper.title,
      upvotes: paper.upvotes ?? null,
      url: paper.url ?? (paper.arxivId ? `https://arxiv.org/abs/${paper.arxivId}` : null),
      tldr,
      authors: paper.authors ?? [],
    });
  }

  const themes = findThemes(
    kept.map(({ paper }) => paper),
    kept.map(({ vector }) => vector),
    settings.themes,
  );
  return { date: settings.date, papers, themes };
}
