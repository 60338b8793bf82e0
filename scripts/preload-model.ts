/**
 * Downloads the embedding model (`EMBEDDING_MODEL`, from `MODEL_REMOTE_HOST`) into `MODEL_CACHE_DIR` and checks it
 * embeds, so a container built with `--build-arg PRELOAD_MODEL=true` starts without network access.
 *
 *   node dist/scripts/preload-model.js        (in the image)
 *   npx tsx scripts/preload-model.ts          (from a checkout)
 *
 * Exits 1 with one line saying why when the model cannot be loaded: a build that asked for the model must not
 * silently produce an image that falls back to the offline embedder.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, readEnvironment, type Config } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { describeError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/logger.js';

export interface PreloadedModel {
  /** e.g. `transformers:Xenova/all-MiniLM-L6-v2`. */
  embedderId: string;
  dimension: number;
}

/** Loads the model with `EMBEDDINGS=transformers` (no fallback) and embeds one sentence to prove it works. */
export async function preloadModel(config: Config, logger: Logger, signal?: AbortSignal): Promise<PreloadedModel> {
  const strictConfig = Object.freeze({ ...config, EMBEDDINGS: 'transformers' as const });
  const embedder = await createEmbedder(strictConfig, logger, { signal });
  try {
    const vector = await embedder.embeddings.embedQuery('attention is all you need');
    if (vector.length !== embedder.dimension) {
      throw new Error(`model returned ${vector.length} dimensions, expected ${embedder.dimension}`);
    }
    return { embedderId: embedder.id, dimension: embedder.dimension };
  } finally {
    await embedder.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const config = loadConfig(readEnvironment());
  const logger = createLogger(config);
  try {
    const preloaded = await preloadModel(config, logger);
    process.stdout.write(
      `preloaded ${preloaded.embedderId} (${preloaded.dimension} dimensions) into ${config.MODEL_CACHE_DIR}\n`,
    );
  } catch (error) {
    process.stderr.write(`could not preload ${config.EMBEDDING_MODEL}: ${describeError(error)}\n`);
    process.exit(1);
  }
}
