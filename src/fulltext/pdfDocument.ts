import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Paper } from '../papers/paper.js';
import type { PdfBlock, PdfDocumentText } from '../papers/pdf.js';
import { pdfPathFor } from '../papers/pdfPaper.js';
import type { PdfReader } from '../papers/pdfSandbox.js';
import type { PdfToDocument } from './fetcher.js';
import { capDocument, type FullTextBlock, type FullTextDocument, type FullTextSection } from './document.js';

/**
 * A PDF's text (from the PDF reader, `src/papers/pdf.ts`) as sections. Headings are recovered where the layout
 * allows: a short block set larger than the body text, or a short bold block numbered like a heading (`3`, `4.1`,
 * `A.2`). Every paragraph keeps its page. A PDF where no heading can be told apart becomes one section per page,
 * cited as `p. 7`.
 */

/** `3 Method`, `4.1. Training setup`, `A Proofs`, `B.2 More results`. */
const NUMBERED_HEADING = /^((?:\d+|[A-Z])(?:\.\d+)*)\.?\s+(\p{Lu}.{0,100})$/u;
const UNNUMBERED_HEADINGS =
  /^(abstract|introduction|related work|background|method|methods|experiments|results|discussion|conclusions?|limitations|acknowledge?ments?|references|appendix)$/i;
const MAX_HEADING_CHARS = 110;
/** arXiv's margin stamp (`arXiv:2410.20771v2 [cs.CL] 1 Nov 2024`) is not part of the paper. */
const ARXIV_STAMP = /^arXiv:\s*\S+\s+\[[^\]]+\]/;

/** The font size most of the text is set in, weighted by characters. */
function bodyFontSize(text: PdfDocumentText): number {
  const weight = new Map<number, number>();
  for (const page of text.pages) {
    for (const block of page.blocks) {
      const size = Math.round(block.fontSize * 2) / 2;
      weight.set(size, (weight.get(size) ?? 0) + block.text.length);
    }
  }
  return [...weight.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 10;
}

function isBold(block: PdfBlock): boolean {
  return block.lines.every((line) => line.items.every((item) => /bold|black|heavy|semibold/i.test(item.fontFamily)));
}

function headingOf(block: PdfBlock, bodySize: number): { number?: string; title: string; level: number } | undefined {
  const text = block.text.trim();
  if (text.length > MAX_HEADING_CHARS || block.lines.length > 2 || /[.:;,]$/.test(text)) return undefined;
  const larger = block.fontSize >= bodySize + 0.75;
  const numbered = NUMBERED_HEADING.exec(text);
  if (numbered && (larger || isBold(block))) {
    return { number: numbered[1]!, title: numbered[2]!.trim(), level: numbered[1]!.split('.').length };
  }
  if ((larger || isBold(block)) && UNNUMBERED_HEADINGS.test(text)) return { title: text, level: 1 };
  return undefined;
}

export function pdfToDocument(text: PdfDocumentText, source: FullTextDocument['source'] = 'pdf'): FullTextDocument {
  const bodySize = bodyFontSize(text);
  const sections: FullTextSection[] = [];
  let current: FullTextSection | undefined;
  let title: string | undefined;
  for (const page of text.pages) {
    for (const block of page.blocks) {
      const content = block.text.trim();
      if (!content || ARXIV_STAMP.test(content)) continue;
      if (page.pageNumber === 1 && title === undefined && block.fontSize >= bodySize + 3) {
        title = content;
        continue;
      }
      const heading = headingOf(block, bodySize);
      if (heading) {
        current = {
          ...(heading.number ? { number: heading.number } : {}),
          title: heading.title,
          level: heading.level,
          page: page.pageNumber,
          blocks: [],
        };
        sections.push(current);
        continue;
      }
      // Before the first heading: the title block, authors and affiliations, which answer nothing.
      if (!current) continue;
      const paragraph: FullTextBlock = {
        kind: /^(figure|fig\.|table)\s*\d+[:.]/i.test(content) ? 'caption' : 'paragraph',
        text: content,
        page: page.pageNumber,
      };
      current.blocks.push(paragraph);
    }
  }
  const hasBody = sections.some((section) => !/^abstract$/i.test(section.title) && section.blocks.length > 0);
  if (hasBody) return capDocument({ source, ...(title ? { title } : {}), sections });
  // No headings to go by: one section per page, cited by its page number.
  const pages: FullTextSection[] = text.pages
    .map((page) => ({
      title: '',
      level: 1,
      page: page.pageNumber,
      blocks: page.blocks
        .filter((block) => block.text.trim() && !ARXIV_STAMP.test(block.text.trim()) && block.text.trim() !== title)
        .map((block): FullTextBlock => ({ kind: 'paragraph', text: block.text.trim(), page: page.pageNumber })),
    }))
    .filter((section) => section.blocks.length > 0);
  return capDocument({ source, ...(title ? { title } : {}), sections: pages });
}

/** How the fetcher reads PDF bytes from arXiv: through `reader` (a child process with limits), into sections. */
export function pdfBytesToDocument(reader: PdfReader): PdfToDocument {
  return async (bytes, options) =>
    pdfToDocument(
      await reader.read(bytes, { name: 'the arXiv PDF', ...(options.signal ? { signal: options.signal } : {}) }),
    );
}

/** PDFs kept under DATA_DIR (added locally or from Discord), read through `reader` as documents. */
export function localPdfs(dataDir: string, reader: PdfReader) {
  return {
    has: (paper: Paper) => existsSync(pdfPathFor(dataDir, paper.id)),
    async read(paper: Paper, signal?: AbortSignal): Promise<FullTextDocument | undefined> {
      const file = pdfPathFor(dataDir, paper.id);
      if (!existsSync(file)) return undefined;
      const bytes = new Uint8Array(await readFile(file));
      const text = await reader.read(bytes, { name: 'the kept PDF', ...(signal ? { signal } : {}) });
      return pdfToDocument(text, 'local-pdf');
    },
  };
}
