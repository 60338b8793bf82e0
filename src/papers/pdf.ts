import { getDocumentProxy } from 'unpdf';
import { UserError } from '../errors.js';
import { decompressedStreamBytes } from './pdfStreams.js';

/**
 * The PDF reader: bytes in, pages of positioned text lines out, through pdf.js (via `unpdf`, its serverless build,
 * which needs no worker file and no canvas). Everything above it (paper metadata here, full text elsewhere) works
 * on `PdfDocumentText`, never on pdf.js objects.
 *
 * Coordinates are PDF user space: origin bottom-left, y grows upwards, units of 1/72 inch.
 */

export interface PdfTextItem {
  text: string;
  x: number;
  y: number;
  width: number;
  /** From the text matrix: the glyph height in user space, so a 10 pt font drawn at 10 reads 10. */
  fontSize: number;
  fontFamily: string;
}

/** Text items sharing a baseline, left to right, joined with the spaces their gaps imply. */
export interface PdfLine {
  text: string;
  x: number;
  y: number;
  /** The largest font size on the line: headings are told apart by it. */
  fontSize: number;
  items: PdfTextItem[];
}

/** Consecutive lines with the same font size and ordinary line spacing: a paragraph, a heading, a caption. */
export interface PdfBlock {
  /** Lines joined with spaces; words hyphenated across a line break are joined again. */
  text: string;
  fontSize: number;
  lines: PdfLine[];
}

export interface PdfPage {
  /** 1-based, as readers count them. */
  pageNumber: number;
  width: number;
  height: number;
  lines: PdfLine[];
  blocks: PdfBlock[];
}

/** The document information dictionary; only what papercord uses, each field absent when empty. */
export interface PdfInfo {
  title?: string;
  author?: string;
  subject?: string;
  keywords?: string;
}

export interface PdfDocumentText {
  /** Pages in the file, which can exceed `pages.length` when `maxPages` was given. */
  pageCount: number;
  pages: PdfPage[];
  info: PdfInfo;
}

/** `over_limit`: more pages, decompressed bytes, memory or time than papercord gives one PDF (the message names the limit). */
export type PdfProblem = 'not_pdf' | 'encrypted' | 'no_text' | 'damaged' | 'over_limit';

/** A PDF papercord cannot read, for a reason the person who gave it can act on. */
export class PdfReadError extends UserError {
  readonly problem: PdfProblem;

  constructor(problem: PdfProblem, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.problem = problem;
  }
}

export interface ReadPdfOptions {
  /** How the file is named in messages: a path or an attachment's file name. */
  name?: string;
  /** Read only the first N pages (metadata needs one or two); all pages when absent. */
  maxPages?: number;
  /** `PDF_MAX_PAGES`: a file with more pages is refused before any page is read. */
  maxPageCount?: number;
  /** `PDF_MAX_DECOMPRESSED_MB`, in bytes: a file whose streams inflate to more is refused before pdf.js opens it. */
  maxDecompressedBytes?: number;
  signal?: AbortSignal;
}

/** Fewer visible characters than this over the pages read means there is no text layer (a scan, or only images). */
const MIN_TEXT_CHARACTERS = 20;

/** `%PDF-` may follow some junk; readers accept it within the first kilobyte, as the PDF spec's implementation notes allow. */
const HEADER_WINDOW = 1024;

export function looksLikePdf(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, HEADER_WINDOW)).toString(
    'latin1',
  );
  return head.includes('%PDF-');
}

/**
 * Reads a PDF's text. Throws a `PdfReadError` for a file that is not a PDF, is damaged beyond pdf.js's repair,
 * needs a password, or has no text layer.
 */
export async function readPdf(bytes: Uint8Array, options: ReadPdfOptions = {}): Promise<PdfDocumentText> {
  const name = options.name ?? 'the file';
  if (!looksLikePdf(bytes)) {
    throw new PdfReadError('not_pdf', `${name} is not a PDF (it has no %PDF header); nothing was added`);
  }
  options.signal?.throwIfAborted();
  if (options.maxDecompressedBytes !== undefined) {
    const inflated = await decompressedStreamBytes(bytes, options.maxDecompressedBytes);
    if (inflated > options.maxDecompressedBytes) {
      throw new PdfReadError(
        'over_limit',
        `${name} decompresses to more than ${megabytes(options.maxDecompressedBytes)} MB, the limit for one PDF (PDF_MAX_DECOMPRESSED_MB); nothing was added`,
      );
    }
  }

  let document: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js takes ownership of (and may detach) the buffer it is given: hand it a copy. Verbosity 0 keeps its
    // "Indexing all PDF objects" warnings for slightly damaged files off stdout, which carries `--json`.
    document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (error) {
    throw toPdfReadError(error, name);
  }

  try {
    const pageCount = document.numPages;
    if (options.maxPageCount !== undefined && pageCount > options.maxPageCount) {
      throw new PdfReadError(
        'over_limit',
        `${name} has ${pageCount} pages; papercord reads PDFs of up to ${options.maxPageCount} pages (PDF_MAX_PAGES); nothing was added`,
      );
    }
    const lastPage = Math.min(pageCount, options.maxPages ?? pageCount);
    const pages: PdfPage[] = [];
    for (let pageNumber = 1; pageNumber <= lastPage; pageNumber += 1) {
      options.signal?.throwIfAborted();
      pages.push(await readPage(document, pageNumber));
    }
    const characters = pages.reduce(
      (sum, page) => sum + page.lines.reduce((n, line) => n + line.text.replace(/\s/g, '').length, 0),
      0,
    );
    if (characters < MIN_TEXT_CHARACTERS) {
      throw new PdfReadError(
        'no_text',
        `${name} has no text layer (a scanned or image-only PDF); papercord cannot read it without OCR, so nothing was added`,
      );
    }
    const info = await readInfo(document);
    return { pageCount, pages, info };
  } catch (error) {
    if (error instanceof PdfReadError || options.signal?.aborted) throw error;
    throw toPdfReadError(error, name);
  } finally {
    await document.destroy();
  }
}

export function megabytes(bytes: number): string {
  return String(Math.round((bytes / 1_048_576) * 10) / 10);
}

/** The refusal of a file over `PDF_MAX_BYTES`, the same from the CLI and from Discord; `size` when it is known. */
export function tooLarge(name: string, size: number | undefined, maxBytes: number): string {
  const actual = size === undefined ? 'larger than that' : `${(size / 1_048_576).toFixed(1)} MB`;
  return `${name} is ${actual}; papercord reads PDFs up to ${megabytes(maxBytes)} MB (PDF_MAX_BYTES); nothing was added`;
}

function toPdfReadError(error: unknown, name: string): PdfReadError {
  const errorName = error instanceof Error ? error.name : '';
  if (errorName === 'PasswordException') {
    return new PdfReadError(
      'encrypted',
      `${name} is encrypted (password-protected); papercord cannot read it, so nothing was added`,
      {
        cause: error,
      },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new PdfReadError('damaged', `${name} is damaged or not a readable PDF (${detail}); nothing was added`, {
    cause: error,
  });
}

type PdfDocumentProxy = Awaited<ReturnType<typeof getDocumentProxy>>;

async function readInfo(document: PdfDocumentProxy): Promise<PdfInfo> {
  const metadata = await document.getMetadata().catch(() => undefined);
  // pdf.js types the info dictionary as `Object`: its keys are whatever the producer wrote.
  const raw = (metadata?.info ?? {}) as Record<string, unknown>;
  const field = (key: string) => {
    const value = raw[key];
    return typeof value === 'string' && value.trim() !== '' ? value.replace(/\s+/g, ' ').trim() : undefined;
  };
  const info: PdfInfo = {};
  const title = field('Title');
  const author = field('Author');
  const subject = field('Subject');
  const keywords = field('Keywords');
  if (title) info.title = title;
  if (author) info.author = author;
  if (subject) info.subject = subject;
  if (keywords) info.keywords = keywords;
  return info;
}

/** The subset of pdf.js's TextItem this reader uses (TextMarkedContent entries have no `str`). */
interface RawTextItem {
  str: string;
  transform: number[];
  width: number;
  fontName: string;
  hasEOL: boolean;
}

async function readPage(document: PdfDocumentProxy, pageNumber: number): Promise<PdfPage> {
  const page = await document.getPage(pageNumber);
  try {
    const [, , width, height] = page.view as [number, number, number, number];
    const content = await page.getTextContent();
    const styles = content.styles as Record<string, { fontFamily?: string }>;
    const items: Array<PdfTextItem & { endsLine: boolean }> = [];
    for (const raw of content.items as unknown as RawTextItem[]) {
      if (typeof raw.str !== 'string') continue;
      const [, , c = 0, d = 0, e = 0, f = 0] = raw.transform;
      items.push({
        text: raw.str,
        x: e,
        y: f,
        width: raw.width,
        fontSize: Math.hypot(c, d),
        fontFamily: styles[raw.fontName]?.fontFamily ?? '',
        endsLine: raw.hasEOL,
      });
    }
    const lines = groupLines(items);
    return { pageNumber, width, height, lines, blocks: groupBlocks(lines) };
  } finally {
    page.cleanup();
  }
}

/**
 * Items in content-stream order, cut into lines where pdf.js saw an end of line or the baseline moves by more than
 * half the font size (superscripts and subscripts move less and stay on their line).
 */
function groupLines(items: Array<PdfTextItem & { endsLine: boolean }>): PdfLine[] {
  const lines: PdfLine[] = [];
  let current: PdfTextItem[] = [];
  let breakPending = false;
  const flush = () => {
    const visible = current.filter((item) => item.text.trim() !== '');
    if (visible.length > 0) lines.push(toLine(visible));
    current = [];
  };
  for (const item of items) {
    const previous = current.at(-1);
    if (previous && item.text !== '') {
      const tolerance = Math.max(previous.fontSize, item.fontSize, 1) * 0.5;
      const movedDown = Math.abs(item.y - previous.y) > tolerance;
      const wentBack = item.x < previous.x - 1 && Math.abs(item.y - previous.y) > 0.5;
      if (breakPending || movedDown || wentBack) flush();
    }
    if (item.text !== '') {
      current.push(item);
      breakPending = false;
    }
    if (item.endsLine) breakPending = true;
  }
  flush();
  return lines;
}

function toLine(items: PdfTextItem[]): PdfLine {
  const ordered = [...items].sort((a, b) => a.x - b.x);
  let text = '';
  let previousEnd: number | undefined;
  for (const item of ordered) {
    // A gap wider than a fifth of the font size is a word space the producer drew as positioning, not as a glyph.
    const gap = previousEnd === undefined ? 0 : item.x - previousEnd;
    if (text !== '' && gap > item.fontSize * 0.2 && !/\s$/.test(text) && !/^\s/.test(item.text)) text += ' ';
    text += item.text;
    previousEnd = item.x + item.width;
  }
  const baseline = ordered.reduce((lowest, item) => (item.fontSize >= lowest.fontSize ? item : lowest), ordered[0]!);
  return {
    text: text.replace(/\s+/g, ' ').trim(),
    x: ordered[0]!.x,
    y: baseline.y,
    fontSize: Math.max(...ordered.map((item) => item.fontSize)),
    items: ordered,
  };
}

/** A line starts a new block when its font size differs or the gap above it is wider than ordinary line spacing. */
function groupBlocks(lines: PdfLine[]): PdfBlock[] {
  const blocks: PdfBlock[] = [];
  let current: PdfLine[] = [];
  const flush = () => {
    if (current.length > 0)
      blocks.push({
        text: joinLines(current.map((line) => line.text)),
        fontSize: current[0]!.fontSize,
        lines: current,
      });
    current = [];
  };
  for (const line of lines) {
    const previous = current.at(-1);
    if (previous) {
      const sameSize = Math.abs(previous.fontSize - line.fontSize) < 0.6;
      const gap = previous.y - line.y;
      // Ordinary leading is about 1.2 times the font size; a blank line's worth (or a jump up a column) ends the block.
      const ordinarySpacing = gap > 0 && gap < previous.fontSize * 1.75;
      if (!sameSize || !ordinarySpacing) flush();
    }
    current.push(line);
  }
  flush();
  return blocks;
}

/** Joins lines into running text, undoing end-of-line hyphenation ("trans-" + "former" → "transformer"). */
export function joinLines(lines: string[]): string {
  let text = '';
  for (const line of lines) {
    if (text === '') text = line;
    else if (/[a-z]-$/.test(text) && /^[a-z]/.test(line)) text = text.slice(0, -1) + line;
    else text += ` ${line}`;
  }
  return text.trim();
}
