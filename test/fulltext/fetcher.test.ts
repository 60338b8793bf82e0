import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArxivFullTextFetcher, FullTextUnavailableError } from '../../src/fulltext/fetcher.js';
import { ArxivServer, fixturePapers } from '../../bench/support/arxivServer.js';
import { makePaperPdf } from '../../bench/support/pdfFixtures.js';
import { pdfToDocument } from '../../src/fulltext/pdfDocument.js';
import { readPdf } from '../../src/papers/pdf.js';

let arxiv: ArxivServer;

beforeEach(async () => {
  arxiv = await ArxivServer.start(fixturePapers());
});

afterEach(async () => {
  await arxiv.close();
});

function fetcher(options: { maxBytes?: number } = {}) {
  return new ArxivFullTextFetcher({ htmlBase: arxiv.htmlBase, pdfBase: arxiv.pdfBase, ...options });
}

describe('fetching full text from arXiv', () => {
  it('given a page larger than papercord accepts, it should refuse it as too large, not retry it', async () => {
    const error = await fetcher({ maxBytes: 2000 })
      .fetch('2502.11001')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FullTextUnavailableError);
    expect(error).toMatchObject({ message: expect.stringContaining('too large'), retryable: false });
  });

  it('given a redirect to another host, it should refuse it without sending that host anything', async () => {
    const elsewhereRequests: string[] = [];
    const elsewhere = createServer((request, response) => {
      elsewhereRequests.push(request.url ?? '');
      response.end('<html><body>not arXiv</body></html>');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
    const { port } = elsewhere.address() as AddressInfo;
    try {
      arxiv.script('/html/2502.11001', {
        status: 302,
        headers: { location: `http://127.0.0.2:${port}/html/2502.11002` },
      });

      const error = await fetcher()
        .fetch('2502.11001')
        .catch((caught: unknown) => caught);

      expect(error).toMatchObject({
        message: `arXiv redirected to another host (127.0.0.2:${port}); not followed`,
        retryable: false,
      });
      expect(elsewhereRequests).toEqual([]);
    } finally {
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });

  it('given a redirect on the same host, it should follow it to the paper', async () => {
    arxiv.script('/html/2502.11001', { status: 301, headers: { location: '/html/2502.11001v2' } });

    const fetched = await fetcher().fetch('2502.11001');

    expect(fetched.document.title).toMatch(/^SMA-ASR/);
  });

  it('given an HTML page nested thousands of levels deep, it should take it for no LaTeXML page and read the PDF', async () => {
    const [paper] = fixturePapers();
    const deep = '<div>'.repeat(20_000) + 'x' + '</div>'.repeat(20_000);
    arxiv.addPaper(paper!, { html: `<html><body><article class="ltx_document">${deep}</article></body></html>` });
    arxiv.setPdf(
      paper!.arxivId,
      await makePaperPdf({
        title: paper!.title,
        abstract: paper!.abstract,
        sections: [{ heading: '1 Introduction', paragraphs: ['The PDF body was read after the HTML failed.'] }],
      }),
    );

    const fetched = await new ArxivFullTextFetcher({
      htmlBase: arxiv.htmlBase,
      pdfBase: arxiv.pdfBase,
      readPdf: async (bytes) => pdfToDocument(await readPdf(bytes)),
    }).fetch(paper!.arxivId);

    expect(fetched.url).toBe(`${arxiv.pdfBase}/${paper!.arxivId}`);
    expect(fetched.document.source).toBe('pdf');
  });

  it('given a 503, it should report it as a problem that may pass', async () => {
    arxiv.script('/html/2502.11001', { status: 503 });
    const error = await fetcher()
      .fetch('2502.11001')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ message: 'arXiv answered HTTP 503', retryable: true });
  });

  it('given an id with a version, it should ask for that version', async () => {
    const fetched = await fetcher().fetch('2502.11001v2');
    expect(fetched.url).toBe(`${arxiv.htmlBase}/2502.11001v2`);
    expect(fetched.document.title).toMatch(/^SMA-ASR/);
  });
});
