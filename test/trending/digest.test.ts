import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { silentLogger } from '../../src/logger.js';
import type { Paper } from '../../src/papers/paper.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { parseHfDailyPapers } from '../../src/papers/sources/huggingFace.js';
import { buildDigest, keySentenceSummary, rankPapers } from '../../src/trending/digest.js';
import { formatDigestEmbed, formatDigestText } from '../../src/trending/format.js';
import { FIXTURES } from './feedServer.js';

let embedder: PaperEmbedder;
let day: Paper[];
const keySentence = async (paper: Paper) => keySentenceSummary(paper);

beforeAll(async () => {
  embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), silentLogger());
  const body = JSON.parse(await readFile(path.join(FIXTURES, 'hf', 'daily_papers_2025-07-29.json'), 'utf8'));
  day = parseHfDailyPapers(body, 'fixture');
});

describe('buildDigest', () => {
  it('given a day of papers, it should list the top N by upvotes with recency breaking ties', async () => {
    const digest = await buildDigest({ date: '2025-07-29', papers: day, count: 3, embedder, summarize: keySentence });
    expect(digest.papers.map((paper) => [paper.title.split(':')[0], paper.upvotes])).toEqual([
      // Both have 131 upvotes; the newer one comes first.
      ['Frame-Consistent Diffusion Transformers for Long Video Generation', 131],
      ['Sketch2Video', 131],
      ['CodeRefine', 87],
    ]);
    expect(digest.papers[2]).toMatchObject({
      id: 'arxiv:2507.20534',
      url: 'https://huggingface.co/papers/2507.20534',
      authors: ['Mei Lin', 'Arjun Rao', 'Sofia Duarte', 'Kenji Watanabe'],
    });
  });

  it('given a request that leaves count and topics unset (as /trending now does), it should use the defaults', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      count: undefined,
      topics: undefined,
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers).toHaveLength(Math.min(5, day.length));
  });

  it('given no AI summary, it should use the key sentence of the abstract as the TL;DR', async () => {
    const digest = await buildDigest({ date: '2025-07-29', papers: day, count: 6, embedder, summarize: keySentence });
    for (const paper of digest.papers) expect(paper.tldr.length).toBeGreaterThan(20);
    const survey = digest.papers.find((paper) => paper.id === 'arxiv:2507.21345')!;
    expect(survey.tldr).toBe(
      'This survey organizes reward modeling methods into outcome, process and generative reward models, reviews how they are trained and evaluated, and discusses reward hacking and over-optimization.',
    );
  });

  it('given a summarizer that fails, it should fall back to the key sentence instead of losing the post', async () => {
    const failing = async () => {
      throw new Error('LLM timed out');
    };
    const digest = await buildDigest({ date: '2025-07-29', papers: day, count: 2, embedder, summarize: failing });
    expect(digest.papers[0].tldr).toMatch(/^Keyframe memory/);
  });

  it('given an LLM summarizer, it should use its TL;DR, clipped to two lines', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      count: 1,
      embedder,
      summarize: async (paper) => `${paper.title} in one sentence. `.repeat(20),
    });
    expect(digest.papers[0].tldr.length).toBeLessThanOrEqual(240);
    expect(digest.papers[0].tldr.endsWith('…')).toBe(true);
  });

  it('given a keyword topic, it should keep only the papers that mention it', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      topics: ['unit tests'],
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers.map((paper) => paper.id).sort()).toEqual(['arxiv:2507.20534', 'arxiv:2507.21001']);
  });

  it('given a topic with an exclusion, it should leave out the papers that mention the excluded word', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      topics: ['unit tests'],
      exclude: ['CodeRefine'],
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers.map((paper) => paper.id)).toEqual(['arxiv:2507.21001']);
  });

  it('given a short topic such as "GAN", it should not keep papers where it is only part of a word ("organizes")', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      topics: ['GAN'],
      topicSimilarity: 2,
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers).toEqual([]);
  });

  it('given a topic in the singular, it should keep the papers that mention it in the plural', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      topics: ['unit test'],
      topicSimilarity: 2,
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers.map((paper) => paper.id).sort()).toEqual(['arxiv:2507.20534', 'arxiv:2507.21001']);
  });

  it('given a topic no paper mentions, it should match by embedding similarity alone', async () => {
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: day,
      topics: ['diffusion video generation temporal consistency'],
      topicSimilarity: 0.2,
      embedder,
      summarize: keySentence,
    });
    expect(digest.papers.map((paper) => paper.id).sort()).toEqual(['arxiv:2507.19876', 'arxiv:2507.20112']);
  });

  it('given the day, it should group it into labelled themes that separate video from code papers', async () => {
    const digest = await buildDigest({ date: '2025-07-29', papers: day, embedder, summarize: keySentence });
    expect(digest.themes.length).toBeGreaterThanOrEqual(2);
    expect(digest.themes.length).toBeLessThanOrEqual(4);
    const themeOf = (id: string) => digest.themes.find((theme) => theme.paperIds.includes(id))!;
    expect(themeOf('arxiv:2507.19876')).toBe(themeOf('arxiv:2507.20112'));
    expect(themeOf('arxiv:2507.20534')).toBe(themeOf('arxiv:2507.21001'));
    expect(themeOf('arxiv:2507.19876')).not.toBe(themeOf('arxiv:2507.20534'));
    expect(themeOf('arxiv:2507.19876').label).toMatch(/video/);
    expect(new Set(digest.themes.map((theme) => theme.label)).size).toBe(digest.themes.length);
    expect(digest.themes.flatMap((theme) => theme.paperIds).sort()).toEqual(day.map((paper) => paper.id).sort());
  });

  it('given the seed library, it should keep the page order and still find 2 to 4 themes', async () => {
    const seeds = await loadPapersFromSource('seeds');
    const digest = await buildDigest({ date: '2025-07-29', papers: seeds, embedder, summarize: keySentence });
    expect(digest.papers.map((paper) => paper.title)).toEqual(seeds.slice(0, 5).map((paper) => paper.title));
    expect(digest.papers.every((paper) => paper.upvotes === null)).toBe(true);
    expect(digest.themes.length).toBeGreaterThanOrEqual(2);
    expect(digest.themes.length).toBeLessThanOrEqual(4);
  });

  it('given fewer than four papers, it should not invent themes', async () => {
    const digest = await buildDigest({ date: '2025-07-29', papers: day.slice(0, 3), embedder, summarize: keySentence });
    expect(digest.themes).toEqual([]);
    expect(rankPapers([])).toEqual([]);
  });
});

describe('digest formatting', () => {
  it('given a digest, it should render text and an embed with links, votes, short authors and the themes', async () => {
    const digest = await buildDigest({ date: '2025-07-29', papers: day, embedder, summarize: keySentence });
    const text = formatDigestText(digest, 'hf');
    expect(text).toMatch(/^Trending papers · 2025-07-29 \(hf\)/);
    expect(text).toContain('▲ 131 · Ana Costa, Wei Zhang, Lukas Becker et al.');
    expect(text).toMatch(/Today's themes: .*video/);
    const embed = formatDigestEmbed(digest, 'papercord trending · pc1d20250729');
    expect(embed.description).toContain(
      '**3. [CodeRefine: Execution-Guided Repair for Large Language Model Code Generation](https://huggingface.co/papers/2507.20534)**',
    );
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.fields[0].name).toBe("Today's themes");
    expect(embed.footer.text).toContain('pc1d20250729');
  });

  it('given markdown and a mention in a title, it should show them as text', async () => {
    const [paper] = day;
    const digest = await buildDigest({
      date: '2025-07-29',
      papers: [{ ...paper, title: '**Bold** [claim](https://evil.example) @everyone' }],
      embedder,
      summarize: keySentence,
    });
    const embed = formatDigestEmbed(digest, 'x');
    expect(embed.description).toContain('\\*\\*Bold\\*\\* \\[claim\\]\\(https://evil.example\\) \\@everyone');
  });
});
