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
