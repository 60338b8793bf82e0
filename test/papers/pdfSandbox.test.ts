import { beforeAll, describe, expect, it } from 'vitest';
import { PdfReadError, readPdf } from '../../src/papers/pdf.js';
import { SandboxedPdfReader } from '../../src/papers/pdfSandbox.js';
import { decompressedStreamBytes } from '../../src/papers/pdfStreams.js';
import {
  makeBrokenXrefPdf,
  makeDecompressionBombPdf,
  makeDeeplyNestedPdf,
  makeManyPagesPdf,
} from '../helpers/hostilePdfs.js';
import { makePaperPdf, SAMPLE_PAPER } from '../../bench/support/pdfFixtures.js';

/**
 * The fuzz and abuse suite for PDFs: hostile files generated here (nothing committed), each read the way papercord
 * reads every PDF (a child process with limits), each refused with a message naming the limit or read within bounds,
 * while this process's event loop keeps turning.
 */

const MB = 1024 * 1024;
let bomb: Buffer;
let bombOnPageThree: Buffer;
let twentyThousandPages: Buffer;

beforeAll(async () => {
  bomb = await makeDecompressionBombPdf({ decompressedBytes: 256 * MB });
  bombOnPageThree = await makeDecompressionBombPdf({ decompressedBytes: 256 * MB, bombPage: 3 });
  twentyThousandPages = makeManyPagesPdf(20_000);
}, 60_000);

/** Reads through the sandbox and counts how often this thread's timers ran meanwhile. */
async function readCountingTicks(reader: SandboxedPdfReader, bytes: Uint8Array, maxPages?: number) {
  let ticks = 0;
  const ticker = setInterval(() => (ticks += 1), 10);
  try {
    const result = await reader.read(bytes, { name: 'hostile.pdf', ...(maxPages ? { maxPages } : {}) }).then(
      (document) => ({ document }),
      (error: unknown) => ({ error }),
    );
    return { ...result, ticks };
  } finally {
    clearInterval(ticker);
  }
}

function refusal(result: object): PdfReadError {
  const error = 'error' in result ? result.error : undefined;
  expect(error).toBeInstanceOf(PdfReadError);
  return error as PdfReadError;
}

describe('reading hostile PDFs in the sandbox', () => {
  it('given a decompression bomb, it should refuse it naming PDF_MAX_DECOMPRESSED_MB while this thread keeps running', async () => {
    const reader = new SandboxedPdfReader({ maxDecompressedBytes: 100 * MB });

    const result = await readCountingTicks(reader, bomb);

    const error = refusal(result);
    expect(error.problem).toBe('over_limit');
    expect(error.message).toBe(
      'hostile.pdf decompresses to more than 100 MB, the limit for one PDF (PDF_MAX_DECOMPRESSED_MB); nothing was added',
    );
    expect(result.ticks).toBeGreaterThan(0);
  });

  it('given a bomb on page 3 and a read of the first two pages only, it should still refuse it', async () => {
    const reader = new SandboxedPdfReader({ maxDecompressedBytes: 100 * MB });

    const error = refusal(await readCountingTicks(reader, bombOnPageThree, 2));

    expect(error.message).toMatch(/PDF_MAX_DECOMPRESSED_MB/);
  });

  it('given 20,000 pages, it should refuse it naming PDF_MAX_PAGES', async () => {
    const reader = new SandboxedPdfReader({ maxPages: 300 });

    const error = refusal(await readCountingTicks(reader, twentyThousandPages, 2));

    expect(error.message).toBe(
      'hostile.pdf has 20000 pages; papercord reads PDFs of up to 300 pages (PDF_MAX_PAGES); nothing was added',
    );
  });

  it('given a bomb let past the decompression budget, it should kill the reader at PDF_PARSE_MEMORY_MB', async () => {
    const reader = new SandboxedPdfReader({
      maxDecompressedBytes: 4096 * MB,
      memoryBytes: 160 * MB,
      timeoutMs: 60_000,
    });

    const result = await readCountingTicks(reader, bomb);

    expect(refusal(result).message).toBe(
      'reading hostile.pdf needed more than 160 MB of memory, the limit for one PDF (PDF_PARSE_MEMORY_MB); nothing was added',
    );
    expect(result.ticks).toBeGreaterThan(0);
  });

  it('given a read that outlasts PDF_PARSE_TIMEOUT_MS, it should kill the reader and say so', async () => {
    const reader = new SandboxedPdfReader({ maxDecompressedBytes: 4096 * MB, memoryBytes: 4096 * MB, timeoutMs: 300 });

    const error = refusal(await readCountingTicks(reader, bomb));

    expect(error.message).toBe(
      'reading hostile.pdf took longer than 0.3 s, the limit for one PDF (PDF_PARSE_TIMEOUT_MS); nothing was added',
    );
  });

  it.each([
    ['objects nested 200,000 deep', () => makeDeeplyNestedPdf(200_000)],
    ['a cross-reference table that lies', () => makeBrokenXrefPdf()],
  ])('given %s, it should refuse it as damaged or read it, within bounds', async (_label, make) => {
    const reader = new SandboxedPdfReader();

    const result = await readCountingTicks(reader, make());

    if ('error' in result) {
      expect(refusal(result).message).toMatch(/^hostile\.pdf (is damaged|could not be read)/);
    } else {
      expect(result.document.pageCount).toBe(1);
    }
  });

  it('given an ordinary paper, it should read the same text as the in-process reader', async () => {
    const bytes = await makePaperPdf(SAMPLE_PAPER);

    const sandboxed = await new SandboxedPdfReader().read(bytes, { name: 'paper.pdf' });

    expect(sandboxed).toEqual(await readPdf(bytes, { name: 'paper.pdf' }));
  });

  it('given an abort while the reader works, it should stop with the abort reason', async () => {
    const controller = new AbortController();
    const reading = new SandboxedPdfReader({ maxDecompressedBytes: 4096 * MB, timeoutMs: 60_000 }).read(bomb, {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('the user left')), 200);

    await expect(reading).rejects.toThrow('the user left');
  });
});

describe('decompressedStreamBytes', () => {
  it('given a bomb, it should stop counting just past the budget instead of inflating it all', async () => {
    const counted = await decompressedStreamBytes(bomb, 10 * MB);

    expect(counted).toBeGreaterThan(10 * MB);
    expect(counted).toBeLessThan(12 * MB);
  });

  it('given an ordinary paper, it should count its content streams well under a megabyte', async () => {
    const counted = await decompressedStreamBytes(await makePaperPdf(SAMPLE_PAPER), 200 * MB);

    expect(counted).toBeGreaterThan(100);
    expect(counted).toBeLessThan(MB);
  });
});
