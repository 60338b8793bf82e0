import type { Paper } from '../paper.js';

/** Words a citation key skips when it takes the title's first word, as Google Scholar's keys do ("vaswani2017attention"). */
const KEY_STOPWORDS = new Set(['a', 'an', 'the', 'on', 'of', 'in', 'for', 'to', 'and', 'with', 'from', 'is', 'are']);

/** A name as reference managers want it: family name apart from the given names ("Ada Lovelace" → Lovelace, Ada). */
export interface PersonName {
  family: string;
  given?: string;
}

/** Splits "Given Names Family" at the last space; a single word is a family name. */
export function splitName(name: string): PersonName {
  const words = name.trim().split(/\s+/);
  const family = words.pop() ?? '';
  return words.length > 0 ? { family, given: words.join(' ') } : { family };
}

/** Letters and digits only, accents folded, lower case: "Müller-Lüdenscheidt" → "mullerludenscheidt". */
function keyPart(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** The year of a paper's publication date, when it has one. */
export function publishedYear(paper: Pick<Paper, 'publishedAt'>): number | undefined {
  const year = Number(paper.publishedAt?.slice(0, 4));
  return Number.isInteger(year) && year > 0 ? year : undefined;
}

/** author + year + first title word: the same paper gets the same key in every export. */
function baseKey(paper: Paper): string {
  const firstAuthor = paper.authors?.[0];
  const author = (firstAuthor ? keyPart(splitName(firstAuthor).family) : '') || 'anon';
  const year = publishedYear(paper) ?? 'nd';
  const words = paper.title.split(/\s+/).map(keyPart).filter(Boolean);
  const word = words.find((candidate) => !KEY_STOPWORDS.has(candidate)) ?? words[0] ?? 'untitled';
  return `${author}${year}${word}`;
}

/**
 * One key per paper, unique within the export: papers sharing a base key get `a`, `b`, … in the order of their
 * ids, so the same set of papers gets the same keys whatever order it was found in.
 */
export function citationKeys(papers: readonly Paper[]): Map<string, string> {
  const byBase = new Map<string, Paper[]>();
  for (const paper of papers) {
    const base = baseKey(paper);
    byBase.set(base, [...(byBase.get(base) ?? []), paper]);
  }
  const keys = new Map<string, string>();
  for (const [base, sharing] of byBase) {
    if (sharing.length === 1) {
      keys.set(sharing[0]!.id, base);
      continue;
    }
    [...sharing]
      .sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0))
      .forEach((paper, index) => keys.set(paper.id, `${base}${suffix(index)}`));
  }
  return keys;
}

/** a … z, then aa, ab …: enough for any number of papers sharing a key. */
function suffix(index: number): string {
  let text = '';
  let rest = index;
  do {
    text = String.fromCharCode(97 + (rest % 26)) + text;
    rest = Math.floor(rest / 26) - 1;
  } while (rest >= 0);
  return text;
}

/** arXiv's DOI for a paper (registered for every arXiv paper): how CSL-JSON and RIS name a preprint. */
export function arxivDoi(arxivId: string): string {
  return `10.48550/arXiv.${arxivId}`;
}

/** The date parts of a paper's publication date: [year, month, day], as far as it is known. */
export function dateParts(paper: Pick<Paper, 'publishedAt'>): number[] | undefined {
  const match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(paper.publishedAt ?? '');
  if (!match) return undefined;
  return match
    .slice(1)
    .filter((part) => part !== undefined)
    .map(Number);
}
