import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { resolvePaper } from '../../src/library/lookup.js';
import { PaperLibrary } from '../../src/library/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import type { PaperRetriever, RetrievalResult } from '../../src/retrieval/types.js';

/** The seed corpus in a real library (hashing embedder, HNSW + lexical index) in a temp dir. */
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
    retriever: lexicalRetriever(library),
    resolvePaper: (nameOrId) => resolvePaper(library, nameOrId),
    paper: (titleStart) => library.all().find((paper) => paper.title.startsWith(titleStart))!,
    close: async () => {
      await library.close();
      await embedder.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The library's own lexical search as a retriever, abstaining when nothing matches. */
function lexicalRetriever(library: PaperLibrary): PaperRetriever {
  return {
    async retrieve(query, options = {}): Promise<RetrievalResult> {
      const hits = library.lexicalSearch(query, options.k ?? 5);
      return { hits, abstained: hits.length === 0 };
    },
  };
}
