import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { ArxivPacer } from '../../src/papers/sources/arxivPacing.js';
import { LibraryWorkerPool } from '../../src/workers/workerPool.js';
import { ArxivStandIn, closedPortUrl, SAMPLE_RECORDS } from '../helpers/arxivServer.js';

const INTERVAL_MS = 600;

let arxiv: ArxivStandIn;
let dataDir: string;

beforeAll(async () => {
  arxiv = await ArxivStandIn.start(SAMPLE_RECORDS);
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pacing-'));
});
afterAll(async () => {
  await arxiv.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("arXiv's request spacing", () => {
  it('given two worker threads adding papers at once, it should space their arXiv requests for the whole process', async () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      LOG_LEVEL: 'silent',
      FULL_TEXT: 'off',
      ARXIV_API_BASE: arxiv.baseUrl,
      HF_API_BASE: await closedPortUrl(),
      ARXIV_REQUEST_INTERVAL_MS: String(INTERVAL_MS),
    });
    // One task per thread: the two adds surely run on different threads.
    const pool = await LibraryWorkerPool.open({ config, logger: silentLogger(), threads: 2, tasksPerThread: 1 });
    try {
      const ids = ['2410.20771', '2507.10524', 'cs/0601001'];
      const outcomes = await Promise.all(ids.map((input) => pool.addPapers([{ kind: 'reference', input }])));

      expect(outcomes.flat().map((outcome) => outcome.status)).toEqual(['added', 'added', 'added']);
      const times = [...arxiv.apiRequestTimes].sort((a, b) => a - b);
      expect(times).toHaveLength(3);
      for (let index = 1; index < times.length; index += 1) {
        // Starts are spaced by the interval; arrivals here also carry each request's own latency, hence half of it.
        // Paced per thread, two of these requests would arrive together.
        expect(times[index]! - times[index - 1]!).toBeGreaterThanOrEqual(INTERVAL_MS / 2);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('ArxivPacer', () => {
  it('given reservations from two pacers on one buffer, it should hand out starts an interval apart', () => {
    const first = new ArxivPacer();
    const second = new ArxivPacer(first.buffer);

    expect(first.reserve(3000, 1_000_000)).toBe(0);
    expect(second.reserve(3000, 1_000_000)).toBe(3000);
    expect(first.reserve(3000, 1_001_000)).toBe(5000);
    expect(second.reserve(3000, 1_100_000)).toBe(0);
  });

  it('given a request that could not wait, later reservations should keep their distance from it', () => {
    const pacer = new ArxivPacer();

    pacer.mark(1_000_000);

    expect(pacer.reserve(3000, 1_001_000)).toBe(2000);
  });
});
