import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AnswerService } from '../../src/answering/answerService.js';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { resolvePaper } from '../../src/library/lookup.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { HybridRetriever } from '../../src/retrieval/hybrid.js';
import type { PaperRetriever } from '../../src/retrieval/types.js';

/** The seed corpus in a real library (hashing embedder, HNSW + lexical index) in a temp dir, with the real retriever. */
export interface SeedLibrary {
  library: PaperLibrary;
  retriever: PaperRetriever;
  resolvePaper: (nameOrId: string) => Paper;
  paper: (titleStart: string) => Paper;
  close(): Promise<void>;
}

export async function openSeedLibrary(): Promise<SeedLibrary> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-answering-'));
  const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing' });
  const logger = silentLogger();
  const embedder = await createEmbedder(config, logger);
  const library = await PaperLibrary.open({ dataDir, embedder, logger });
  await library.add(await loadPapersFromSource('seeds'));
  return {
    library,
    retriever: new HybridRetriever(library),
    resolvePaper: (nameOrId) => resolvePaper(library, nameOrId),
    paper: (titleStart) => library.all().find((paper) => paper.title.startsWith(titleStart))!,
    close: async () => {
      await library.close();
      await embedder.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The seed library with an answer service over it and no LLM configured, so that every answer is extractive. */
export async function openExtractiveAnswers(): Promise<{ seeds: SeedLibrary; answers: AnswerService }> {
  const seeds = await openSeedLibrary();
  return {
    seeds,
    answers: new AnswerService({
      retriever: seeds.retriever,
      resolvePaper: seeds.resolvePaper,
      config: loadConfig({}),
    }),
  };
}
