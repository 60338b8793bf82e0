import { createDeflate } from 'node:zlib';

/**
 * Hostile PDFs, written byte by byte so that each carries exactly the trap it is named after (a PDF library would
 * repair or refuse to write most of them). Generated in the tests, never committed: a decompression bomb is small
 * on disk, and the 20,000-page file takes a moment to build.
 */

/** A body object: its dictionary (or any PDF value), and the bytes of its stream when it has one. */
interface PdfObject {
  value: string;
  stream?: Uint8Array;
}

const TEXT_FONT = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';

/** One text line per call, as a producer writes them: enough words for the intake to see a title and an abstract. */
export const PAPER_PAGE_TEXT =
  'BT /F1 18 Tf 72 720 Td (A Perfectly Ordinary Looking Paper Title) Tj ET\n' +
  'BT /F1 12 Tf 72 680 Td (Abstract) Tj ET\n' +
  'BT /F1 10 Tf 72 660 Td (This abstract looks like any other one and hides nothing at all on its first page.) Tj ET\n';

/** Objects 1..n in order, the catalog first; the cross-reference table is computed unless `xref` replaces it. */
export function writePdf(
  objects: readonly PdfObject[],
  options: { xref?: (offsets: number[]) => string } = {},
): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xE2\xE3\xCF\xD3\n', 'latin1')];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(length);
    const chunks = object.stream
      ? [
          Buffer.from(`${index + 1} 0 obj\n${object.value}\nstream\n`, 'latin1'),
          Buffer.from(object.stream),
          Buffer.from('\nendstream\nendobj\n', 'latin1'),
        ]
      : [Buffer.from(`${index + 1} 0 obj\n${object.value}\nendobj\n`, 'latin1')];
    for (const chunk of chunks) {
      parts.push(chunk);
      length += chunk.length;
    }
  });
  const xrefOffset = length;
  const xref =
    options.xref?.(offsets) ??
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
      offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('') +
      `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\n`;
  parts.push(Buffer.from(`${xref}startxref\n${xrefOffset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** Deflates `size` bytes of spaces (whitespace to a content-stream parser) without holding them in memory. */
async function deflatedSpaces(size: number): Promise<Uint8Array> {
  const deflate = createDeflate({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const block = Buffer.alloc(Math.min(size, 1 << 22), 0x20);
  for (let written = 0; written < size; written += block.length) {
    const part = written + block.length <= size ? block : block.subarray(0, size - written);
    if (!deflate.write(part)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return Buffer.concat(chunks);
}

/** A page tree of `pageStreams.length` pages, each drawing its own content stream (streams may repeat by reference). */
function pagedDocument(pageCount: number, contents: PdfObject[], contentOf: (page: number) => number): PdfObject[] {
  // 1 catalog, 2 pages root, 3 font, 4.. contents, then the pages.
  const firstPage = 4 + contents.length;
  const kids = Array.from({ length: pageCount }, (_, index) => `${firstPage + index} 0 R`).join(' ');
  return [
    { value: '<< /Type /Catalog /Pages 2 0 R >>' },
    { value: `<< /Type /Pages /Count ${pageCount} /Kids [${kids}] >>` },
    { value: TEXT_FONT },
    ...contents,
    ...Array.from({ length: pageCount }, (_, index) => ({
      value: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${4 + contentOf(index + 1)} 0 R >>`,
    })),
  ];
}

/**
 * A decompression bomb: an ordinary first page, and on `bombPage` one Flate stream of `decompressedBytes` of
 * whitespace (1 GiB deflates to about 1 MB).
 */
export async function makeDecompressionBombPdf(
  options: { decompressedBytes?: number; bombPage?: number; pages?: number } = {},
): Promise<Buffer> {
  const { decompressedBytes = 1 << 30, bombPage = 1, pages = Math.max(bombPage, 1) } = options;
  const bomb = await deflatedSpaces(decompressedBytes);
  const contents: PdfObject[] = [
    { value: `<< /Length ${PAPER_PAGE_TEXT.length} >>`, stream: Buffer.from(PAPER_PAGE_TEXT, 'latin1') },
    { value: `<< /Length ${bomb.length} /Filter /FlateDecode >>`, stream: bomb },
  ];
  return writePdf(pagedDocument(pages, contents, (page) => (page === bombPage ? 1 : 0)));
}

/** `pageCount` pages (20,000 in the abuse suite) sharing one small content stream. */
export function makeManyPagesPdf(pageCount: number): Buffer {
  const contents: PdfObject[] = [
    { value: `<< /Length ${PAPER_PAGE_TEXT.length} >>`, stream: Buffer.from(PAPER_PAGE_TEXT, 'latin1') },
  ];
  return writePdf(pagedDocument(pageCount, contents, () => 0));
}

/** Arrays nested `depth` deep in the page's resources: a recursive parser runs out of stack on it. */
export function makeDeeplyNestedPdf(depth = 200_000): Buffer {
  const nested = '['.repeat(depth) + ']'.repeat(depth);
  const objects: PdfObject[] = [
    { value: '<< /Type /Catalog /Pages 2 0 R >>' },
    { value: '<< /Type /Pages /Count 1 /Kids [5 0 R] >>' },
    { value: TEXT_FONT },
    { value: `<< /Length ${PAPER_PAGE_TEXT.length} >>`, stream: Buffer.from(PAPER_PAGE_TEXT, 'latin1') },
    {
      value: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> /Deep ${nested} >> /Contents 4 0 R >>`,
    },
  ];
  return writePdf(objects);
}

/**
 * A cross-reference table that lies: offsets into nowhere, a section claiming hundreds of millions of entries, and a
 * trailer whose /Size and /Root are out of range, so a reader has to rebuild the table by scanning the file.
 */
export function makeBrokenXrefPdf(): Buffer {
  const objects = pagedDocument(
    1,
    [{ value: `<< /Length ${PAPER_PAGE_TEXT.length} >>`, stream: Buffer.from(PAPER_PAGE_TEXT, 'latin1') }],
    () => 0,
  );
  return writePdf(objects, {
    xref: (offsets) =>
      `xref\n0 400000000\n0000000000 65535 f \n` +
      offsets.map((offset) => `${String(offset * 7 + 13).padStart(10, '0')} 00000 n \n`).join('') +
      `trailer\n<< /Size 2147483647 /Root 99999 0 R /Prev 123456789 >>\n`,
  });
}
