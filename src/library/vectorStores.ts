import type { Config } from '../config.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PgVectorIndex, type PaperVectorIndex } from './pgvectorStore.js';

type SharedVectorFactory = (config: Config, embedder: PaperEmbedder, logger: Logger) => Promise<PaperVectorIndex | undefined>;

/**
 * Where the library keeps vectors, by the name `VECTOR_STORE` uses. `hnsw` is the library's own HNSW files
 * (nothing to open here); the others are shared stores passed to `PaperLibrary` as `sharedVectors`.
 */
export const VECTOR_STORE_FACTORIES: Readonly<Record<Config['VECTOR_STORE'], SharedVectorFactory>> = {
  hnsw: async () => undefined,
  pgvector: async (config, embedder, logger) => {
    if (!config.DATABASE_URL) {
      throw new UserError('VECTOR_STORE=pgvector needs DATABASE_URL, e.g. postgres://papercord:secret@127.0.0.1:5432/papercord');
    }
    return PgVectorIndex.open({ connectionString: config.DATABASE_URL, embedder, logger });
  },
};

/** The shared vector store `VECTOR_STORE` asks for, or undefined for the library's own HNSW index. */
export function openSharedVectors(config: Config, embedder: PaperEmbedder, logger: Logger): Promise<PaperVectorIndex | undefined> {
  return VECTOR_STORE_FACTORIES[config.VECTOR_STORE](config, embedder, logger);
}
