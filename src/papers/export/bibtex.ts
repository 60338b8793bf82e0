import { Transform } from 'unicode2latex';
import type { Paper } from '../paper.js';
import { citationKeys, dateParts, publishedYear } from './citationKeys.js';

// unicode2latex is the Unicode → LaTeX table of Better BibTeX for Zotero, the same project as the parser that reads
// BibTeX back in (@retorquere/bibtex-parser): what one escapes, the other reads back as the same text.
const toLatex = new Transform('bibtex');

/** A field value in LaTeX: `&`, `%`, `$`, `#`, `_`, braces, `~`, `^`, backslashes and non-ASCII letters escaped. */
export function latexEscape(text: string): string {
  return toLatex.tolatex(text.replace(/\s+/g, ' ').trim(), {});
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * BibTeX, one `@misc` entry per paper (as arXiv's own export writes preprints): arXiv papers carry `eprint`,
 * `archivePrefix` and `primaryClass`; the title is double-braced so styles keep its capitals (BERT, GPT).
 */
export function writeBibtex(papers: readonly Paper[]): string {
  const keys = citationKeys(papers);
  return papers.map((paper) => entry(paper, keys.get(paper.id)!)).join('\n');
}

function entry(paper: Paper, key: string): string {
  const fields: Array<[string, string]> = [['title', `{${latexEscape(paper.title)}}`]];
  if (paper.authors?.length) fields.push(['author', paper.authors.map(authorName).join(' and ')]);
  const year = publishedYear(paper);
  const parts = dateParts(paper);
  if (year !== undefined) fields.push(['year', String(year)]);
  if (parts?.[1] !== undefined) fields.push(['month', MONTHS[parts[1] - 1] ?? String(parts[1])]);
  if (parts?.length === 3) fields.push(['date', parts.map((part) => String(part).padStart(2, '0')).join('-')]);
  if (paper.arxivId) {
    fields.push(['eprint', paper.arxivId], ['archivePrefix', 'arXiv']);
    if (paper.primaryCategory) fields.push(['primaryClass', paper.primaryCategory]);
  }
  const url = paper.url ?? (paper.arxivId ? `https://arxiv.org/abs/${paper.arxivId}` : undefined);
  if (url) fields.push(['url', url.replace(/[{}\\]/g, encodeURIComponent)]);
  if (paper.keywords?.length) fields.push(['keywords', latexEscape(paper.keywords.join(', '))]);
  fields.push(['abstract', latexEscape(paper.abstract)]);
  const width = Math.max(...fields.map(([name]) => name.length));
  const body = fields.map(([name, value]) => `  ${name.padEnd(width)} = {${value}}`).join(',\n');
  return `@misc{${key},\n${body}\n}\n`;
}

/** Written as given ("Ada Lovelace"); a name holding " and " or a comma is braced so it stays one person. */
function authorName(name: string): string {
  const escaped = latexEscape(name);
  return /\sand\s|,/i.test(name) ? `{${escaped}}` : escaped;
}
