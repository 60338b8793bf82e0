import { UserError } from '../errors.js';
import { paperId, type Paper } from './paper.js';

/**
 * Parser for a captured "Daily Papers" page: a few header lines, then one title line and one abstract line per
 * paper, separated by blank lines. A page that does not have that shape is rejected as a whole, with the file
 * and line, so that nothing half-parsed reaches the library.
 */

/** Lines of the page chrome that come before the first paper. */
const HEADER_PATTERNS: readonly RegExp[] = [
  /^new$/i,
  /^get trending papers\b/i,
  /^subscribe$/i,
  /^(daily|trending) papers$/i,
  /^by\s*AK\b/i,
  // "Jul 29", "July 29, 2025", "2025-07-29".
  /^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(,?\s+\d{4})?$/i,
  /^\d{4}-\d{2}-\d{2}$/,
];

/** Longest line still read as a title; real titles are under 200 characters, abstracts over 600. */
const MAX_TITLE_CHARS = 300;
const MAX_TITLE_WORDS = 40;
/** An abstract is prose: this many words, or a shorter text that ends like a sentence. */
const MIN_ABSTRACT_WORDS = 25;
const MIN_SHORT_ABSTRACT_WORDS = 12;

interface SeedLine {
  /** 1-based, as editors show it. */
  number: number;
  text: string;
}

export interface BinaryCheck {
  /**
   * The file's bytes were checked to be valid UTF-8, so a U+FFFD in the text is a character of the text (PDF
   * extraction leaves them in real abstracts), not an undecodable byte.
   */
  validUtf8?: boolean;
}

export function parseSeedPage(text: string, fileName: string, check: BinaryCheck = {}): Paper[] {
  const fail = (line: number | undefined, problem: string): never => {
    throw new UserError(
      `${fileName}${line === undefined ? '' : `:${line}`}: ${problem}; nothing from this file was ingested`,
    );
  };

  const binaryAt = findBinaryLine(text, check);
  if (binaryAt !== undefined) fail(binaryAt, 'binary content, not a text capture of a papers page');

  const lines: SeedLine[] = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((line, index) => ({ number: index + 1, text: line.replace(/\s+/g, ' ').trim() }))
    .filter((line) => line.text.length > 0);
  if (lines.length === 0) fail(undefined, 'the file is empty');

  let position = 0;
  while (position < lines.length && isHeaderLine(lines[position].text)) position += 1;

  const papers: Paper[] = [];
  while (position < lines.length) {
    const title = lines[position];
    if (!looksLikeTitle(title.text)) {
      fail(title.number, `expected a paper title, found ${describeLine(title.text)} (an abstract without its title?)`);
    }
    const abstract = lines[position + 1];
    if (abstract === undefined) {
      fail(title.number, `the title "${shorten(title.text)}" has no abstract after it (end of file)`);
    }
    if (!looksLikeAbstract(abstract.text)) {
      fail(
        title.number,
        `the title "${shorten(title.text)}" has no abstract: line ${abstract.number} holds ${describeLine(abstract.text)}`,
      );
    }
    papers.push({ id: paperId({ title: title.text }), title: title.text, abstract: abstract.text, source: 'seeds' });
    position += 2;
  }
  if (papers.length === 0) fail(undefined, 'no papers found after the page header');
  return papers;
}

function isHeaderLine(line: string): boolean {
  return HEADER_PATTERNS.some((pattern) => pattern.test(line));
}

function wordCount(line: string): number {
  return line.split(' ').length;
}

function looksLikeTitle(line: string): boolean {
  const words = wordCount(line);
  if (line.length > MAX_TITLE_CHARS || words > MAX_TITLE_WORDS) return false;
  // "Skill-it! A …" and "In-Context vs. In-Weights" are titles; a long line ending in a full stop is prose.
  return !(line.endsWith('.') && words >= MIN_SHORT_ABSTRACT_WORDS);
}

function looksLikeAbstract(line: string): boolean {
  const words = wordCount(line);
  if (words >= MIN_ABSTRACT_WORDS) return true;
  return words >= MIN_SHORT_ABSTRACT_WORDS && /[.)]$/.test(line);
}

function describeLine(line: string): string {
  const words = wordCount(line);
  if (looksLikeAbstract(line)) return `prose of ${words} words`;
  return `a short line of ${words} word${words === 1 ? '' : 's'} ("${shorten(line)}")`;
}

function shorten(line: string, max = 60): string {
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

// Control characters are what these look for (no-control-regex guards against matching them by mistake).
// eslint-disable-next-line no-control-regex
const NUL_OR_CONTROL_RUN = /[\u0000]|[\u0001-\u0008\u000E-\u001F]{2,}/;
// eslint-disable-next-line no-control-regex
const NUL_UNDECODABLE_OR_CONTROL_RUN = /[\u0000\uFFFD]|[\u0001-\u0008\u000E-\u001F]{2,}/;

/** Line of the first NUL, undecodable byte (U+FFFD, unless the bytes were valid UTF-8) or run of control characters. */
export function findBinaryLine(text: string, check: BinaryCheck = {}): number | undefined {
  const match = (check.validUtf8 ? NUL_OR_CONTROL_RUN : NUL_UNDECODABLE_OR_CONTROL_RUN).exec(text);
  if (!match) return undefined;
  return text.slice(0, match.index).split('\n').length;
}
