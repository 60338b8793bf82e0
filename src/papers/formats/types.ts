import type { Paper } from '../paper.js';

/** An entry of a reading list that was read fine but cannot become a paper, and why (shown, never silently dropped). */
export interface SkippedEntry {
  /** `file:line`, plus the entry's key when it has one. */
  where: string;
  title: string | null;
  reason: string;
}

/** Papers by arXiv id, for entries that name an arXiv paper but carry no abstract (`--lookup`). */
export type ArxivLookup = (arxivIds: readonly string[]) => Promise<Map<string, Paper>>;

export interface ReadingListOptions {
  /** Looks up entries that have an arXiv id but no abstract; without it they are skipped with that reason. */
  lookup?: ArxivLookup;
}

export interface ReadingListResult {
  papers: Paper[];
  skipped: SkippedEntry[];
}

/** An entry as a reading list gives it, before the abstract rule is applied. */
export interface ListEntry {
  where: string;
  title?: string;
  abstract?: string;
  authors?: string[];
  arxivId?: string;
  url?: string;
  publishedAt?: string;
}

const HTML_TAG = /<\/?(?:i|b|em|strong|sup|sub|sc|span|u|tt)(?:\s[^>]*)?>/gi;

/** Markup some exporters put in titles and abstracts (`<i>…</i>`, `<span class="nocase">`), collapsed to plain text. */
export function plainText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // NFC: LaTeX accents come out of the parser as combining marks ("u" + "̈"), which would not match a typed "ü".
  const text = value.normalize('NFC').replace(HTML_TAG, '').replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text;
}
