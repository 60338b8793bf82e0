import type { Paper } from '../paper.js';

export interface FetchDayOptions {
  signal?: AbortSignal;
  /** At most this many papers, best first as the source orders them. */
  limit?: number;
}

/** Where trending papers come from. Every source returns library-ready papers; the library dedupes by id. */
export interface PaperSource {
  /** `hf`, `arxiv` or `seeds`: the value of `--source` and `TRENDING_SOURCE`. */
  readonly name: SourceName;
  /** Papers of one day, `date` as `YYYY-MM-DD`. */
  fetchDay(date: string, options?: FetchDayOptions): Promise<Paper[]>;
}

export const SOURCE_NAMES = ['hf', 'arxiv', 'seeds'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD` (so `2025-02-30` is rejected). */
export function isIsoDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}
