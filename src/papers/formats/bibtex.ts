import { parse, type Creator, type Entry } from '@retorquere/bibtex-parser';
import { UserError } from '../../errors.js';
import { parseArxivReference } from '../arxivIds.js';
import { isoDate, papersFromEntries, webLink } from './readingList.js';
import {
  DEFAULT_IMPORT_LIMITS,
  oversizedEntryReason,
  plainText,
  type ImportLimits,
  type ListEntry,
  type ReadingListOptions,
  type ReadingListResult,
  type SkippedEntry,
} from './types.js';

/**
 * A `.bib` file through `@retorquere/bibtex-parser` (the parser of Better BibTeX for Zotero): LaTeX accents and
 * commands become Unicode, braces protecting case are dropped, `@string`s are expanded. A syntax error anywhere
 * rejects the file, naming the line where the broken entry starts.
 */
export async function readBibtex(
  fileText: string,
  file: string,
  options: ReadingListOptions = {},
): Promise<ReadingListResult> {
  const { text, oversized } = withoutOversizedEntries(fileText, file, options.limits ?? DEFAULT_IMPORT_LIMITS);
  let library: ReturnType<typeof parse>;
  try {
    library = parse(text, { sentenceCase: false, english: false, unsupported: 'ignore' });
  } catch (error) {
    // The parser reports most damage as errors, but some (a stray brace in a field) make it throw.
    const detail = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 160);
    throw new UserError(`${file}: malformed BibTeX (${detail}); nothing from this file was ingested`, { cause: error });
  }
  const firstError = library.errors[0];
  if (firstError) {
    const line = firstError.input ? lineOf(text, text.indexOf(firstError.input)) : undefined;
    const detail = firstError.error.replace(/\s+/g, ' ').slice(0, 160);
    throw new UserError(
      `${file}${line ? `:${line}` : ''}: malformed BibTeX entry (${detail}); nothing from this file was ingested`,
    );
  }
  let searchFrom = 0;
  const entries = library.entries.map((entry) => {
    const at = entry.input ? text.indexOf(entry.input, searchFrom) : -1;
    if (at >= 0) searchFrom = at + entry.input.length;
    return toListEntry(entry, `${file}:${at >= 0 ? lineOf(text, at) : '?'} (${entry.key})`);
  });
  const result = await papersFromEntries(entries, file, options);
  return { papers: result.papers, skipped: [...oversized, ...result.skipped] };
}

/** Where an entry starts (`@article{key,`), at the start of a line: its type and key, both bounded. */
const ENTRY_START = /^[ \t]*@[ \t]*([A-Za-z]{1,40})[ \t]*[{(][ \t]*([^,\s{}()]{0,100})/gm;

/**
 * The file with every entry over `maxEntryBytes` blanked out before the parser sees it (its lines kept as empty
 * lines, so the parser's line numbers still match the file), and those entries as skipped. An entry runs from its
 * `@type{` to the next one: no brace counting, so an entry whose braces never close is measured too.
 */
function withoutOversizedEntries(
  text: string,
  file: string,
  limits: ImportLimits,
): { text: string; oversized: SkippedEntry[] } {
  const starts = [...text.matchAll(ENTRY_START)];
  const oversized: SkippedEntry[] = [];
  const kept: string[] = [];
  let copiedTo = 0;
  let line = 1;
  let lineCountedTo = 0;
  starts.forEach((start, index) => {
    const from = start.index;
    const to = starts[index + 1]?.index ?? text.length;
    // Bytes at most 3 per UTF-16 unit here: only an entry that might be over the limit is measured exactly.
    if ((to - from) * 3 <= limits.maxEntryBytes) return;
    const entry = text.slice(from, to);
    const bytes = Buffer.byteLength(entry, 'utf8');
    if (bytes <= limits.maxEntryBytes) return;
    line += countNewlines(text, lineCountedTo, from);
    lineCountedTo = from;
    const [, type, key] = start;
    oversized.push({
      where: `${file}:${line} (${key || `@${type}`})`,
      title: null,
      reason: oversizedEntryReason(bytes, limits),
    });
    kept.push(text.slice(copiedTo, from), '\n'.repeat(countNewlines(text, from, to)));
    copiedTo = to;
  });
  if (oversized.length === 0) return { text, oversized };
  kept.push(text.slice(copiedTo));
  return { text: kept.join(''), oversized };
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('\n', from); at >= 0 && at < to; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}

/** `cs.CL`, `hep-ph`, `math.GT`: what arXiv calls a category. */
export const ARXIV_CATEGORY = /^[a-z-]+(?:\.[A-Za-z-]+)?$/;

function lineOf(text: string, index: number): number | undefined {
  if (index < 0) return undefined;
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
}

function creatorName(creator: Creator): string {
  if (creator.name) return creator.name;
  return [creator.firstName, creator.prefix, creator.lastName, creator.suffix].filter(Boolean).join(' ');
}

function toListEntry(entry: Entry, where: string): ListEntry {
  const fields = entry.fields;
  const field = (name: string): string | undefined => {
    const value = (fields as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
  const archive = (field('archiveprefix') ?? field('eprinttype') ?? '').toLowerCase();
  const eprint = field('eprint');
  const arxivId =
    (eprint && (archive === '' || archive === 'arxiv') ? parseArxivReference(eprint) : undefined) ??
    (field('doi') ? parseArxivReference(field('doi')!) : undefined) ??
    (field('url') ? parseArxivReference(field('url')!) : undefined) ??
    (field('journal') ? parseArxivReference(field('journal')!.replace(/^arxiv preprint\s+/i, '')) : undefined);
  const doi = field('doi');
  const listEntry: ListEntry = { where };
  const title = plainText(field('title'));
  const abstract = plainText(field('abstract'));
  if (title) listEntry.title = title;
  if (abstract) listEntry.abstract = abstract;
  const authors = (fields.author ?? [])
    .map(creatorName)
    .map((name) => name.normalize('NFC').replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  if (authors.length) listEntry.authors = authors;
  if (arxivId) listEntry.arxivId = arxivId;
  const url = webLink(field('url')) ?? (doi && !arxivId ? `https://doi.org/${doi}` : undefined);
  if (url) listEntry.url = url;
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(field('date') ?? '');
  const publishedAt = date ? isoDate([Number(date[1]), Number(date[2]), Number(date[3])]) : undefined;
  if (publishedAt) listEntry.publishedAt = publishedAt;
  const primaryCategory = field('primaryclass')?.trim();
  if (primaryCategory && ARXIV_CATEGORY.test(primaryCategory)) listEntry.primaryCategory = primaryCategory;
  const keywords = (fields as Record<string, unknown>).keywords;
  const keywordList = (Array.isArray(keywords) ? keywords : typeof keywords === 'string' ? keywords.split(',') : [])
    .map((keyword) => plainText(String(keyword)))
    .filter((keyword): keyword is string => keyword !== undefined);
  if (keywordList.length) listEntry.keywords = keywordList;
  return listEntry;
}

/** A BibTeX file, by content: an `@type{` entry start before any other text that is not a comment. */
export function looksLikeBibtex(head: string): boolean {
  return /^(?:\s|%[^\n]*\n)*@\s*[A-Za-z]+\s*[{(]/.test(head);
}
