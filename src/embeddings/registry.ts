import type { Config } from '../config.js';
import { definedOnly } from '../util/options.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { HashingEmbeddings, type HashingOptions } from './hashing.js';
import { modelLoadSettings } from './model-loading.js';
import type { EmbeddingModelProfile } from './profiles.js';
import { TransformersEmbeddings } from './transformers.js';
import { describeEmbedder, type PaperEmbedder } from './types.js';

export interface CreateEmbedderOptions {
  /** Abandons a model load in progress (the load is also bounded by MODEL_LOAD_TIMEOUT_MS). */
  signal?: AbortSignal;
  /** A folder holding `<model id>/` directories, searched before the cache and the remote host (tests use it). */
  localModelPath?: string;
  /** Texts per transformers.js call; bigger is faster until memory runs out. */
  batchSize?: number;
  /** Overrides of the model's profile (tests; models without an entry in profiles.ts). */
  profile?: Partial<EmbeddingModelProfile>;
  /** Threads onnxruntime uses per forward pass; default: its own choice (one per core). */
  threads?: number;
  /** Batches by text length (default) or in input order (benchmarks of the old behaviour). */
  batchOrder?: 'length' | 'input';
  /** Tuning of the offline embedder (retrieval experiments); defaults are `DEFAULT_HASHING_OPTIONS`. */
  hashing?: Partial<HashingOptions>;
}

type EmbedderFactory = (config: Config, logger: Logger, options: CreateEmbedderOptions) => Promise<PaperEmbedder>;

/** Every embedder papercord can build, by the name `EMBEDDINGS` uses. Adding one is adding an entry. */
export const EMBEDDER_FACTORIES: Readonly<Record<PaperEmbedder['kind'], EmbedderFactory>> = {
  hashing: async (_config, _logger, options) => hashingEmbedder(options.hashing),
  transformers: transformersEmbedder,
};

/**
 * Builds the embedder `EMBEDDINGS` asks for:
 * - `hashing`: the offline embedder, always available;
 * - `transformers`: the transformers.js model `EMBEDDING_MODEL`, or a one-line UserError saying what to do;
 * - `auto`: the model when it loads, else one warning and the offline embedder.
 */
export async function createEmbedder(
  config: Config,
  logger: Logger,
  options: CreateEmbedderOptions = {},
): Promise<PaperEmbedder> {
  if (config.EMBEDDINGS === 'hashing') return EMBEDDER_FACTORIES.hashing(config, logger, options);
  try {
    return await EMBEDDER_FACTORIES.transformers(config, logger, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = oneLine(describeError(error));
    if (config.EMBEDDINGS === 'transformers') {
      const remedy = config.ALLOW_REMOTE_MODELS
        ? `check that ${config.MODEL_REMOTE_HOST} is reachable (MODEL_REMOTE_HOST), put the model in MODEL_CACHE_DIR, or set EMBEDDINGS=hashing`
        : 'put the model in MODEL_CACHE_DIR, set ALLOW_REMOTE_MODELS=true, or set EMBEDDINGS=hashing';
      throw new UserError(`embedding model ${config.EMBEDDING_MODEL} could not be loaded (${reason}); ${remedy}.`, {
        cause: error,
      });
    }
    logger.warn(
      `embedding model ${config.EMBEDDING_MODEL} could not be loaded (${reason}); using the offline hashing embedder. ` +
        'Set MODEL_CACHE_DIR to a folder holding the model, or allow downloads, for better results.',
    );
    return EMBEDDER_FACTORIES.hashing(config, logger, options);
  }
}

async function transformersEmbedder(
  config: Config,
  logger: Logger,
  options: CreateEmbedderOptions,
): Promise<PaperEmbedder> {
  const startedAt = performance.now();
  const embeddings = await TransformersEmbeddings.load(modelLoadSettings(config, options), {
    model: config.EMBEDDING_MODEL,
    ...definedOnly({
      batchSize: options.batchSize,
      dtype: config.EMBEDDING_DTYPE === 'auto' ? undefined : config.EMBEDDING_DTYPE,
      profile: options.profile,
      threads: options.threads,
      batchOrder: options.batchOrder,
    }),
  });
  logger.debug(
    {
      model: embeddings.model,
      dtype: embeddings.dtype,
      dimension: embeddings.dimension,
      pooling: embeddings.profile.pooling,
      ms: Math.round(performance.now() - startedAt),
    },
    'embedding model loaded',
  );
  return {
    embeddings,
    id: embeddings.id,
    kind: 'transformers',
    dimension: embeddings.dimension,
    minDenseSimilarity: embeddings.profile.minDenseSimilarity,
    description: describeEmbedder(embeddings.id, embeddings.dimension),
    close: () => embeddings.close(),
  };
}

function hashingEmbedder(options: Partial<HashingOptions> = {}): PaperEmbedder {
  const embeddings = new HashingEmbeddings(options);
  return {
    embeddings,
    id: embeddings.id,
    kind: 'hashing',
    dimension: embeddings.dimension,
    description: describeEmbedder(embeddings.id, embeddings.dimension),
    close: async () => {},
  };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
