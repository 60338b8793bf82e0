import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { paperId, type Paper } from '../paper.js';
import { fetchWithRetry, SourceError, type FetchWithRetryOptions } from './http.js';
import type { FetchDayOptions, PaperSource } from './types.js';

/**
 * One item of `GET /api/daily_papers?date=YYYY-MM-DD`. Only what papercord reads is declared: unknown fields are
 * stripped, optional ones may be missing or null. Anything else that does not fit fails the whole response.
 */
const hfAuthorSchema = z.object({
  name: z.string(),
  hidden: z.boolean().nullish(),
});

const hfDailyItemSchema = z.object({
  paper: z.object({
    id: z.string().regex(/^\d{4}\.\d{4,5}(v\d+)?$/, 'expected an arXiv id such as 2507.10524'),
    title: z.string().min(1),
    summary: z.string(),
    upvotes: z.number().int().min(0),
    publishedAt: z.string().datetime({ offset: true }),
    authors: z.array(hfAuthorSchema),
    ai_summary: z.string().nullish(),
    ai_keywords: z.array(z.string()).nullish(),
    githubRepo: z.string().nullish(),
  }),
  numComments: z.number().int().min(0).nullish(),
  thumbnail: z.string().nullish(),
});

export const hfDailyPapersSchema = z.array(hfDailyItemSchema);
export type HfDailyItem = z.infer<typeof hfDailyItemSchema>;

export interface HuggingFaceSourceOptions {
  /** `HF_API_BASE`, without a trailing slash. */
  baseUrl: string;
  logger?: Logger;
  http?: Omit<FetchWithRetryOptions, 'signal' | 'logger'>;
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();
/** Optional links are kept only when they are web links; an odd value there is no reason to lose the day. */
const webLink = (value: string | null | undefined) => (value && /^https?:\/\/\S+$/.test(value) ? value : undefined);

export function paperFromHfItem(item: HfDailyItem): Paper {
  const { paper } = item;
  const arxivId = paper.id.replace(/v\d+$/, '');
  const title = collapse(paper.title);
  const result: Paper = {
    id: paperId({ title, arxivId }),
    title,
    abstract: collapse(paper.summary),
    source: 'hf',
    url: `https://huggingface.co/papers/${arxivId}`,
    publishedAt: paper.publishedAt,
    authors: paper.authors.filter((author) => !author.hidden).map((author) => collapse(author.name)),
    arxivId,
    upvotes: paper.upvotes,
  };
  if (paper.ai_summary) result.aiSummary = collapse(paper.ai_summary);
  if (paper.ai_keywords?.length) result.keywords = paper.ai_keywords.map(collapse);
  const githubRepo = webLink(paper.githubRepo);
  if (githubRepo) result.githubRepo = githubRepo;
  if (item.numComments != null) result.numComments = item.numComments;
  const thumbnail = webLink(item.thumbnail);
  if (thumbnail) result.thumbnail = thumbnail;
  return result;
}

/** Parses a daily-papers response body; a body that does not fit throws a SourceError and yields nothing. */
export function parseHfDailyPapers(body: unknown, where: string): Paper[] {
  const parsed = hfDailyPapersSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length ? `[${issue.path.join('.')}]` : 'body';
    throw new SourceError(
      `Hugging Face daily papers from ${where} did not have the expected shape: ${path}: ${issue.message}`,
    );
  }
  return parsed.data.map(paperFromHfItem);
}

/** Hugging Face Daily Papers, the community-upvoted list at huggingface.co/papers. */
export class HuggingFaceSource implements PaperSource {
  readonly name = 'hf' as const;

  constructor(private readonly options: HuggingFaceSourceOptions) {}

  async fetchDay(date: string, options: FetchDayOptions = {}): Promise<Paper[]> {
    const url = `${this.options.baseUrl}/api/daily_papers?date=${encodeURIComponent(date)}`;
    const response = await fetchWithRetry(url, {
      ...this.options.http,
      headers: { accept: 'application/json' },
      signal: options.signal,
      logger: this.options.logger,
    });
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new SourceError(`Hugging Face daily papers from ${url} were not JSON`, { cause: error });
    }
    const papers = parseHfDailyPapers(body, url).sort((a, b) => (b.upvotes ?? 0) - (a.upvotes ?? 0));
    return options.limit === undefined ? papers : papers.slice(0, options.limit);
  }
}
