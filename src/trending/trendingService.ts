import { definedOnly } from '../util/options.js';
import type { PaperEmbedder } from '../embeddings/types.js';
import { describeError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { Config } from '../config.js';
import { createSource, isIsoDate, SOURCE_NAMES, type PaperSource, type SourceName } from '../papers/sources/index.js';
import { buildDigest, keySentenceSummary, type Digest, type Summarize } from './digest.js';

export interface TrendingServiceOptions {
  /** Every source by name; `createSource` from the sources registry fills it. */
  sources: Readonly<Partial<Record<SourceName, PaperSource>>>;
  /** `TRENDING_SOURCE`. */
  defaultSource: SourceName;
  embedder: PaperEmbedder;
  logger: Logger;
  /** Fetched papers are added to the library, embedded and indexed like the seeds, so /ask can cite them. */
  library?: { add(papers: readonly Paper[], options?: { signal?: AbortSignal }): Promise<{ added: Paper[] }> };
  /** `AnswerService.summarize` in the app: an LLM TL;DR when configured. Defaults to the key sentence. */
  summarize?: Summarize;
  /** An empty day (a weekend on Hugging Face, too early in the morning) falls back this many days. */
  lookbackDays?: number;
  /** A day fetched this recently is reused, so ten subscriptions at 09:00 fetch it once. */
  cacheMs?: number;
  now?: () => Date;
}

export const DEFAULT_TRENDING_OPTIONS: Readonly<
  Required<Pick<TrendingServiceOptions, 'lookbackDays' | 'cacheMs' | 'summarize' | 'now'>>
> = Object.freeze({
  lookbackDays: 3,
  cacheMs: 15 * 60_000,
  summarize: async (paper: Paper) => keySentenceSummary(paper),
  now: () => new Date(),
});

export interface DigestRequest {
  /** `YYYY-MM-DD`; today (UTC) when omitted. */
  date?: string;
  source?: SourceName;
  count?: number;
  topics?: readonly string[];
  /** Words or phrases that keep a paper out of the digest. */
  exclude?: readonly string[];
  signal?: AbortSignal;
}

const DAY_MS = 86_400_000;
const shiftDate = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** The trending digest of a day: papers from a source, fed to the library, ranked, filtered, summarized, themed. */
export class TrendingService {
  private readonly settings: typeof DEFAULT_TRENDING_OPTIONS & TrendingServiceOptions;
  private readonly cache = new Map<string, { at: number; papers: Promise<Paper[]> }>();

  constructor(options: TrendingServiceOptions) {
    this.settings = { ...DEFAULT_TRENDING_OPTIONS, ...definedOnly(options) };
  }

  get defaultSource(): SourceName {
    return this.settings.defaultSource;
  }

  today(): string {
    return this.settings.now().toISOString().slice(0, 10);
  }

  async digest(request: DigestRequest = {}): Promise<Digest> {
    const date = request.date ?? this.today();
    if (!isIsoDate(date)) throw new UserError(`"${date}" is not a date; use YYYY-MM-DD such as 2025-07-29`);
    if (date > shiftDate(this.today(), 1))
      throw new UserError(`${date} is in the future; trending papers exist up to today`);
    const { papers, day } = await this.papersOf(request.source ?? this.settings.defaultSource, date, request.signal);
    return buildDigest({
      date: day,
      papers,
      count: request.count,
      topics: request.topics,
      exclude: request.exclude,
      embedder: this.settings.embedder,
      summarize: this.settings.summarize,
      signal: request.signal,
      logger: this.settings.logger,
    });
  }

  /** The papers of `date`, or of the latest non-empty day before it within `lookbackDays`. */
  private async papersOf(
    name: SourceName,
    date: string,
    signal?: AbortSignal,
  ): Promise<{ papers: Paper[]; day: string }> {
    const source = this.settings.sources[name];
    if (!source) throw new UserError(`trending source "${name}" is not available`);
    for (let back = 0; back <= this.settings.lookbackDays; back++) {
      const day = shiftDate(date, -back);
      const papers = await this.fetchDay(source, day, signal);
      if (papers.length) {
        if (back > 0)
          this.settings.logger.info(
            { source: name, asked: date, day },
            'no papers for the day asked; using an earlier day',
          );
        return { papers, day };
      }
    }
    throw new UserError(`no trending papers from ${name} for ${date} or the ${this.settings.lookbackDays} days before`);
  }

  private fetchDay(source: PaperSource, day: string, signal?: AbortSignal): Promise<Paper[]> {
    const key = `${source.name}:${day}`;
    const cached = this.cache.get(key);
    const now = this.settings.now().getTime();
    if (cached && now - cached.at < this.settings.cacheMs) return cached.papers;
    for (const [staleKey, entry] of this.cache)
      if (now - entry.at >= this.settings.cacheMs) this.cache.delete(staleKey);
    const papers = source.fetchDay(day, { signal }).then(async (fetched) => {
      await this.feedLibrary(fetched, signal);
      return fetched;
    });
    this.cache.set(key, { at: now, papers });
    // A failed fetch is not cached: the next attempt asks again.
    papers.catch(() => this.cache.delete(key));
    return papers;
  }

  /** Feeding the library is a bonus: a failure there is logged and does not lose the day's post. */
  private async feedLibrary(papers: readonly Paper[], signal?: AbortSignal): Promise<void> {
    if (!this.settings.library || papers.length === 0) return;
    try {
      const { added } = await this.settings.library.add(papers, { signal });
      if (added.length) this.settings.logger.info({ added: added.length }, 'trending papers added to the library');
    } catch (error) {
      if (signal?.aborted) throw error;
      this.settings.logger.warn({ error: describeError(error) }, 'trending papers could not be added to the library');
    }
  }
}

/** The trending service of the app: every registered source, feeding `library`, TL;DRs from `summarize`. */
export function createTrendingService(
  config: Pick<Config, 'HF_API_BASE' | 'ARXIV_API_BASE' | 'ARXIV_CATEGORY' | 'TRENDING_SOURCE'>,
  logger: Logger,
  parts: Pick<TrendingServiceOptions, 'embedder' | 'library' | 'summarize'>,
): TrendingService {
  const sources = Object.fromEntries(SOURCE_NAMES.map((name) => [name, createSource(name, config, logger)]));
  return new TrendingService({ ...parts, sources, defaultSource: config.TRENDING_SOURCE, logger });
}
