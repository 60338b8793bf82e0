import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';
import { FeedServer } from './feedServer.js';
import { tempDataDir } from './helpers.js';

let feed: FeedServer;
let data: ReturnType<typeof tempDataDir>;

beforeAll(async () => {
  feed = await FeedServer.start();
  data = tempDataDir();
});
afterAll(async () => {
  await feed.close();
  data.cleanup();
});

/** `papercord …` in-process, against the loopback feeds, offline embedder, temp DATA_DIR. */
function run(argv: string[], env: Record<string, string> = {}) {
  return runPapercord(argv, { DATA_DIR: data.dir, HF_API_BASE: feed.baseUrl, ARXIV_API_BASE: feed.baseUrl, ...env });
}

const papercord = (args: string[], env: Record<string, string> = {}) => run(['trending', ...args], env);

describe('papercord trending', () => {
  it('given the seeds offline, it should print the documented JSON digest', async () => {
    const { code, stdout } = await papercord(['--source', 'seeds', '--json', '--date', '2025-07-29']);
    expect(code).toBe(0);
    const digest = JSON.parse(stdout);
    expect(Object.keys(digest)).toEqual(['date', 'papers', 'themes']);
    expect(digest.date).toBe('2025-07-29');
    expect(digest.papers).toHaveLength(5);
    expect(Object.keys(digest.papers[0])).toEqual(['id', 'title', 'upvotes', 'url', 'tldr']);
    expect(digest.papers[0].title).toBe('FAIT: Fault-Aware Fine-Tuning for Better Code Generation');
    expect(digest.themes.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(digest.themes[0])).toEqual(['label', 'paperIds']);
  });

  it('given HF_API_BASE on a loopback server, it should list that day by upvotes, each with a TL;DR', async () => {
    const { code, stdout } = await papercord(['--source', 'hf', '--date', '2025-07-29', '--count', '6', '--json']);
    expect(code).toBe(0);
    const digest = JSON.parse(stdout);
    const upvotes = digest.papers.map((paper: { upvotes: number }) => paper.upvotes);
    expect(upvotes).toEqual([131, 131, 87, 54, 23, 9]);
    for (const paper of digest.papers) expect(paper.tldr.trim()).not.toBe('');
    expect(digest.papers[0].url).toBe('https://huggingface.co/papers/2507.20112');
  });

  it('given a fetched day, it should have added its papers to the library', async () => {
    // A library of its own: what this test searches for must come from its own fetch, whatever ran before.
    const own = tempDataDir();
    try {
      const env = { DATA_DIR: own.dir };
      expect((await run(['search', 'storyboard sketches video diffusion', '--json'], env)).stdout).not.toContain(
        'Sketch2Video',
      );
      expect((await papercord(['--source', 'hf', '--date', '2025-07-29', '--json'], env)).code).toBe(0);
      const { stdout } = await run(['search', 'storyboard sketches video diffusion', '--json'], env);
      expect(JSON.parse(stdout)[0].title).toBe('Sketch2Video: Controllable Video Diffusion from Storyboard Sketches');
    } finally {
      own.cleanup();
    }
  });

  it('given the text format, it should print the digest as a reader sees it', async () => {
    const { code, stdout } = await papercord(['--source', 'hf', '--date', '2025-07-29', '--count', '2']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Trending papers · 2025-07-29 \(hf\)\n\n1\. Frame-Consistent Diffusion Transformers/);
    expect(stdout).toContain('   TL;DR: Keyframe memory');
    expect(stdout).toMatch(/Today's themes: /);
  });

  it('given a day without papers, it should fall back to the latest day that has some', async () => {
    const { code, stdout } = await papercord(['--source', 'hf', '--date', '2025-08-01', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).date).toBe('2025-07-29');
  });

  it('given the arXiv source, it should list the newest submissions of the day', async () => {
    const { code, stdout } = await papercord(['--source', 'arxiv', '--date', '2025-07-29', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).papers.map((paper: { id: string }) => paper.id)).toEqual([
      'arxiv:2507.20534',
      'arxiv:2507.20999',
      'arxiv:2507.19001',
    ]);
  });

  it('given the feed is unreachable, it should print one clear line and exit 1', async () => {
    const gone = await FeedServer.start();
    const base = gone.baseUrl;
    await gone.close();
    const { code, stdout, stderr } = await papercord(['--source', 'hf', '--date', '2025-07-29'], { HF_API_BASE: base });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(
      new RegExp(`^papercord: GET ${base}/api/daily_papers\\?date=2025-07-29 failed after \\d attempts: ECONNREFUSED`),
    );
    expect(stderr).toContain('`--source seeds` works offline');
  }, 30_000);

  it('given a malformed feed, it should say which field is wrong and exit 1', async () => {
    feed.setDay('2025-07-20', '[{"paper":{"id":"2507.00001","title":"x"}}]');
    const { code, stderr } = await papercord(['--source', 'hf', '--date', '2025-07-20']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^papercord: Hugging Face daily papers from .* did not have the expected shape: \[0\.paper\.summary\]: Required/,
    );
  });

  it('given bad arguments, it should exit 2 with the usage', async () => {
    expect(await papercord(['--date', '2025-02-30'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--date expects a day as YYYY-MM-DD'),
    });
    expect(await papercord(['--source', 'reddit'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--source expects one of hf, arxiv, seeds'),
    });
    expect((await papercord(['--count', '0'])).code).toBe(2);
  });
});
