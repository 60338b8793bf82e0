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
  /** Sizes a file and one entry may have; defaults: `DEFAULT_IMPORT_LIMITS`. */
  limits?: ImportLimits;
}

/**
 * What a paper file may hold. A BibTeX parser's cost grows faster than the entry (one 2 MB abstract took 3.2 GB and
 * more than 14 minutes), and whole-file formats are held in memory: both are bounded before anything is parsed.
 */
export interface ImportLimits {
  /** Bytes of a file read whole (`IMPORT_MAX_FILE_MB`). */
  maxFileBytes: number;
  /** Bytes of one BibTeX entry or CSL-JSON item (`IMPORT_MAX_ENTRY_KB`); a larger one is skipped, the others kept. */
  maxEntryBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxFileBytes: 50 * 1024 * 1024,
  maxEntryBytes: 64 * 1024,
});

/** The skipped entry's reason when it is over `maxEntryBytes`. */
export function oversizedEntryReason(bytes: number, limits: ImportLimits): string {
  return `the entry takes ${formatSize(bytes)}, over the ${formatSize(limits.maxEntryBytes)} one entry may take (IMPORT_MAX_ENTRY_KB)`;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1024)} KB`;
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
  /** arXiv's primary category (`cs.CL`), as papercord's own exports write it. */
  primaryCategory?: string;
  keywords?: string[];
}

const HTML_TAG = /<\/?(?:i|b|em|strong|sup|sub|sc|span|u|tt)(?:\s[^>]*)?>/gi;

/** Markup some exporters put in titles and abstracts (`<i>…</i>`, `<span class="nocase">`), collapsed to plain text. */
export function plainText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // NFC: LaTeX accents come out of the parser as combining marks ("u" + "̈"), which would not match a typed "ü".
  const text = value.normalize('NFC').replace(HTML_TAG, '').replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text;
}
