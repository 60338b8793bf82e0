import { createHash } from 'node:crypto';

/** One paper in the library. `id` is stable: the arXiv id when known, else derived from the normalized title. */
export interface Paper {
  id: string;
  title: string;
  abstract: string;
  /** Where the paper came from: `seeds`, `hf`, `arxiv`, or a file path. */
  source: string;
  url?: string;
  /** ISO 8601 timestamp. */
  publishedAt?: string;
  authors?: string[];
  arxivId?: string;
  upvotes?: number;
  aiSummary?: string;
  keywords?: string[];
  githubRepo?: string;
  numComments?: number;
  thumbnail?: string;
  primaryCategory?: string;
}

/** Lower-case, collapse punctuation and whitespace: the same title typed twice normalizes the same. */
export function normalizeTitle(title: string): string {
  return title
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The id of a paper: `arxiv:<id>` (version suffix dropped) when the arXiv id is known, so the same paper from two
 * sources is one paper; otherwise `t:` and a hash of the normalized title, stable across runs and machines.
 */
export function paperId(paper: { title: string; arxivId?: string }): string {
  if (paper.arxivId) return `arxiv:${paper.arxivId.replace(/v\d+$/, '')}`;
  const digest = createHash('sha256').update(normalizeTitle(paper.title)).digest('hex');
  return `t:${digest.slice(0, 16)}`;
}

/**
 * Where a reader can open the paper: its own URL, else its arXiv page, else an arXiv title search (seed pages are
 * captured without links, and a search by exact title finds the paper almost always). The URL goes inside Markdown
 * links, `[title](url)`, which end at the first ")": parentheses are percent-encoded, which leaves the URL's meaning alone.
 */
export function paperLinkUrl(paper: { title: string; url?: string | null; arxivId?: string }): string {
  if (paper.url) return paper.url.replace(/\(/g, '%28').replace(/\)/g, '%29');
  if (paper.arxivId) return `https://arxiv.org/abs/${paper.arxivId}`;
  // encodeURIComponent leaves ! ' ( ) * as they are; a title such as "Retrofitting (Large) Language Models" has them.
  const query = encodeURIComponent(paper.title).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `https://arxiv.org/search/?searchtype=title&query=${query}`;
}

/**
 * How long a stored title and abstract may be. Real abstracts stay under 2,000 characters (arXiv's own limit is
 * 1,920) and titles under 300; a file, a feed or a PDF can claim megabytes, which would then be embedded, indexed,
 * rendered and sent to a model on every question that finds it.
 */
export interface PaperTextLimits {
  /** `PAPER_MAX_TITLE_CHARS`. */
  maxTitleChars: number;
  /** `PAPER_MAX_ABSTRACT_CHARS`. */
  maxAbstractChars: number;
}

export const DEFAULT_PAPER_TEXT_LIMITS: Readonly<PaperTextLimits> = Object.freeze({
  maxTitleChars: 500,
  maxAbstractChars: 10_000,
});

/**
 * The paper with its title and abstract cut to the limits (at a word boundary, ending in "…"); the same object when
 * both fit, so a caller can tell whether anything was cut.
 */
export function boundPaperText(paper: Paper, limits: PaperTextLimits = DEFAULT_PAPER_TEXT_LIMITS): Paper {
  const title = cutAtWord(paper.title, limits.maxTitleChars);
  const abstract = cutAtWord(paper.abstract, limits.maxAbstractChars);
  return title === paper.title && abstract === paper.abstract ? paper : { ...paper, title, abstract };
}

function cutAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const kept = Array.from(text.slice(0, maxChars)).slice(0, -1).join('');
  const lastSpace = kept.search(/\s\S*$/);
  // A cut inside the last word, unless that word is most of the text (a title with no spaces).
  const cut = lastSpace > maxChars / 2 ? kept.slice(0, lastSpace) : kept;
  return `${cut.trimEnd()}…`;
}
