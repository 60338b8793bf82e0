import type { Paper } from '../paper.js';
import { arxivDoi, citationKeys, dateParts, splitName } from './citationKeys.js';

/**
 * RIS, what EndNote, Zotero, Mendeley and RefWorks import: `TAG  - value` lines ending CRLF, a record from `TY` to
 * `ER`. arXiv papers are `UNPB` (unpublished work), the rest `JOUR`.
 */
export function writeRis(papers: readonly Paper[]): string {
  const keys = citationKeys(papers);
  return papers.map((paper) => record(paper, keys.get(paper.id)!)).join('\r\n');
}

function record(paper: Paper, key: string): string {
  const lines: Array<[string, string]> = [
    ['TY', paper.arxivId ? 'UNPB' : 'JOUR'],
    ['ID', key],
    ['TI', paper.title],
  ];
  for (const name of paper.authors ?? []) {
    const { family, given } = splitName(name);
    lines.push(['AU', given ? `${family}, ${given}` : family]);
  }
  const parts = dateParts(paper);
  if (parts) {
    lines.push(['PY', String(parts[0])]);
    const [year, month = '', day = ''] = parts.map((part) => String(part).padStart(2, '0'));
    lines.push(['DA', `${year}/${month}/${day}/`]);
  }
  if (paper.arxivId) {
    lines.push(['PB', 'arXiv'], ['DO', arxivDoi(paper.arxivId)], ['M1', `arXiv:${paper.arxivId}`]);
  }
  const url = paper.url ?? (paper.arxivId ? `https://arxiv.org/abs/${paper.arxivId}` : undefined);
  if (url) lines.push(['UR', url]);
  for (const keyword of paper.keywords ?? []) lines.push(['KW', keyword]);
  lines.push(['AB', paper.abstract]);
  lines.push(['ER', '']);
  // RIS values are one line each.
  return `${lines.map(([tag, value]) => `${tag}  - ${value.replace(/\s+/g, ' ').trim()}`.trimEnd()).join('\r\n')}\r\n`;
}
