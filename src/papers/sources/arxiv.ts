import { definedOnly } from '../../util/options.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Logger } from '../../logger.js';
import { paperId, type Paper } from '../paper.js';
import { fetchWithRetry, SourceError, type FetchWithRetryOptions } from './http.js';
import type { FetchDayOptions, PaperSource } from './types.js';

export interface ArxivSourceOptions {
  /** `ARXIV_API_BASE`, without a trailing slash. */
  baseUrl: string;
  /** `ARXIV_CATEGORY`, e.g. `cs.CL`. */
  category: string;
  logger?: Logger;
  /** `max_results` when the caller gives no limit. */
  maxResults?: number;
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger'>;
}

export const DEFAULT_ARXIV_OPTIONS = { maxResults: 50 } as const;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Atom allows one or many of these; always arrays, so one entry reads like ten.
  isArray: (name) => ['entry', 'author', 'link', 'category'].includes(name),
  // `<title>1e10 ...` must stay text, never become a number.
  parseTagValue: false,
  trimValues: true,
});

const collapse = (text: unknown) => (typeof text === 'string' ? text.replace(/\s+/g, ' ').trim() : '');

/** `http://arxiv.org/abs/2507.10524v2` → `2507.10524`; old-style `hep-th/9901001v1` → `hep-th/9901001`. */
export function arxivIdFromAtomId(atomId: string): string | undefined {
  const match = /arxiv\.org\/abs\/(.+?)(v\d+)?$/.exec(atomId.trim());
  return match?.[1];
}

interface AtomLink {
  '@_href'?: string;
  '@_rel'?: string;
  '@_type'?: string;
  '@_title'?: string;
}

interface AtomEntry {
  id?: string;
  title?: string;
  summary?: string;
  published?: string;
  author?: { name?: string }[];
  link?: AtomLink[];
  'arxiv:primary_category'?: { '@_term'?: string };
}

/** Parses an arXiv API Atom feed; a body that is not such a feed throws a SourceError. */
export function parseArxivFeed(xml: string, where: string): Paper[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SourceError(`arXiv feed from ${where} is not valid XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const document = parser.parse(xml) as { feed?: { entry?: AtomEntry[] } };
  if (!document.feed) throw new SourceError(`arXiv feed from ${where} has no <feed> element`);
  const papers: Paper[] = [];
  for (const entry of document.feed.entry ?? []) {
    const arxivId = entry.id ? arxivIdFromAtomId(entry.id) : undefined;
    const title = collapse(entry.title);
    // The API reports a bad query as a single entry titled "Error" without an abs id.
    if (!arxivId || !title) continue;
    const links = entry.link ?? [];
    const abs = links.find((link) => link['@_rel'] === 'alternate')?.['@_href'];
    const paper: Paper = {
      id: paperId({ title, arxivId }),
      title,
      abstract: collapse(entry.summary),
      source: 'arxiv',
      url: abs ?? `https://arxiv.org/abs/${arxivId}`,
      authors: (entry.author ?? []).map((author) => collapse(author.name)).filter(Boolean),
      arxivId,
    };
    if (entry.published) paper.publishedAt = collapse(entry.published);
    const primary = entry['arxiv:primary_category']?.['@_term'];
    if (primary) paper.primaryCategory = primary;
    papers.push(paper);
  }
  return papers;
}

/** Days before the asked one that the query reaches back, past a weekend or a holiday without submissions. */
const SUBMITTED_WINDOW_DAYS = 7;

/** `YYYYMMDD0000 TO YYYYMMDD2359` (GMT, as the arXiv API reads it): the week up to the end of `date`. */
export function submittedDateRange(date: string): string {
  const end = Date.parse(`${date}T00:00:00Z`);
  const compact = (time: number) => new Date(time).toISOString().slice(0, 10).replace(/-/g, '');
  return `${compact(end - SUBMITTED_WINDOW_DAYS * 86_400_000)}0000 TO ${compact(end)}2359`;
}

/**
 * The newest submissions of one arXiv category. arXiv has no per-day listing in its API, so "the papers of a day"
 * are the newest `max_results` submitted in the week up to the end of that day (UTC): no upvotes, ranked by recency.
 */
export class ArxivSource implements PaperSource {
  readonly name = 'arxiv' as const;
  private readonly settings: Required<Omit<ArxivSourceOptions, 'logger' | 'http'>> & ArxivSourceOptions;

  constructor(options: ArxivSourceOptions) {
    this.settings = { ...DEFAULT_ARXIV_OPTIONS, ...definedOnly(options) };
  }

  async fetchDay(date: string, options: FetchDayOptions = {}): Promise<Paper[]> {
    // Without a date range the feed is the newest submissions of now, all after a day a week back: nothing for it.
    const query = new URLSearchParams({
      search_query: `cat:${this.settings.category} AND submittedDate:[${submittedDateRange(date)}]`,
      sortBy: 'submittedDate',
      sortOrder: 'descending',
      max_results: String(options.limit ?? this.settings.maxResults),
    });
    const url = `${this.settings.baseUrl}/api/query?${query.toString().replaceAll('%3A', ':')}`;
    const response = await fetchWithRetry(url, {
      ...this.settings.http,
      headers: { accept: 'application/atom+xml' },
      signal: options.signal,
      logger: this.settings.logger,
    });
    const papers = parseArxivFeed(await response.text(), url);
    const endOfDay = Date.parse(`${date}T23:59:59.999Z`);
    return papers.filter((paper) => !paper.publishedAt || Date.parse(paper.publishedAt) <= endOfDay);
  }
}
