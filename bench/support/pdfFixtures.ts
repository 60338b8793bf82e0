import { PDFDocument, StandardFonts, degrees, type PDFFont, type PDFPage } from '@cantoo/pdf-lib';

/**
 * PDFs the test suite makes itself (no binary fixtures in the repo): a paper laid out as papers are (title, authors,
 * an "Abstract" heading, numbered sections flowing over pages, an arXiv margin stamp), one with only a drawing and
 * no text, and a password-protected one. `@cantoo/pdf-lib` is pdf-lib's maintained fork, which can encrypt.
 */

export interface PaperPdfSection {
  heading: string;
  paragraphs: string[];
}

export interface PaperPdfOptions {
  title: string;
  /** Printed on one line under the title, comma-separated. */
  authors?: string[];
  /** A line of affiliations under the authors. */
  affiliations?: string;
  /** Printed under an "Abstract" heading; omitted entirely when absent. */
  abstract?: string;
  /** Paragraphs printed right after the authors, without any heading (for the "first paragraphs" fallback). */
  leadParagraphs?: string[];
  sections?: PaperPdfSection[];
  /** `2410.20771v2` prints "arXiv:2410.20771v2 [cs.CL] 1 Nov 2024" up the left margin, as arXiv does. */
  arxivStamp?: string;
  /** The document-information Title; left unset when absent (as many LaTeX builds leave it). */
  infoTitle?: string;
  infoAuthor?: string;
  /** Font sizes, in points. */
  titleSize?: number;
  headingSize?: number;
  bodySize?: number;
}

const PAGE_WIDTH = 612;
const PAGE_HEIGHT = 792;
const MARGIN = 72;

class PageWriter {
  private page: PDFPage;
  private y = PAGE_HEIGHT - MARGIN;

  constructor(
    private readonly document: PDFDocument,
    private readonly fonts: { regular: PDFFont; bold: PDFFont },
  ) {
    this.page = document.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  }

  get currentPage(): PDFPage {
    return this.page;
  }

  /** Wraps `text` to the text width and draws it, starting a new page when the bottom margin is reached. */
  write(text: string, size: number, options: { bold?: boolean; spaceBefore?: number } = {}): void {
    const font = options.bold ? this.fonts.bold : this.fonts.regular;
    this.y -= options.spaceBefore ?? 0;
    for (const line of wrap(text, font, size, PAGE_WIDTH - 2 * MARGIN)) {
      if (this.y - size < MARGIN) {
        this.page = this.document.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
        this.y = PAGE_HEIGHT - MARGIN;
      }
      this.y -= size * 1.2;
      this.page.drawText(line, { x: MARGIN, y: this.y, size, font });
    }
  }
}

function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && font.widthOfTextAtSize(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export async function makePaperPdf(options: PaperPdfOptions): Promise<Uint8Array> {
  const document = await PDFDocument.create();
  const fonts = {
    regular: await document.embedFont(StandardFonts.TimesRoman),
    bold: await document.embedFont(StandardFonts.TimesRomanBold),
  };
  const titleSize = options.titleSize ?? 17;
  const headingSize = options.headingSize ?? 12;
  const bodySize = options.bodySize ?? 10;
  const writer = new PageWriter(document, fonts);

  writer.write(options.title, titleSize, { bold: true });
  if (options.authors?.length) writer.write(options.authors.join(', '), 11, { spaceBefore: 12 });
  if (options.affiliations) writer.write(options.affiliations, 9, { spaceBefore: 2 });
  if (options.abstract !== undefined) {
    writer.write('Abstract', headingSize, { bold: true, spaceBefore: 20 });
    writer.write(options.abstract, bodySize, { spaceBefore: 4 });
  }
  for (const paragraph of options.leadParagraphs ?? []) writer.write(paragraph, bodySize, { spaceBefore: 14 });
  for (const section of options.sections ?? []) {
    writer.write(section.heading, headingSize, { bold: true, spaceBefore: 18 });
    for (const paragraph of section.paragraphs) writer.write(paragraph, bodySize, { spaceBefore: 8 });
  }
  if (options.arxivStamp) {
    document.getPage(0).drawText(`arXiv:${options.arxivStamp}  [cs.CL]  1 Nov 2024`, {
      x: 30,
      y: 250,
      size: 18,
      font: fonts.regular,
      rotate: degrees(90),
    });
  }
  if (options.infoTitle) document.setTitle(options.infoTitle);
  if (options.infoAuthor) document.setAuthor(options.infoAuthor);
  return document.save();
}

/** A page with only a drawing on it: what a scanned paper without OCR looks like to a text extractor. */
export async function makeImageOnlyPdf(): Promise<Uint8Array> {
  const document = await PDFDocument.create();
  const page = document.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  for (let row = 0; row < 20; row += 1) {
    page.drawRectangle({ x: MARGIN, y: PAGE_HEIGHT - MARGIN - row * 24, width: 300 + (row % 5) * 30, height: 8 });
  }
  return document.save();
}

/** A paper that opens only with a password. */
export async function makeEncryptedPdf(options: Partial<PaperPdfOptions> = {}): Promise<Uint8Array> {
  const plain = await makePaperPdf({
    title: 'A Secret Paper About Locks',
    abstract: 'Nobody may read this abstract.',
    ...options,
  });
  const document = await PDFDocument.load(plain);
  document.encrypt({ userPassword: 'reader', ownerPassword: 'owner' });
  return document.save();
}

/** A realistic one-page paper with an abstract, used across tests. */
export const SAMPLE_PAPER = {
  title: 'Sparse Attention Routers for Long Document Question Answering',
  authors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'],
  affiliations: 'University of Examples, Department of Computer Science',
  abstract:
    'We introduce sparse attention routers, a mechanism that lets a transformer decide which distant passages of a long ' +
    'document each token may attend to. On three long-document question answering benchmarks the routers match dense ' +
    'attention while reading four times fewer tokens, and they transfer to unseen domains without retraining.',
  sections: [
    {
      heading: '1 Introduction',
      paragraphs: [
        'Long documents strain attention. Readers skim, and so should models: this paper shows how a small router can ' +
          'pick the passages that matter for each question and leave the rest unread.',
      ],
    },
    {
      heading: '2 Method',
      paragraphs: ['The router scores passages with a single linear layer over pooled token states.'],
    },
  ],
} satisfies PaperPdfOptions;
