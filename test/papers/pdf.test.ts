import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { PdfReadError, readPdf } from '../../src/papers/pdf.js';
import { extractPdfPaperMetadata, keepPdf, pdfPathFor, readPdfPaper, splitAuthors } from '../../src/papers/pdfPaper.js';
import { makeEncryptedPdf, makeImageOnlyPdf, makePaperPdf, SAMPLE_PAPER } from '../../bench/support/pdfFixtures.js';

const LONG_PARAGRAPH =
  'Transformers read every token of a long document, which is slow and wasteful when a question needs only a few ' +
  'passages. We look at how much of a document a model really needs, and find that a fifth is usually enough for ' +
  'the answers our benchmarks ask for, provided the right fifth is chosen by a learned scorer.';

describe('readPdf', () => {
  it('given a paper spanning several pages, it should give each page its number and its lines with font sizes in reading order', async () => {
    const bytes = await makePaperPdf({
      ...SAMPLE_PAPER,
      title: 'Sparse Attention Routers',
      sections: Array.from({ length: 12 }, (_, index) => ({
        heading: `${index + 1} Section ${index + 1}`,
        paragraphs: [LONG_PARAGRAPH, LONG_PARAGRAPH],
      })),
    });

    const document = await readPdf(bytes, { name: 'paper.pdf' });

    expect(document.pageCount).toBeGreaterThan(1);
    expect(document.pages.map((page) => page.pageNumber)).toEqual(
      Array.from({ length: document.pageCount }, (_, index) => index + 1),
    );
    const first = document.pages[0]!;
    expect(first.lines[0]).toMatchObject({ text: 'Sparse Attention Routers', fontSize: 17 });
    expect(first.lines[1]!.text).toBe('Ada Lovelace, Alan Turing, Grace Hopper');
    expect(first.lines.find((line) => line.text === 'Abstract')?.fontSize).toBe(12);
    // Lines run top to bottom: y (from the bottom of the page) decreases.
    const ys = first.lines.map((line) => line.y);
    expect(ys).toEqual([...ys].sort((a, b) => b - a));
    const lastPage = document.pages.at(-1)!;
    expect(lastPage.lines.some((line) => line.text === '12 Section 12')).toBe(true);
  });

  it('given a paragraph wrapped over several lines, it should give it as one block of running text next to its heading block', async () => {
    const document = await readPdf(
      await makePaperPdf({
        title: 'Blocks Are Paragraphs Indeed',
        sections: [{ heading: '1 Introduction', paragraphs: [LONG_PARAGRAPH] }],
      }),
    );

    const texts = document.pages[0]!.blocks.map((block) => block.text);

    expect(texts).toContain('1 Introduction');
    expect(texts).toContain(LONG_PARAGRAPH);
  });

  it('given maxPages, it should read only those pages but still count them all', async () => {
    const bytes = await makePaperPdf({
      title: 'A Long Paper With Many Pages',
      sections: Array.from({ length: 20 }, (_, index) => ({
        heading: `${index + 1} Part`,
        paragraphs: [LONG_PARAGRAPH, LONG_PARAGRAPH],
      })),
    });

    const document = await readPdf(bytes, { maxPages: 1 });

    expect(document.pages).toHaveLength(1);
    expect(document.pageCount).toBeGreaterThan(2);
  });

  it.each([
    [
      'a text file',
      async () => new TextEncoder().encode('Just some notes, not a PDF at all.'),
      'not_pdf',
      /notes\.pdf is not a PDF/,
    ],
    [
      'a PDF without any text',
      makeImageOnlyPdf,
      'no_text',
      /notes\.pdf has no text layer \(a scanned or image-only PDF\)/,
    ],
    [
      'a password-protected PDF',
      () => makeEncryptedPdf(),
      'encrypted',
      /notes\.pdf is encrypted \(password-protected\)/,
    ],
    [
      'a truncated PDF',
      async () => new TextEncoder().encode('%PDF-1.7\n1 0 obj << /Type /Catalog'),
      'damaged',
      /notes\.pdf is damaged or not a readable PDF/,
    ],
  ] as const)('given %s, it should refuse it as a user error saying why', async (_label, make, problem, message) => {
    const bytes = await make();

    const error = await readPdf(bytes, { name: 'notes.pdf' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PdfReadError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as PdfReadError).problem).toBe(problem);
    expect((error as Error).message).toMatch(message);
  });
});

describe('readPdfPaper', () => {
  it('given a paper with an Abstract heading, it should read its title, authors and the abstract up to the first section', async () => {
    const metadata = await readPdfPaper(await makePaperPdf(SAMPLE_PAPER));

    expect(metadata.title).toBe(SAMPLE_PAPER.title);
    expect(metadata.authors).toEqual(SAMPLE_PAPER.authors);
    expect(metadata.abstract).toBe(SAMPLE_PAPER.abstract);
    expect(metadata.arxivId).toBeUndefined();
  });

  it('given a title over two lines and an arXiv stamp in the margin, it should join the title and find the id without the version', async () => {
    const title = 'A Remarkably Long Title About Sparse Attention Routers That Wraps Over Two Lines On The Page';

    const metadata = await readPdfPaper(await makePaperPdf({ ...SAMPLE_PAPER, title, arxivStamp: '2410.20771v2' }));

    expect(metadata.title).toBe(title);
    expect(metadata.arxivId).toBe('2410.20771');
    expect(metadata.abstract).toBe(SAMPLE_PAPER.abstract);
  });

  it('given no Abstract heading, it should take the first paragraphs as the abstract', async () => {
    const metadata = await readPdfPaper(
      await makePaperPdf({
        title: 'Reading Only What Matters',
        authors: ['Ada Lovelace'],
        leadParagraphs: [LONG_PARAGRAPH],
      }),
    );

    expect(metadata.title).toBe('Reading Only What Matters');
    expect(metadata.abstract).toBe(LONG_PARAGRAPH);
  });

  it('given a document-information title and author, it should prefer them, but not a file name posing as a title', async () => {
    const withInfo = await readPdfPaper(
      await makePaperPdf({
        ...SAMPLE_PAPER,
        infoTitle: 'Sparse Attention Routers (camera-ready)',
        infoAuthor: 'Ada Lovelace and Alan Turing',
      }),
    );
    const withFileName = await readPdfPaper(await makePaperPdf({ ...SAMPLE_PAPER, infoTitle: 'main.dvi' }));

    expect(withInfo.title).toBe('Sparse Attention Routers (camera-ready)');
    expect(withInfo.authors).toEqual(['Ada Lovelace', 'Alan Turing']);
    expect(withFileName.title).toBe(SAMPLE_PAPER.title);
  });

  it('given a document read in full, it should extract the same metadata as from the first pages', async () => {
    const bytes = await makePaperPdf(SAMPLE_PAPER);

    expect(extractPdfPaperMetadata(await readPdf(bytes))).toEqual(await readPdfPaper(bytes));
  });
});

describe('splitAuthors', () => {
  it('given names with affiliation marks, "and" and ampersands, it should give the bare names', () => {
    expect(splitAuthors('Ada Lovelace1*, Alan M. Turing2 and Grace Hopper† & José Álvarez-Núñez')).toEqual([
      'Ada Lovelace',
      'Alan M. Turing',
      'Grace Hopper',
      'José Álvarez-Núñez',
    ]);
  });
});

describe('keepPdf', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pdf-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('given a paper id, it should keep the bytes under DATA_DIR/pdfs with a file-safe name', async () => {
    const bytes = await makePaperPdf(SAMPLE_PAPER);

    const kept = await keepPdf(dataDir, 'arxiv:cs/0601001', bytes);

    expect(kept).toBe(path.join(dataDir, 'pdfs', 'arxiv_cs_0601001.pdf'));
    expect(pdfPathFor(dataDir, 'arxiv:cs/0601001')).toBe(kept);
    expect(new Uint8Array(await readFile(kept))).toEqual(bytes);
  });
});
