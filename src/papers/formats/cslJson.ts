import { z } from 'zod';
import { UserError } from '../../errors.js';
import { parseArxivReference } from '../arxivIds.js';
import { ARXIV_CATEGORY } from './bibtex.js';
import { isoDate, papersFromEntries, webLink } from './readingList.js';
import {
  DEFAULT_IMPORT_LIMITS,
  oversizedEntryReason,
  plainText,
  type ListEntry,
  type ReadingListOptions,
  type ReadingListResult,
  type SkippedEntry,
} from './types.js';

/** The CSL-JSON fields papercord reads; others (and unknown types) are ignored, wrong types reject the file. */
const cslNameSchema = z
  .object({ family: z.string().optional(), given: z.string().optional(), literal: z.string().optional() })
  .passthrough();
const cslDateSchema = z
  .object({ 'date-parts': z.array(z.array(z.union([z.number(), z.string()]))).optional() })
  .passthrough();
const cslItemSchema = z
  .object({
    id: z.union([z.string(), z.number()]).optional(),
    type: z.string().optional(),
    title: z.string().optional(),
    abstract: z.string().optional(),
    author: z.array(cslNameSchema).optional(),
    issued: cslDateSchema.optional(),
    URL: z.string().optional(),
    DOI: z.string().optional(),
    number: z.union([z.string(), z.number()]).optional(),
    note: z.string().optional(),
    keyword: z.string().optional(),
  })
  .passthrough();

/**
 * CSL-JSON, what Zotero, Mendeley and most reference managers export: a JSON array of items. A file that is not
 * valid JSON, or an item whose fields have the wrong types, rejects the file naming the line.
 */
export async function readCslJson(
  text: string,
  file: string,
  options: ReadingListOptions = {},
): Promise<ReadingListResult> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? '' : `:${lineAt(text, Number(position))}`;
    throw new UserError(
      `${file}${line}: not valid JSON (${(error as Error).message}); nothing from this file was ingested`,
    );
  }
  if (!Array.isArray(value))
    throw new UserError(`${file}:1: expected a CSL-JSON array of items; nothing from this file was ingested`);
  const lines = topLevelItemLines(text);
  const limits = options.limits ?? DEFAULT_IMPORT_LIMITS;
  const oversized: SkippedEntry[] = [];
  const entries = value.flatMap((item: unknown, index) => {
    const where = `${file}:${lines[index] ?? '?'}`;
    const bytes = Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
    if (bytes > limits.maxEntryBytes) {
      oversized.push({
        where: `${where} (item ${index + 1})`,
        title: null,
        reason: oversizedEntryReason(bytes, limits),
      });
      return [];
    }
    const parsed = cslItemSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(
        `${where}: item ${index + 1}: ${issue.path.join('.') || 'item'}: ${issue.message}; nothing from this file was ingested`,
      );
    }
    return [toListEntry(parsed.data, `${where}${parsed.data.id === undefined ? '' : ` (${parsed.data.id})`}`)];
  });
  const result = await papersFromEntries(entries, file, options);
  return { papers: result.papers, skipped: [...oversized, ...result.skipped] };
}

function toListEntry(item: z.infer<typeof cslItemSchema>, where: string): ListEntry {
  const entry: ListEntry = { where };
  const title = plainText(item.title);
  const abstract = plainText(item.abstract);
  if (title) entry.title = title;
  if (abstract) entry.abstract = abstract;
  const authors = (item.author ?? [])
    .map((name) => name.literal ?? [name.given, name.family].filter(Boolean).join(' '))
    .map((name) => name.normalize('NFC').replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  if (authors.length) entry.authors = authors;
  const arxivId =
    (item.DOI ? parseArxivReference(item.DOI) : undefined) ??
    (item.URL ? parseArxivReference(item.URL) : undefined) ??
    (item.number !== undefined ? parseArxivReference(String(item.number)) : undefined);
  if (arxivId) entry.arxivId = arxivId;
  const url = webLink(item.URL) ?? (item.DOI && !arxivId ? `https://doi.org/${item.DOI}` : undefined);
  if (url) entry.url = url;
  const parts = item.issued?.['date-parts']?.[0]?.map(Number);
  const publishedAt = isoDate(parts);
  if (publishedAt) entry.publishedAt = publishedAt;
  // "arXiv:2410.20771 [cs.CL]", as arXiv prints an id with its primary category (papercord's exports write it in `note`).
  const primaryCategory = /\barxiv:\s*\S+\s+\[([^\]\s]+)\]/i.exec(item.note ?? '')?.[1];
  if (primaryCategory && ARXIV_CATEGORY.test(primaryCategory)) entry.primaryCategory = primaryCategory;
  const keywords = (item.keyword ?? '')
    .split(',')
    .map((keyword) => plainText(keyword))
    .filter((keyword): keyword is string => keyword !== undefined);
  if (keywords.length) entry.keywords = keywords;
  return entry;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let at = 0; at < index && at < text.length; at += 1) if (text.charCodeAt(at) === 10) line += 1;
  return line;
}

/** The line each item of the top-level array starts on (a small scanner that knows strings and nesting). */
function topLevelItemLines(text: string): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  let expectingItem = false;
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at]!;
    if (char === '\n') line += 1;
    if (inString) {
      if (char === '\\') at += 1;
      else if (char === '"') inString = false;
      continue;
    }
    if (expectingItem && !/\s/.test(char) && char !== ']') {
      lines.push(line);
      expectingItem = false;
    }
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      depth += 1;
      if (depth === 1) expectingItem = true;
    } else if (char === '}' || char === ']') depth -= 1;
    else if (char === ',' && depth === 1) expectingItem = true;
  }
  return lines;
}

/** CSL-JSON by content: an array whose first item has CSL's `type` and a `title`, or `author` as name objects. */
export function looksLikeCslJson(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0) return false;
  const first = value[0] as Record<string, unknown> | null;
  if (!first || typeof first !== 'object') return false;
  const authorObjects =
    Array.isArray(first.author) && first.author.some((name) => name !== null && typeof name === 'object');
  return (
    authorObjects ||
    (typeof first.type === 'string' &&
      ('issued' in first || 'container-title' in first || 'DOI' in first || 'URL' in first))
  );
}
