import type { Paper } from '../paper.js';
import { arxivDoi, citationKeys, dateParts, splitName } from './citationKeys.js';

/** One CSL-JSON item, the fields papercord writes. */
export interface CslItem {
  id: string;
  type: 'article' | 'article-journal';
  title: string;
  author?: Array<{ family: string; given?: string }>;
  issued?: { 'date-parts': number[][] };
  abstract: string;
  URL?: string;
  DOI?: string;
  number?: string;
  publisher?: string;
  note?: string;
  keyword?: string;
}

/**
 * CSL-JSON, what Zotero, Mendeley and pandoc read: arXiv papers are `article` (CSL's preprint type) with arXiv as
 * publisher, the id as `number` and arXiv's DOI, as Zotero exports them. Ids are the BibTeX keys.
 */
export function writeCslJson(papers: readonly Paper[]): string {
  const keys = citationKeys(papers);
  return `${JSON.stringify(
    papers.map((paper) => cslItem(paper, keys.get(paper.id)!)),
    null,
    2,
  )}\n`;
}

export function cslItem(paper: Paper, key: string): CslItem {
  const item: CslItem = {
    id: key,
    type: paper.arxivId ? 'article' : 'article-journal',
    title: paper.title,
    abstract: paper.abstract,
  };
  if (paper.authors?.length) item.author = paper.authors.map(splitName);
  const parts = dateParts(paper);
  if (parts) item.issued = { 'date-parts': [parts] };
  const url = paper.url ?? (paper.arxivId ? `https://arxiv.org/abs/${paper.arxivId}` : undefined);
  if (url) item.URL = url;
  if (paper.arxivId) {
    item.DOI = arxivDoi(paper.arxivId);
    item.number = paper.arxivId;
    item.publisher = 'arXiv';
    if (paper.primaryCategory) item.note = `arXiv:${paper.arxivId} [${paper.primaryCategory}]`;
  }
  if (paper.keywords?.length) item.keyword = paper.keywords.join(', ');
  return item;
}
