import type { Paper } from '../paper.js';
import type { FetchDayOptions, PaperSource } from './types.js';

export interface SeedSourceOptions {
  /** Reads the seed corpus; `loadPapersFromSource('seeds')` in the app. */
  load: () => Promise<Paper[]>;
}

/**
 * The seed pages shipped with papercord, so trending works offline. Seeds carry no dates or upvotes: every day is
 * the same list, in the order the captured page showed it (which was the site's ranking).
 */
export class SeedSource implements PaperSource {
  readonly name = 'seeds' as const;

  constructor(private readonly options: SeedSourceOptions) {}

  async fetchDay(_date: string, options: FetchDayOptions = {}): Promise<Paper[]> {
    options.signal?.throwIfAborted();
    const papers = await this.options.load();
    return options.limit === undefined ? papers : papers.slice(0, options.limit);
  }
}
