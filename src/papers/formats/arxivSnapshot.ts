import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { paperId, type Paper } from '../paper.js';

/**
 * The arXiv metadata snapshot (`arxiv-metadata-oai-snapshot.json`, one JSON object per line, several gigabytes).
 * Read as a stream, twice: a first pass validates every line (a malformed line names file and line, and nothing is
 * added), a second yields the matching papers in batches, so memory stays flat whatever the file's size.
 */
const snapshotRecordSchema = z.object({
  id: z.string().min(1, 'expected an arXiv id'),
  title: z.string().trim().min(1, 'expected a non-empty title'),
  abstract: z.string().trim().min(1, 'expected a non-empty abstract'),
  authors: z.string().optional(),
  categories: z.string().optional(),
  update_date: z.string().optional(),
  versions: z
    .array(z.object({ version: z.string().optional(), created: z.string().optional() }).passthrough())
    .optional(),
  authors_parsed: z.array(z.array(z.string())).optional(),
});

type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;

export interface SnapshotOptions {
  /** Keep records with a category starting with this (`cs.` keeps all of computer science, `cs.CL` one category). */
  category?: string;
  /** Papers per yielded batch. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Bytes read so far, for progress. */
  onBytes?: (bytesRead: number, totalBytes: number) => void;
}

export const DEFAULT_SNAPSHOT_OPTIONS = { batchSize: 256 } as const;

export interface SnapshotSummary {
  /** Records in the file. */
  records: number;
  /** Records of the asked category. */
  matching: number;
  totalBytes: number;
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

async function* lines(file: string, options: SnapshotOptions): AsyncGenerator<{ line: string; number: number }> {
  const totalBytes = (await stat(file)).size;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const line of reader) {
      number += 1;
      options.signal?.throwIfAborted();
      if (number % 2000 === 0) options.onBytes?.(stream.bytesRead, totalBytes);
      yield { line, number };
    }
    options.onBytes?.(totalBytes, totalBytes);
  } finally {
    reader.close();
    stream.destroy();
  }
}

function parseRecord(line: string, where: string): SnapshotRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserError(`${where}: not a JSON object; nothing from this file was ingested`);
  }
  const parsed = snapshotRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `${where}: ${issue.path.join('.') || 'record'}: ${issue.message}; nothing from this file was ingested`,
    );
  }
  return parsed.data;
}

function matchesCategory(record: SnapshotRecord, category: string | undefined): boolean {
  if (!category) return true;
  return (record.categories ?? '').split(/\s+/).some((name) => name.startsWith(category));
}

/** First pass: every line valid, and how many match. Throws a UserError naming file and line otherwise. */
export async function validateSnapshot(file: string, options: SnapshotOptions = {}): Promise<SnapshotSummary> {
  let records = 0;
  let matching = 0;
  for await (const { line, number } of lines(file, options)) {
    if (line.trim() === '') continue;
    const record = parseRecord(line, `${file}:${number}`);
    records += 1;
    if (matchesCategory(record, options.category)) matching += 1;
  }
  if (records === 0) throw new UserError(`${file}: the file is empty; nothing from this file was ingested`);
  return { records, matching, totalBytes: (await stat(file)).size };
}

/** Second pass: the matching papers, `batchSize` at a time. */
export async function* snapshotPaperBatches(file: string, options: SnapshotOptions = {}): AsyncGenerator<Paper[]> {
  const batchSize = options.batchSize ?? DEFAULT_SNAPSHOT_OPTIONS.batchSize;
  let batch: Paper[] = [];
  for await (const { line, number } of lines(file, options)) {
    if (line.trim() === '') continue;
    const record = parseRecord(line, `${file}:${number}`);
    if (!matchesCategory(record, options.category)) continue;
    batch.push(snapshotPaper(record));
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export function snapshotPaper(record: SnapshotRecord): Paper {
  const arxivId = record.id.trim().replace(/v\d+$/, '');
  const title = collapse(record.title);
  const paper: Paper = {
    id: paperId({ title, arxivId }),
    title,
    abstract: collapse(record.abstract),
    source: 'arxiv-snapshot',
    url: `https://arxiv.org/abs/${arxivId}`,
    arxivId,
  };
  const authors = record.authors_parsed?.length
    ? record.authors_parsed
        .map(([last = '', first = '', suffix = '']) => collapse(`${first} ${last} ${suffix}`))
        .filter(Boolean)
    : (record.authors ?? '')
        .split(/\s*,\s*|\s+and\s+/)
        .map(collapse)
        .filter(Boolean);
  if (authors.length) paper.authors = authors;
  const categories = (record.categories ?? '').split(/\s+/).filter(Boolean);
  if (categories[0]) paper.primaryCategory = categories[0];
  const created = record.versions?.[0]?.created;
  const published = created
    ? Date.parse(created)
    : record.update_date
      ? Date.parse(`${record.update_date}T00:00:00Z`)
      : Number.NaN;
  if (!Number.isNaN(published)) paper.publishedAt = new Date(published).toISOString();
  return paper;
}

/** The snapshot by content: a first line that is an object with arXiv's `id`, `abstract` and `categories`. */
export function looksLikeArxivSnapshot(firstLine: string): boolean {
  try {
    const value = JSON.parse(firstLine) as Record<string, unknown>;
    return (
      value !== null &&
      typeof value === 'object' &&
      typeof value.id === 'string' &&
      typeof value.categories === 'string' &&
      'abstract' in value
    );
  } catch {
    return false;
  }
}
