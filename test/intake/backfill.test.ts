import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';
import { ArxivStandIn, type ArxivRecord } from '../helpers/arxivServer.js';

/** 25 cs.CL papers from January to March 2025, two of another category, one from 2024. */
function records(): ArxivRecord[] {
  const made: ArxivRecord[] = [];
  for (let index = 0; index < 25; index += 1) {
    const month = 1 + Math.floor(index / 10);
    const day = 1 + (index % 10) * 2;
    made.push({
      id: `25${String(month).padStart(2, '0')}.${String(10000 + index)}`,
      title: `Backfilled Paper Number ${index + 1} About Language`,
      abstract: `Paper ${index + 1} studies language models from a different angle, numbered ${index + 1}.`,
      authors: ['Ada Lovelace'],
      published: `2025-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T12:00:00Z`,
    });
  }
  made.push({
    id: '2502.20001',
    title: 'A Vision Paper',
    abstract: 'Pixels.',
    authors: ['X'],
    published: '2025-02-03T00:00:00Z',
    category: 'cs.CV',
  });
  made.push({
    id: '2412.30001',
    title: 'Last Year',
    abstract: 'Old news.',
    authors: ['Y'],
    published: '2024-12-30T00:00:00Z',
  });
  return made;
}

let arxiv: ArxivStandIn;
let dataDir: string;
let env: Record<string, string>;

beforeEach(async () => {
  arxiv = await ArxivStandIn.start(records());
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-backfill-'));
  env = { DATA_DIR: dataDir, ARXIV_API_BASE: arxiv.baseUrl, ARXIV_REQUEST_INTERVAL_MS: '0' };
});
afterEach(async () => {
  await arxiv.close();
  await rm(dataDir, { recursive: true, force: true });
});

const BACKFILL = ['ingest', '--source', 'arxiv', '--category', 'cs.CL', '--from', '2025-01-01', '--to', '2025-03-31'];

describe('papercord ingest --source arxiv', () => {
  it('given three months of a category, it should page through them by submission date, month by month, and add every paper once', async () => {
    const run = await runPapercord([...BACKFILL, '--json'], env);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ new: 25, existing: 0, papers: 25, fetched: 25, resumedAfter: 0 });
    const queries = arxiv.apiRequests.map((url) => url.searchParams.get('search_query'));
    expect(queries[0]).toBe('cat:cs.CL AND submittedDate:[202501010000 TO 202501312359]');
    expect(queries).toContain('cat:cs.CL AND submittedDate:[202503010000 TO 202503312359]');
    expect(
      arxiv.apiRequests.every(
        (url) =>
          url.searchParams.get('sortBy') === 'submittedDate' && url.searchParams.get('sortOrder') === 'ascending',
      ),
    ).toBe(true);
  });

  it('given --max, it should stop after that many papers, oldest first', async () => {
    const run = await runPapercord([...BACKFILL, '--max', '12', '--json'], env);

    expect(JSON.parse(run.stdout)).toMatchObject({ new: 12, fetched: 12 });
    const stats = JSON.parse((await runPapercord(['stats', '--json'], env)).stdout) as { papers: number };
    expect(stats.papers).toBe(12);
  });

  it('given arXiv answers 503 and 429 along the way, it should retry and still fetch everything', async () => {
    arxiv.failNext({ status: 503, headers: { 'retry-after': '0' } }, { status: 429, headers: { 'retry-after': '0' } });

    const run = await runPapercord([...BACKFILL, '--json'], env);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ new: 25 });
  });

  it('given a run that failed part-way, it should resume after the last page it saved when run again with the same arguments', async () => {
    // January (10 papers) succeeds; then arXiv fails every retry of February's first page.
    const february = (url: URL) => url.searchParams.get('search_query')?.includes('202502010000') === true;
    arxiv.failMatching(
      february,
      ...Array.from({ length: 4 }, () => ({ status: 503, headers: { 'retry-after': '0' } })),
    );
    const failed = await runPapercord([...BACKFILL, '--json'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/failed after 4 attempts: HTTP 503/);
    const fetchedBefore = JSON.parse((await runPapercord(['stats', '--json'], env)).stdout) as { papers: number };
    expect(fetchedBefore.papers).toBe(10);
    const requestsBefore = arxiv.apiRequests.length;

    const resumed = await runPapercord([...BACKFILL, '--json'], env);

    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      new: 15,
      existing: 0,
      papers: 25,
      fetched: 25,
      resumedAfter: 10,
    });
    const resumedQueries = arxiv.apiRequests.slice(requestsBefore).map((url) => url.searchParams.get('search_query'));
    expect(resumedQueries.some((query) => query?.includes('202501010000'))).toBe(false);
    expect(await readdir(path.join(dataDir, 'backfill'))).toHaveLength(1);

    const requestsAtEnd = arxiv.apiRequests.length;
    const finished = await runPapercord(BACKFILL, env);
    expect(finished.stdout).toContain('25 fetched, 0 new, 0 already in the library (25 papers in total)');
    expect(finished.stderr).toContain('this backfill finished before; nothing was fetched');
    expect(arxiv.apiRequests.length).toBe(requestsAtEnd);
  });

  it('given no --from or a bad date, it should be a usage error', async () => {
    expect((await runPapercord(['ingest', '--source', 'arxiv'], env)).code).toBe(2);
    const bad = await runPapercord(['ingest', '--source', 'arxiv', '--from', '2025-02-30'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from expects a date YYYY-MM-DD (got "2025-02-30")');
  });
});
