import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { loadPapersFromSource } from '../ingest.js';
import { ArxivSource } from './arxiv.js';
import { HuggingFaceSource } from './huggingFace.js';
import { SeedSource } from './seeds.js';
import type { PaperSource, SourceName } from './types.js';

export type { FetchDayOptions, PaperSource, SourceName } from './types.js';
export { SOURCE_NAMES, isIsoDate } from './types.js';
export { SourceError, fetchWithRetry } from './http.js';

type SourceConfig = Pick<Config, 'HF_API_BASE' | 'ARXIV_API_BASE' | 'ARXIV_CATEGORY'>;
type SourceFactory = (config: SourceConfig, logger: Logger) => PaperSource;

/** Every trending source, by the name `--source` and `TRENDING_SOURCE` use. Adding one is adding an entry. */
export const SOURCE_FACTORIES: Readonly<Record<SourceName, SourceFactory>> = {
  hf: (config, logger) => new HuggingFaceSource({ baseUrl: config.HF_API_BASE, logger }),
  arxiv: (config, logger) =>
    new ArxivSource({ baseUrl: config.ARXIV_API_BASE, category: config.ARXIV_CATEGORY, logger }),
  seeds: () => new SeedSource({ load: () => loadPapersFromSource('seeds') }),
};

export function createSource(name: SourceName, config: SourceConfig, logger: Logger): PaperSource {
  return SOURCE_FACTORIES[name](config, logger);
}
