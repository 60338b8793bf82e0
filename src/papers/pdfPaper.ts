import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findArxivIdInText } from './arxivIds.js';
import { joinLines, readPdf, type PdfBlock, type PdfDocumentText, type PdfLine, type ReadPdfOptions } from './pdf.js';

/** What a paper's PDF says about itself: its first page, read the way a person skims it. */
export interface PdfPaperMetadata {
  title?: string;
  authors: string[];
  abstract?: string;
  /** When the PDF carries an arXiv stamp or id; the arXiv record then wins over everything read here. */
  arxivId?: string;
  pageCount: number;
}

/** Pages read for metadata: the abstract of a two-column paper can run onto page 2, rarely further. */
export const METADATA_PAGES = 2;
/** An abstract longer than this has run into the body (the heading that ends it was not recognised). */
const MAX_ABSTRACT_CHARACTERS = 3000;
/** Without an "Abstract" heading, the first paragraphs of at least this length stand in for it. */
const FALLBACK_PARAGRAPH_CHARACTERS = 200;
const FALLBACK_ABSTRACT_CHARACTERS = 1500;

export async function readPdfPaper(bytes: Uint8Array, options: ReadPdfOptions = {}): Promise<PdfPaperMetadata> {
  const document = await readPdf(bytes, {
    ...options,
    maxPages: Math.min(options.maxPages ?? METADATA_PAGES, METADATA_PAGES),
  });
  return extractPdfPaperMetadata(document);
}

export function extractPdfPaperMetadata(document: PdfDocumentText): PdfPaperMetadata {
  const firstPage = document.pages[0];
  const lines = firstPage?.lines ?? [];
  const allText = document.pages.flatMap((page) => page.lines.map((line) => line.text)).join('\n');
  const arxivId = findArxivIdInText(`${allText}\n${document.info.subject ?? ''}\n${document.info.keywords ?? ''}`);

  const body = lines.filter((line) => !isArxivStamp(line.text));
  const titleLines = findTitleLines(body);
  const infoTitle = usableInfoTitle(document.info.title);
  const title = infoTitle ?? (titleLines.length > 0 ? joinLines(titleLines.map((line) => line.text)) : undefined);

  const abstractHeading = body.findIndex((line) => ABSTRACT_HEADING.test(line.text));
  const afterTitle = titleLines.length > 0 ? body.indexOf(titleLines.at(-1)!) + 1 : 0;
  const authorLines = body.slice(afterTitle, abstractHeading > afterTitle ? abstractHeading : afterTitle + 4);
  const authors = document.info.author
    ? splitAuthors(document.info.author)
    : authorsFromLines(authorLines, titleLines[0]?.fontSize);

  const abstract = abstractUnderHeading(document) ?? abstractFromFirstParagraphs(document, titleLines);
  const metadata: PdfPaperMetadata = { authors, pageCount: document.pageCount };
  if (title) metadata.title = title;
  if (abstract) metadata.abstract = abstract;
  if (arxivId) metadata.arxivId = arxivId;
  return metadata;
}

const ABSTRACT_HEADING = /^\s*(?:a\s?b\s?s\s?t\s?r\s?a\s?c\s?t\b|summary\s*$)\s*[.:—–-]?\s*/i;
/** Where an abstract ends: the first section, keywords, or the ACM/IEEE boxes that follow it. */
const ABSTRACT_END =
  /^\s*(?:(?:1|I)\.?\s+introduction\b|introduction\s*$|keywords\b|key\s*words\b|index terms\b|ccs concepts\b|acm reference format\b|1\s+[A-Z][a-z]+(?:\s+[A-Za-z]+){0,4}\s*$)/i;

function isArxivStamp(text: string): boolean {
  return /^arxiv:\s?\S+\s+\[[^\]]+\]/i.test(text.trim());
}

/** Producer defaults and file names are not titles ("Microsoft Word - draft3.docx", "main.dvi", "untitled"). */
function usableInfoTitle(title: string | undefined): string | undefined {
  if (!title) return undefined;
  if (/^(untitled|title|paper|main|document|slides?)$/i.test(title)) return undefined;
  if (/\.(pdf|dvi|tex|docx?|ps|odt)$/i.test(title) || /^microsoft word\b/i.test(title)) return undefined;
  if (title.length < 8 || title.split(/\s+/).length < 2) return undefined;
  return title;
}

/** The title is the largest text in the top part of page 1: consecutive lines of that size. */
function findTitleLines(lines: PdfLine[]): PdfLine[] {
  const candidates = lines.filter((line) => /\p{L}{2}/u.test(line.text) && !ABSTRACT_HEADING.test(line.text));
  if (candidates.length === 0) return [];
  const top = candidates.slice(0, 30);
  const largest = Math.max(...top.map((line) => line.fontSize));
  const start = lines.indexOf(top.find((line) => Math.abs(line.fontSize - largest) < 0.6)!);
  const title: PdfLine[] = [];
  for (let index = start; index < lines.length && title.length < 4; index += 1) {
    const line = lines[index]!;
    if (Math.abs(line.fontSize - largest) >= 0.6) break;
    title.push(line);
  }
  return title;
}

const AFFILIATION =
  /\b(universit|institut|college|school|department|dept\b|laborator|lab\b|labs\b|research|inc\b|corp|ltd|gmbh|google|microsoft|meta\b|openai|deepmind|academy|center|centre|faculty)/i;

function authorsFromLines(lines: PdfLine[], titleSize: number | undefined): string[] {
  const authors: string[] = [];
  for (const line of lines) {
    if (titleSize !== undefined && line.fontSize >= titleSize) continue;
    if (/@|https?:\/\/|\d{3,}/.test(line.text) || AFFILIATION.test(line.text)) continue;
    authors.push(...splitAuthors(line.text));
  }
  return [...new Set(authors)].slice(0, 50);
}

/** "Ada Lovelace1*, Alan Turing2 and Grace Hopper†" → the three names. */
export function splitAuthors(text: string): string[] {
  return text
    .split(/\s*(?:,|;|\band\b|&|\s{3,})\s*/i)
    .map((part) =>
      part
        .replace(/[*†‡§¶∗♠♣♥♦⋆]|\d+|\(.*?\)/gu, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((name) => /^\p{Lu}[\p{L}.'’-]*(?:\s+\p{L}[\p{L}.'’-]*){1,4}$/u.test(name));
}

/** The text under an "Abstract" heading (or after an inline "Abstract—"), up to the first section or keywords. */
function abstractUnderHeading(document: PdfDocumentText): string | undefined {
  const lines = document.pages.flatMap((page) => page.lines.filter((line) => !isArxivStamp(line.text)));
  const headingIndex = lines.findIndex((line) => ABSTRACT_HEADING.test(line.text));
  if (headingIndex < 0) return undefined;
  const heading = lines[headingIndex]!;
  const inline = heading.text.replace(ABSTRACT_HEADING, '').trim();
  const collected: string[] = inline ? [inline] : [];
  let bodySize: number | undefined = inline ? heading.fontSize : undefined;
  let length = inline.length;
  for (const line of lines.slice(headingIndex + 1)) {
    if (ABSTRACT_END.test(line.text)) break;
    bodySize ??= line.fontSize;
    // A larger font after the abstract started is the next heading.
    if (collected.length > 0 && line.fontSize > bodySize + 0.6) break;
    collected.push(line.text);
    length += line.text.length;
    if (length > MAX_ABSTRACT_CHARACTERS) break;
  }
  const text = joinLines(collected);
  return text.length >= 20 ? text.slice(0, MAX_ABSTRACT_CHARACTERS) : undefined;
}

/** Without a heading: the first long paragraphs after the title block, as a person would skim them. */
function abstractFromFirstParagraphs(document: PdfDocumentText, titleLines: PdfLine[]): string | undefined {
  const blocks: PdfBlock[] = document.pages.flatMap((page) => page.blocks);
  const paragraphs = blocks.filter(
    (block) =>
      block.text.length >= FALLBACK_PARAGRAPH_CHARACTERS && !block.lines.some((line) => titleLines.includes(line)),
  );
  let text = '';
  for (const paragraph of paragraphs) {
    text = text ? `${text} ${paragraph.text}` : paragraph.text;
    if (text.length >= FALLBACK_ABSTRACT_CHARACTERS / 2) break;
  }
  return text ? text.slice(0, FALLBACK_ABSTRACT_CHARACTERS) : undefined;
}

/** Where a paper's PDF is kept: `DATA_DIR/pdfs/<paper id with ':' and '/' made file-safe>.pdf`. */
export function pdfPathFor(dataDir: string, paperId: string): string {
  return path.join(dataDir, 'pdfs', `${paperId.replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`);
}

/** Keeps the PDF for later full-text work, written to a temp file and renamed so a reader never sees half a file. */
export async function keepPdf(dataDir: string, paperId: string, bytes: Uint8Array): Promise<string> {
  const target = pdfPathFor(dataDir, paperId);
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, target);
  return target;
}

/**
 * Bytes the kept PDFs take (`DATA_DIR/pdfs`), for the `PDF_STORE_MAX_MB` quota. One listing of the folder, read
 * fresh so that PDFs kept by other threads and processes count; the quota itself keeps the folder small.
 */
export async function keptPdfBytes(dataDir: string): Promise<number> {
  const folder = path.join(dataDir, 'pdfs');
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let total = 0;
  for (const name of names) {
    if (!name.endsWith('.pdf')) continue;
    // A file removed between the listing and here takes no room.
    total += await stat(path.join(folder, name)).then(
      (info) => info.size,
      () => 0,
    );
  }
  return total;
}
