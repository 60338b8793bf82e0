import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Embeddings } from '@langchain/core/embeddings';
import { pino } from 'pino';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { HashingEmbeddings, type HashingOptions } from '../../src/embeddings/hashing.js';
import type { Logger } from '../../src/logger.js';
import { paperId, type Paper } from '../../src/papers/paper.js';

/** The real hashing embedder, counting the texts it embeds (to tell incremental ingest from re-embedding). */
export class CountingEmbeddings extends Embeddings {
  embeddedDocuments = 0;
  private readonly inner: HashingEmbeddings;

  constructor(options: Partial<HashingOptions> = {}) {
    super({});
    this.inner = new HashingEmbeddings(options);
  }

  get id(): string {
    return this.inner.id;
  }

  get dimension(): number {
    return this.inner.dimension;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    this.embeddedDocuments += documents.length;
    return this.inner.embedDocuments(documents);
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.inner.embedQuery(document);
  }
}

export function countingEmbedder(
  options: Partial<HashingOptions> = {},
): PaperEmbedder & { embeddings: CountingEmbeddings } {
  const embeddings = new CountingEmbeddings(options);
  return {
    embeddings,
    id: embeddings.id,
    kind: 'hashing',
    dimension: embeddings.dimension,
    description: `hashing embedder, ${embeddings.dimension} dimensions (counting)`,
    close: async () => {},
  };
}

/** A logger that keeps warnings and errors so tests can check what a user would read. */
export function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(String((JSON.parse(line) as { msg: string }).msg)) },
  );
  return { logger, warnings };
}

export async function temporaryDirectory(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  return { path: directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

/** A paper the seed library does not hold, on sparse routing (its id from its title, as ingest gives it). */
export function newPaper(title: string, extra: Partial<Paper> = {}): Paper {
  return {
    id: paperId({ title }),
    title,
    abstract: `${title}. We describe a method for sparse routing of tokens through expert layers and evaluate it at scale.`,
    source: 'test',
    ...extra,
  };
}
