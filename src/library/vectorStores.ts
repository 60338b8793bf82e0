import type { Config } from '../config.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PaperTextLimits } from '../papers/paper.js';
import { isMainThread } from 'node:worker_threads';
import { useHnswlibBuild } from './sqlite/hnswlib.js';
import type { Library, LibraryStats } from './library.js';
import { PaperLibrary, storedStats, type PaperLibraryOptions } from './sqlite/paperLibrary.js';

export type LocalLibraryOptions = Partial<Omit<PaperLibraryOptions, 'dataDir' | 'embedder' | 'logger'>>;

type LibraryFactory = (
  config: Config,
  embedder: PaperEmbedder,
  logger: Logger,
  options: LocalLibraryOptions,
) => Promise<Library>;

/**
 * Where the library lives, by the name `VECTOR_STORE` uses: `hnsw` is the local library under `DATA_DIR` (its own
 * HNSW files), `pgvector` is everything (papers, lexical index, vectors) in PostgreSQL, shared by every process.
 */
export const LIBRARY_STORES: Readonly<Record<Config['VECTOR_STORE'], LibraryFactory>> = {
  hnsw: (config, embedder, logger, options) => {
    const build = useHnswlibBuild(config.HNSW_SIMD);
    // Said once per process: every library worker thread opens the library too.
    if (build.note && isMainThread) logger.warn(build.note);
    else logger.debug(`HNSW graph on hnswlib-node's ${build.name} build`);
    return PaperLibrary.open({
      efSearch: config.HNSW_EF_SEARCH,
      efConstruction: config.HNSW_EF_CONSTRUCTION,
      paperTextLimits: paperTextLimitsFromConfig(config),
      ...options,
      dataDir: config.DATA_DIR,
      embedder,
      logger,
    });
  },
  pgvector: async (config, embedder, logger) => {
    if (!config.DATABASE_URL) {
      throw new UserError(
        'VECTOR_STORE=pgvector needs DATABASE_URL, e.g. postgres://papercord:secret@127.0.0.1:5432/papercord',
      );
    }
    // Loaded here, not at the top: a local library never needs the PostgreSQL client.
    const { PostgresLibrary } = await import('./postgres/postgresLibrary.js');
    return PostgresLibrary.open({
      connectionString: config.DATABASE_URL,
      embedder,
      logger,
      paperTextLimits: paperTextLimitsFromConfig(config),
      efSearch: config.HNSW_EF_SEARCH,
    });
  },
};

function paperTextLimitsFromConfig(config: Config): PaperTextLimits {
  return { maxTitleChars: config.PAPER_MAX_TITLE_CHARS, maxAbstractChars: config.PAPER_MAX_ABSTRACT_CHARS };
}

/** The library `VECTOR_STORE` asks for. */
export function openLibrary(
  config: Config,
  embedder: PaperEmbedder,
  logger: Logger,
  options: LocalLibraryOptions = {},
): Promise<Library> {
  return LIBRARY_STORES[config.VECTOR_STORE](config, embedder, logger, options);
}

/**
 * What the library holds, read from its database without an embedder or the HNSW graph (`storedStats`).
 * Undefined when the library must be opened to say: in PostgreSQL, or a local library that is new or empty.
 */
export function storedLibraryStats(config: Config): Promise<LibraryStats | undefined> {
  return config.VECTOR_STORE === 'hnsw' ? storedStats(config.DATA_DIR) : Promise.resolve(undefined);
}
