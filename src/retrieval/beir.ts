import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import type { Paper } from '../papers/paper.js';
import type { Judgments } from './metrics.js';

/** Readers for the BEIR benchmark layout: corpus.jsonl[.gz], queries.jsonl, qrels.tsv. */

export interface BeirQuery {
  id: string;
  text: string;
}

async function readLines(path: string): Promise<string[]> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
    });
  }
  const text = path.endsWith('.gz') ? gunzipSync(buffer).toString('utf8') : buffer.toString('utf8');
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

function parseJsonLine(path: string, line: string, lineNumber: number): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below with the position, which is what the user needs to fix the file.
  }
  throw new UserError(`${path}:${lineNumber}: expected one JSON object a line`);
}

/**
 * Corpus documents as papers. The BEIR `_id` becomes the paper id unchanged, so runs and qrels use the corpus's
 * own ids.
 */
export async function readBeirCorpus(path: string): Promise<Paper[]> {
  const lines = await readLines(path);
  return lines.map((line, index) => {
    const record = parseJsonLine(path, line, index + 1);
    const id = record._id ?? record.id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new UserError(`${path}:${index + 1}: missing "_id"`);
    return {
      id: String(id),
      title: typeof record.title === 'string' ? record.title : '',
      abstract: typeof record.text === 'string' ? record.text : '',
      source: path,
    };
  });
}

export async function readBeirQueries(path: string): Promise<BeirQuery[]> {
  const lines = await readLines(path);
  return lines.map((line, index) => {
    const record = parseJsonLine(path, line, index + 1);
    const id = record._id ?? record.id;
    const text = record.text ?? record.query;
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof text !== 'string') {
      throw new UserError(`${path}:${index + 1}: expected {"_id", "text"}`);
    }
    return { id: String(id), text };
  });
}

/** query id → (document id → relevance). A header line (`query-id corpus-id score`) is skipped. */
export async function readQrels(path: string): Promise<Map<string, Judgments>> {
  const lines = await readLines(path);
  const qrels = new Map<string, Map<string, number>>();
  lines.forEach((line, index) => {
    const fields = line.trim().split(/\s+/);
    // TREC qrels have four columns (qid, iteration, docid, rel), BEIR's three.
    const [queryId, documentId, rawScore] = fields.length >= 4 ? [fields[0], fields[2], fields[3]] : fields;
    const score = Number(rawScore);
    if (index === 0 && !Number.isFinite(score)) return;
    if (!queryId || !documentId || !Number.isFinite(score)) {
      throw new UserError(`${path}:${index + 1}: expected "query-id<TAB>corpus-id<TAB>score"`);
    }
    const judgments = qrels.get(queryId) ?? new Map<string, number>();
    judgments.set(documentId, score);
    qrels.set(queryId, judgments);
  });
  return qrels;
}
