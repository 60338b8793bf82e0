import { createReadStream, existsSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { paperId, type Paper } from './paper.js';
import { findBinaryLine, parseSeedPage, type BinaryCheck } from './seedPage.js';
import { looksLikeArxivSnapshot, snapshotPaperBatches, validateSnapshot } from './formats/arxivSnapshot.js';
import { looksLikeBibtex, readBibtex } from './formats/bibtex.js';
import { looksLikeCslJson, readCslJson } from './formats/cslJson.js';
import { DEFAULT_IMPORT_LIMITS, formatSize, type ReadingListOptions, type ReadingListResult } from './formats/types.js';

/** Files a directory source is read from; anything else in it is ignored. */
const PAPER_FILE_EXTENSIONS = new Set(['.txt', '.json', '.jsonl', '.bib']);

/** What a paper file holds, told by its content first and its extension second. */
export type PaperFileFormat = 'arxiv-snapshot' | 'bibtex' | 'json' | 'jsonl' | 'seed-page';

/** Bytes read to tell a file's format: enough for a BibTeX preamble or the first snapshot record. */
const SNIFF_BYTES = 64 * 1024;

export async function detectPaperFileFormat(file: string): Promise<PaperFileFormat> {
  const handle = await open(file, 'r');
  let head: string;
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    head = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await handle.close();
  }
  const extension = path.extname(file).toLowerCase();
  const trimmed = head.trimStart();
  if (trimmed.startsWith('{') && looksLikeArxivSnapshot(trimmed.split(/\r?\n/, 1)[0]!)) return 'arxiv-snapshot';
  if (extension === '.bib' || looksLikeBibtex(head)) return 'bibtex';
  if (extension === '.jsonl') return 'jsonl';
  if (extension === '.json' || trimmed.startsWith('[')) return 'json';
  if (trimmed.startsWith('{')) return 'jsonl';
  return 'seed-page';
}

export interface LoadPaperSourceOptions extends ReadingListOptions {
  /** For the arXiv snapshot: keep only records with a category starting with this. */
  category?: string;
}

/** The seed corpus shipped in the repository (`seeds/`), from `src/papers` or `dist/src/papers`. */
export function seedsDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../seeds'), path.resolve(here, '../../../seeds')];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/**
 * Papers from `seeds` (the repository's seed pages) or a path: a seed-page text file, a JSON array or JSONL file
 * of papers, or a directory of such files. All or nothing: one malformed file rejects the whole source.
 */
export async function loadPapersFromSource(
  source: 'seeds' | string,
  options: LoadPaperSourceOptions = {},
): Promise<Paper[]> {
  return (await loadPaperSource(source, options)).papers;
}

/**
 * `loadPapersFromSource` with the entries that were read but could not become papers (a BibTeX entry without an
 * abstract), each with its place and reason.
 */
export async function loadPaperSource(
  source: 'seeds' | string,
  options: LoadPaperSourceOptions = {},
): Promise<ReadingListResult> {
  const location = source === 'seeds' ? seedsDirectory() : source;
  const info = await stat(location).catch(() => undefined);
  if (!info) throw new UserError(`${location}: no such file or directory`);
  const files = info.isDirectory() ? await paperFilesIn(location) : [location];
  if (files.length === 0)
    throw new UserError(`${location}: no .txt, .json, .jsonl or .bib paper files in this directory`);

  const result: ReadingListResult = { papers: [], skipped: [] };
  for (const file of files) {
    const read = await readPaperFile(file, source === 'seeds' ? 'seeds' : file, options);
    result.papers.push(...read.papers);
    result.skipped.push(...read.skipped);
  }
  return result;
}

/** Whether a file's bytes are valid UTF-8, read in chunks (a snapshot-sized file is never held whole). */
async function isValidUtf8File(file: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(file)) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** A JSONL file of papers read as it is needed; every line was checked before `count` was known. */
export interface PaperLines {
  count: number;
  papers(): AsyncGenerator<Paper>;
}

/**
 * A JSONL file of papers without holding it in memory: read once line by line to check every line (a malformed
 * file still adds nothing) and count them, then again, line by line, as the papers are added.
 */
export async function streamPaperLines(file: string): Promise<PaperLines> {
  let count = 0;
  for await (const _paper of readPaperLines(file, file)) count += 1;
  return { count, papers: () => readPaperLines(file, file) };
}

/** The papers of a JSONL file, one line at a time, with the same checks and messages as a whole-file read. */
async function* readPaperLines(file: string, source: string): AsyncGenerator<Paper> {
  const check = { validUtf8: await isValidUtf8File(file) };
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  let any = false;
  for await (const raw of lines) {
    number += 1;
    // Editors on Windows save a byte-order mark; invalid UTF-8 decodes to U+FFFD, which findBinaryLine reports.
    const line = number === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (findBinaryLine(line, check) !== undefined)
      throw new UserError(`${file}:${number}: binary content, not JSON; nothing from this file was ingested`);
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UserError(`${file}:${number}: not a JSON object; nothing from this file was ingested`);
    }
    any = true;
    yield toPaper(value, `${file}:${number}`, source);
  }
  if (!any) throw new UserError(`${file}: the file is empty; nothing from this file was ingested`);
}

async function paperFilesIn(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && PAPER_FILE_EXTENSIONS.has(path.extname(entry.name).toLowerCase()))
    .map((entry) => path.join(directory, entry.name))
    .sort();
}

/** `source` is recorded on papers that do not say where they came from. */
async function readPaperFile(
  file: string,
  source: string,
  options: LoadPaperSourceOptions,
): Promise<ReadingListResult> {
  const format = await detectPaperFileFormat(file);
  if (format === 'arxiv-snapshot') {
    // Whole into memory here (a directory of small files); `papercord ingest` streams a snapshot file in batches instead.
    await validateSnapshot(file, options);
    const papers: Paper[] = [];
    for await (const batch of snapshotPaperBatches(file, options)) papers.push(...batch);
    return { papers, skipped: [] };
  }
  // Held whole in memory and parsed at once: the size is checked before a byte is read.
  const limits = options.limits ?? DEFAULT_IMPORT_LIMITS;
  const { size } = await stat(file);
  if (size > limits.maxFileBytes) {
    throw new UserError(
      `${file}: the file takes ${formatSize(size)}, over the ${formatSize(limits.maxFileBytes)} a paper file may take (IMPORT_MAX_FILE_MB); ` +
        'nothing from this file was ingested (split it, or save it as JSONL, which is streamed)',
    );
  }
  // Non-fatal decoding turns invalid UTF-8 into U+FFFD, which the parsers report as binary content; a file of valid
  // UTF-8 may hold U+FFFD as a character.
  const bytes = await readFile(file);
  const check = { validUtf8: isUtf8(bytes) };
  const text = new TextDecoder('utf-8').decode(bytes);
  if (format === 'bibtex') return readBibtex(text.replace(/^\uFEFF/, ''), file, options);
  if (format === 'json' && isCslJson(text.replace(/^\uFEFF/, ''), check))
    return readCslJson(text.replace(/^\uFEFF/, ''), file, options);
  return { papers: parseTextPaperFile(text, file, source, format, check), skipped: [] };
}

/** CSL-JSON and papercord's own JSON are both arrays of objects; CSL's names are objects, papercord's strings. */
function isCslJson(text: string, check: BinaryCheck): boolean {
  if (!text.trimStart().startsWith('[') || findBinaryLine(text, check) !== undefined) return false;
  try {
    return looksLikeCslJson(JSON.parse(text));
  } catch {
    return false;
  }
}

function parseTextPaperFile(
  text: string,
  file: string,
  source: string,
  format: PaperFileFormat,
  check: BinaryCheck,
): Paper[] {
  if (format === 'json' || format === 'jsonl') {
    const extension = format === 'json' ? '.json' : '.jsonl';
    // Checked before parsing: JSON.parse would quote the raw bytes back, and an empty JSONL file would add nothing silently.
    const binaryAt = findBinaryLine(text, check);
    if (binaryAt !== undefined)
      throw new UserError(`${file}:${binaryAt}: binary content, not JSON; nothing from this file was ingested`);
    if (text.trim() === '') throw new UserError(`${file}: the file is empty; nothing from this file was ingested`);
    // Editors on Windows save JSON with a byte-order mark, which JSON.parse refuses.
    const json = text.replace(/^\uFEFF/, '');
    return extension === '.json' ? parsePaperJson(json, file, source) : parsePaperJsonLines(json, file, source);
  }
  return parseSeedPage(text, file, check).map((paper) => ({ ...paper, source }));
}

const paperInputSchema = z.object({
  id: z.string().min(1).optional(),
  title: z.string().trim().min(1, 'expected a non-empty title'),
  abstract: z.string().trim().min(1, 'expected a non-empty abstract'),
  source: z.string().min(1).optional(),
  // Discord refuses an embed whose link is not http(s) (javascript:, file:): the paper could never be shown.
  url: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'expected an http:// or https:// link')
    .optional(),
  publishedAt: z.string().datetime({ offset: true }).optional(),
  authors: z.array(z.string()).optional(),
  arxivId: z.string().min(1).optional(),
  upvotes: z.number().int().nonnegative().optional(),
  aiSummary: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  githubRepo: z.string().optional(),
  numComments: z.number().int().nonnegative().optional(),
  thumbnail: z.string().optional(),
  primaryCategory: z.string().optional(),
});

function toPaper(value: unknown, where: string, source: string): Paper {
  const parsed = paperInputSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `${where}: ${issue.path.join('.') || 'paper'}: ${issue.message}; nothing from this file was ingested`,
    );
  }
  const input = parsed.data;
  return { ...input, id: input.id ?? paperId(input), source: input.source ?? source };
}

function parsePaperJson(text: string, file: string, source: string): Paper[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: not valid JSON (${(error as Error).message}); nothing from this file was ingested`);
  }
  if (!Array.isArray(value))
    throw new UserError(`${file}: expected a JSON array of papers; nothing from this file was ingested`);
  return value.map((item, index) => toPaper(item, `${file}: paper ${index + 1}`, source));
}

function parsePaperJsonLines(text: string, file: string, source: string): Paper[] {
  const papers: Paper[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UserError(`${file}:${index + 1}: not a JSON object; nothing from this file was ingested`);
    }
    papers.push(toPaper(value, `${file}:${index + 1}`, source));
  });
  return papers;
}
