import { paperId, type Paper } from '../paper.js';
import type { ListEntry, ReadingListOptions, ReadingListResult, SkippedEntry } from './types.js';

/**
 * The rule BibTeX and CSL-JSON share: an entry with a title and an abstract is a paper; one with an arXiv id but no
 * abstract is looked up when a lookup is given, else skipped saying so; anything else is skipped with its reason.
 */
export async function papersFromEntries(
  entries: readonly ListEntry[],
  source: string,
  options: ReadingListOptions,
): Promise<ReadingListResult> {
  const papers: Paper[] = [];
  const skipped: SkippedEntry[] = [];
  const toLookUp: ListEntry[] = [];
  for (const entry of entries) {
    if (!entry.title && !entry.arxivId) {
      skipped.push({ where: entry.where, title: null, reason: 'no title' });
    } else if (entry.title && entry.abstract) {
      papers.push(toPaper(entry, source));
    } else if (entry.arxivId && options.lookup) {
      toLookUp.push(entry);
    } else if (entry.arxivId) {
      skipped.push({
        where: entry.where,
        title: entry.title ?? null,
        reason: `no abstract; it is arXiv ${entry.arxivId}, add --lookup to fetch it`,
      });
    } else {
      skipped.push({
        where: entry.where,
        title: entry.title ?? null,
        reason: 'no abstract and no arXiv id to look it up by',
      });
    }
  }
  if (toLookUp.length > 0 && options.lookup) {
    const found = await options.lookup(toLookUp.map((entry) => entry.arxivId!));
    for (const entry of toLookUp) {
      const record = found.get(entry.arxivId!);
      if (record?.abstract) papers.push({ ...record, source });
      else
        skipped.push({ where: entry.where, title: entry.title ?? null, reason: `arXiv has no paper ${entry.arxivId}` });
    }
  }
  return { papers, skipped };
}

function toPaper(entry: ListEntry, source: string): Paper {
  const title = entry.title!;
  const paper: Paper = { id: paperId({ title, arxivId: entry.arxivId }), title, abstract: entry.abstract!, source };
  if (entry.authors?.length) paper.authors = entry.authors;
  if (entry.arxivId) paper.arxivId = entry.arxivId;
  const url = entry.url ?? (entry.arxivId ? `https://arxiv.org/abs/${entry.arxivId}` : undefined);
  if (url) paper.url = url;
  if (entry.publishedAt) paper.publishedAt = entry.publishedAt;
  if (entry.primaryCategory && entry.arxivId) paper.primaryCategory = entry.primaryCategory;
  if (entry.keywords?.length) paper.keywords = entry.keywords;
  return paper;
}

/** `[2024, 10, 28]` (CSL date-parts) or `2024-10-28` → an ISO timestamp; a year alone is not a date. */
export function isoDate(parts: readonly number[] | undefined): string | undefined {
  if (!parts || parts.length < 3 || parts.some((part) => !Number.isInteger(part))) return undefined;
  const [year, month, day] = parts as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return Number.isNaN(date.getTime()) || date.getUTCDate() !== day ? undefined : date.toISOString();
}

/** Web links only: Discord refuses an embed whose link is anything else. */
export function webLink(value: string | undefined): string | undefined {
  return value && /^https?:\/\/\S+$/i.test(value.trim()) ? value.trim() : undefined;
}
