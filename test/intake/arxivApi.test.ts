import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArxivPacer } from '../../src/papers/sources/arxivPacing.js';
import { pdfAttachmentItems } from '../../src/discord/paperIntake.js';
import { ArxivApi } from '../../src/papers/sources/arxivApi.js';
import { ArxivStandIn, SAMPLE_RECORDS } from '../helpers/arxivServer.js';

let arxiv: ArxivStandIn;
beforeAll(async () => {
  arxiv = await ArxivStandIn.start(SAMPLE_RECORDS);
});
afterAll(async () => {
  await arxiv.close();
});

describe('ArxivApi', () => {
  it('given two requests in a row, it should wait out the rest of the 3 s interval before the second (as arXiv asks), and not before the first', async () => {
    const waits: number[] = [];
    const api = new ArxivApi({
      baseUrl: arxiv.baseUrl,
      intervalMs: 3_000,
      sleep: async (ms) => void waits.push(ms),
      pacer: new ArxivPacer(),
    });

    await api.lookup(['2410.20771']);
    await api.lookup(['2507.10524']);

    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(3_000);
  });

  it('given more ids than a batch holds, it should ask in batches and find each', async () => {
    const api = new ArxivApi({ baseUrl: arxiv.baseUrl, intervalMs: 0, batchSize: 2 });
    const before = arxiv.apiRequests.length;

    const found = await api.lookup(['2410.20771', '2507.10524', 'cs/0601001', '2401.99999']);

    expect([...found.keys()].sort()).toEqual(['2410.20771', '2507.10524', 'cs/0601001']);
    expect(arxiv.apiRequests.length - before).toBe(2);
  });
});

describe('pdfAttachmentItems', () => {
  it('given a PDF attachment over 25 MB and a picture, it should refuse the PDF without downloading it and ignore the picture', async () => {
    const items = await pdfAttachmentItems(
      [
        {
          name: 'huge.pdf',
          contentType: 'application/pdf',
          size: 30 * 1024 * 1024,
          url: `${arxiv.baseUrl}/never-fetched.pdf`,
        },
        { name: 'figure.png', contentType: 'image/png', size: 1000, url: `${arxiv.baseUrl}/figure.png` },
      ],
      { hosts: ['127.0.0.1'], maxBytes: 25 * 1024 * 1024 },
    );

    expect(items).toEqual([
      {
        input: 'huge.pdf',
        id: null,
        title: null,
        status: 'error',
        message: 'huge.pdf is 30.0 MB; papercord reads PDFs up to 25 MB (PDF_MAX_BYTES); nothing was added',
      },
    ]);
    expect(arxiv.requests.some((url) => url.pathname.endsWith('.pdf') || url.pathname.endsWith('.png'))).toBe(false);
  });
});
