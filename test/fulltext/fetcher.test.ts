import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArxivFullTextFetcher, FullTextUnavailableError } from '../../src/fulltext/fetcher.js';
import { ArxivServer, fixturePapers } from '../../bench/support/arxivServer.js';

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

  it('given a redirect to another host, it should not follow it into the paper', async () => {
    const elsewhere = arxiv.baseUrl.replace('127.0.0.1', 'localhost');
    arxiv.script('/html/2502.11001', { status: 302, headers: { location: `${elsewhere}/html/2502.11002` } });
    const error = await fetcher()
      .fetch('2502.11001')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ message: expect.stringContaining('redirected to another host'), retryable: false });
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
