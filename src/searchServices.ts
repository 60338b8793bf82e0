import type { Config } from './config.js';
import { createEmbedder, type CreateEmbedderOptions } from './embeddings/registry.js';
import type { PaperEmbedder } from './embeddings/types.js';
import type { Library } from './library/library.js';
import { openLibrary, type LocalLibraryOptions } from './library/vectorStores.js';
import type { Logger } from './logger.js';
import { checkStoragePaths } from './ops/storagePaths.js';
import { HybridRetriever } from './retrieval/hybrid.js';
import { hybridOptionsFromSettings } from './retrieval/hybridOptions.js';
import { createReranker } from './retrieval/rerank.js';
import type { PaperRetriever } from './retrieval/types.js';

/**
 * What searching the library takes: the embedder, the library and the retriever, built from the config. It is the
 * first part of `Services`, and all `papercord search` builds: the answerer, full text, trending and intake (and the
 * modules they load, LangChain's chat clients among them) are left out, so a search starts quickly.
 */
export interface SearchServices {
  readonly embedder: PaperEmbedder;
  /** The local library under DATA_DIR, or the one in PostgreSQL with VECTOR_STORE=pgvector. */
  readonly library: Library;
  /** Finds papers for a query: what answers, /search and /similar use. */
  readonly retriever: PaperRetriever;
  /** Releases the library, the reranker and the embedder, in that order. Safe to call twice. */
  close(): Promise<void>;
}

export interface CreateSearchServicesOptions {
  /** Abandons start-up (a model load in progress). */
  signal?: AbortSignal;
  embedder?: CreateEmbedderOptions;
  /** Options of the local library (VECTOR_STORE=hnsw). */
  library?: LocalLibraryOptions;
}

export async function createSearchServices(
  config: Config,
  logger: Logger,
  options: CreateSearchServicesOptions = {},
): Promise<SearchServices> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    while (closers.length > 0) await closers.pop()!();
  };
  try {
    // Before anything creates a folder: a DATA_DIR under /proc made mkdir spin forever.
    await checkStoragePaths(config);
    const embedder = await createEmbedder(config, logger, { signal: options.signal, ...options.embedder });
    closers.push(() => embedder.close());
    const library = await openLibrary(config, embedder, logger, options.library);
    closers.push(() => library.close());
    const reranker = await createReranker(config, logger, { signal: options.signal });
    if (reranker) closers.push(() => reranker.close());
    const retriever: PaperRetriever = new HybridRetriever(library, {
      ...hybridOptionsFromSettings(config, embedder),
      reranker,
      logger,
    });
    return { embedder, library, retriever, close };
  } catch (error) {
    await close();
    throw error;
  }
}
