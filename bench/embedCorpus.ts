import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import type { Paper } from '../src/papers/paper.js';

/** SciFact's 5,183 abstracts (real scientific abstracts, real lengths), as papers, in corpus order. */
export const SCIFACT_CORPUS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../shared/eval/scifact/corpus.jsonl.gz',
);

export async function readCorpusPapers(file = SCIFACT_CORPUS): Promise<Paper[]> {
  const papers: Paper[] = [];
  for await (const line of createInterface({
    input: createReadStream(file).pipe(createGunzip()),
    crlfDelay: Infinity,
  })) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { _id: string; title?: string; text?: string };
    if (!record.text) continue;
    papers.push({ id: `scifact:${record._id}`, title: record.title ?? '', abstract: record.text, source: 'scifact' });
  }
  return papers;
}

/** `count` papers spread evenly over the corpus (so lengths vary as the corpus does), same ones every run. */
export function spreadSample<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_unused, index) => items[Math.floor((index * items.length) / count)]!);
}
