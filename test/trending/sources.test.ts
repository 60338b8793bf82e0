import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArxivSource } from '../../src/papers/sources/arxiv.js';
import { fetchWithRetry, SourceError } from '../../src/papers/sources/http.js';
import { HuggingFaceSource } from '../../src/papers/sources/huggingFace.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FeedServer, FIXTURES } from './feedServer.js';

const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, attempts: 3, timeoutMs: 2_000 };

let feed: FeedServer;
beforeAll(async () => {
  feed = await FeedServer.start();
});
afterAll(async () => {
  await feed.close();
});

describe('Hugging Face daily papers', () => {
  const source = () => new HuggingFaceSource({ baseUrl: feed.baseUrl, http: FAST_RETRY });

  it('given the documented response, it should map every item to a paper keyed by its arXiv id', async () => {
    const papers = await source().fetchDay('2025-07-29');
    expect(feed.requests.at(-1)?.searchParams.get('date')).toBe('2025-07-29');
    expect(papers).toHaveLength(6);
    const coderefine = papers.find((paper) => paper.arxivId === '2507.20534')!;
    expect(coderefine).toMatchObject({
      id: 'arxiv:2507.20534',
      source: 'hf',
      url: 'https://huggingface.co/papers/2507.20534',
      upvotes: 87,
      authors: ['Mei Lin', 'Arjun Rao', 'Sofia Duarte', 'Kenji Watanabe'],
      githubRepo: 'https://github.com/example/coderefine',
      numComments: 6,
      keywords: expect.arrayContaining(['program repair']),
    });
    expect(coderefine.aiSummary).toMatch(/^CodeRefine uses unit-test execution traces/);
    expect(coderefine).not.toHaveProperty('projectPage');
  });

  it('given a hidden author, it should leave that name out', async () => {
    const papers = await source().fetchDay('2025-07-29');
    expect(papers.find((paper) => paper.arxivId === '2507.21001')!.authors).toEqual(['Oliver Grant', 'Hugo Martin']);
  });

  it('given an item without the optional fields, it should still read it', async () => {
    const survey = (await source().fetchDay('2025-07-29')).find((paper) => paper.arxivId === '2507.21345')!;
    expect(survey.title).toBe('A Survey of Reward Models for Aligning Language Models');
    expect(survey.aiSummary).toBeUndefined();
    expect(survey.keywords).toBeUndefined();
    expect(survey.numComments).toBeUndefined();
  });

  it('given null or odd optional values, it should keep the paper without them', async () => {
    const day = JSON.parse(await readFile(path.join(FIXTURES, 'hf', 'daily_papers_2025-07-29.json'), 'utf8'));
    day[0].paper.githubRepo = '';
    day[0].paper.ai_summary = null;
    day[0].thumbnail = null;
    feed.setDay('2025-07-27', JSON.stringify(day));
    const [first] = (await source().fetchDay('2025-07-27')).filter((paper) => paper.arxivId === '2507.20534');
    expect(first.title).toMatch(/^CodeRefine/);
    expect(first.githubRepo).toBeUndefined();
    expect(first.aiSummary).toBeUndefined();
    expect(first.thumbnail).toBeUndefined();
  });

  it('given a response that does not fit the schema, it should fail naming the field and return nothing', async () => {
    feed.setDay('2025-07-30', await readFile(path.join(FIXTURES, 'hf', 'daily_papers_malformed.json'), 'utf8'));
    const error = await source()
      .fetchDay('2025-07-30')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toMatch(/\[1\.paper\.upvotes\]: Expected number, received string/);
  });

  it('given a body that is not JSON, it should fail with a clear message', async () => {
    feed.setDay('2025-07-31', '<html>rate limited</html>');
    await expect(source().fetchDay('2025-07-31')).rejects.toThrow(/were not JSON/);
  });
});

describe('arXiv listing', () => {
  const source = () => new ArxivSource({ baseUrl: feed.baseUrl, category: 'cs.CL', http: FAST_RETRY });

  it('given an Atom feed, it should ask for the category newest first and parse the entries', async () => {
    const papers = await source().fetchDay('2025-07-29', { limit: 4 });
    const request = feed.requests.at(-1)!;
    expect(request.searchParams.get('search_query')).toBe('cat:cs.CL AND submittedDate:[202507220000 TO 202507292359]');
    expect(request.searchParams.get('sortBy')).toBe('submittedDate');
    expect(request.searchParams.get('sortOrder')).toBe('descending');
    expect(request.searchParams.get('max_results')).toBe('4');
    const coderefine = papers.find((paper) => paper.arxivId === '2507.20534')!;
    expect(coderefine).toMatchObject({
      id: 'arxiv:2507.20534',
      title: 'CodeRefine: Execution-Guided Repair for Large Language Model Code Generation',
      source: 'arxiv',
      url: 'https://arxiv.org/abs/2507.20534v2',
      authors: ['Mei Lin', 'Arjun Rao'],
      primaryCategory: 'cs.SE',
      publishedAt: '2025-07-28T17:59:58Z',
    });
    expect(coderefine.abstract).not.toMatch(/\n/);
    expect(papers.find((paper) => paper.arxivId === '2507.20999')!.title).toBe(
      '1e10 Tokens Later: Scaling Laws for Byte-Level Language Models',
    );
    expect(papers.find((paper) => paper.arxivId === '2507.19001')!.abstract).toContain('needles & report');
  });

  it('given a day months back, it should ask for the submissions up to that day, not the newest of today', async () => {
    await source().fetchDay('2025-03-03');
    // The week before crosses the end of February.
    expect(feed.requests.at(-1)!.searchParams.get('search_query')).toBe(
      'cat:cs.CL AND submittedDate:[202502240000 TO 202503032359]',
    );
  });

  it('given a day, it should leave out papers submitted after it', async () => {
    const papers = await source().fetchDay('2025-07-29');
    expect(papers.map((paper) => paper.arxivId)).not.toContain('2507.21410');
    expect(papers).toHaveLength(3);
  });

  it('given the same arXiv id on Hugging Face, it should be the same paper id', async () => {
    const fromArxiv = await source().fetchDay('2025-07-29');
    const fromHf = await new HuggingFaceSource({ baseUrl: feed.baseUrl }).fetchDay('2025-07-29');
    const shared = fromArxiv.map((paper) => paper.id).filter((id) => fromHf.some((paper) => paper.id === id));
    expect(shared).toEqual(['arxiv:2507.20534']);
  });

  it('given a body that is not XML, it should fail instead of returning nothing', async () => {
    feed.failNext({ status: 200, body: '<feed><entry></feed>' });
    await expect(source().fetchDay('2025-07-29')).rejects.toThrow(/not valid XML/);
  });
});

describe('fetchWithRetry', () => {
  it('given a dropped connection and a 503, it should retry and return the third answer', async () => {
    feed.failNext({ destroy: true }, { status: 503 });
    const before = feed.requests.length;
    const response = await fetchWithRetry(`${feed.baseUrl}/api/daily_papers?date=2025-07-29`, FAST_RETRY);
    expect(JSON.parse(await response.text())).toHaveLength(6);
    expect(feed.requests.length - before).toBe(3);
  });

  it('given a 429 with Retry-After, it should wait as told (capped) and retry', async () => {
    feed.failNext({ status: 429, headers: { 'retry-after': '0' } });
    const response = await fetchWithRetry(`${feed.baseUrl}/api/query`, FAST_RETRY);
    expect(response.status).toBe(200);
  });

  it('given a server that keeps failing, it should give up after the attempts with one clear line', async () => {
    feed.failNext({ status: 500 }, { status: 502 }, { status: 503 });
    await expect(fetchWithRetry(`${feed.baseUrl}/api/query`, FAST_RETRY)).rejects.toThrow(
      new SourceError(`GET ${feed.baseUrl}/api/query failed after 3 attempts: HTTP 503`),
    );
  });

  it('given a 404, it should fail at once without retrying', async () => {
    const before = feed.requests.length;
    await expect(fetchWithRetry(`${feed.baseUrl}/nothing`, FAST_RETRY)).rejects.toThrow(/HTTP 404/);
    expect(feed.requests.length - before).toBe(1);
  });

  it('given nobody listening, it should report the connection error', async () => {
    const closed = await FeedServer.start();
    const url = `${closed.baseUrl}/api/query`;
    await closed.close();
    await expect(fetchWithRetry(url, FAST_RETRY)).rejects.toThrow(/failed after 3 attempts: ECONNREFUSED/);
  });
});
