import { parse, type Creator, type Entry } from '@retorquere/bibtex-parser';
import { UserError } from '../../errors.js';
import { parseArxivReference } from '../arxivIds.js';
import { isoDate, papersFromEntries, webLink } from './readingList.js';
import { plainText, type ListEntry, type ReadingListOptions, type ReadingListResult } from './types.js';

/**
 * A `.bib` file through `@retorquere/bibtex-parser` (the parser of Better BibTeX for Zotero): LaTeX accents and
 * commands become Unicode, braces protecting case are dropped, `@string`s are expanded. A syntax error anywhere
 * rejects the file, naming the line where the broken entry starts.
 */
export async function readBibtex(
  text: string,
  file: string,
  options: ReadingListOptions = {},
): Promise<ReadingListResult> {
  const library = parse(text, { sentenceCase: false, english: false, unsupported: 'ignore' });
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
  return papersFromEntries(entries, file, options);
}

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
  return listEntry;
}

/** A BibTeX file, by content: an `@type{` entry start before any other text that is not a comment. */
export function looksLikeBibtex(head: string): boolean {
  return /^(?:\s|%[^\n]*\n)*@\s*[A-Za-z]+\s*[{(]/.test(head);
}
