import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexedFollowMatcher } from '../../src/feed/matcher.js';
import type { Follow } from '../../src/feed/types.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import { countingEmbedder, temporaryDirectory } from '../library/support.js';

function paper(title: string, abstract: string, extra: Partial<Paper> = {}): Paper {
  return { id: paperId({ title }), title, abstract, source: 'test', ...extra };
}

const ROUTING = paper(
  'Token routing in sparse mixture of experts for video diffusion',
  'We study how a learned router assigns each token to experts in a sparse mixture of experts. ' +
    'Routing with expert capacity limits keeps the load balanced across experts. ' +
    'We apply the sparse mixture of experts to video diffusion models and halve training cost.',
  { authors: ['Léna Fischer', 'Jian Smith'], primaryCategory: 'cs.CV' },
);
const PROTEINS = paper(
  'Protein language models learn contact maps without supervision',
  'A protein language model trained on amino acid sequences predicts residue contact maps. ' +
    'Attention heads of the protein language model align with three-dimensional structure.',
  { authors: ['Fischer, Lukas'], primaryCategory: 'q-bio.BM' },
);
const ROUTING_AGAIN = paper(
  'Expert choice routing for sparse mixture of experts in video diffusion',
  'A router lets each expert choose its tokens in a sparse mixture of experts, keeping the load balanced across experts. ' +
    'Applied to video diffusion models, expert choice routing halves training cost.',
  { authors: ['Ada Lovelace'], primaryCategory: 'cs.LG' },
);

let dataDir: Awaited<ReturnType<typeof temporaryDirectory>>;
let library: PaperLibrary;

beforeAll(async () => {
  dataDir = await temporaryDirectory('papercord-feed-');
  library = await PaperLibrary.open({ dataDir: dataDir.path, embedder: countingEmbedder(), logger: silentLogger() });
  await library.add(await loadPapersFromSource('seeds'));
  await library.add([ROUTING, PROTEINS]);
});

afterAll(async () => {
  await library.close();
  await dataDir.remove();
});

async function matchesOf(follows: Follow[], papers: Paper[]) {
  const matcher = new IndexedFollowMatcher({ library, embedder: library.embedder });
  await matcher.add(follows);
  return matcher.match(papers);
}

const matched = (matches: { followId: string; paperId: string }[]) =>
  matches
    .map(
      (match) =>
        `${match.followId}:${match.paperId === ROUTING.id ? 'routing' : match.paperId === PROTEINS.id ? 'proteins' : match.paperId}`,
    )
    .sort();

describe('IndexedFollowMatcher', () => {
  it('given topic follows, it should match the paper on that topic and nothing else', async () => {
    const matches = await matchesOf(
      [
        { id: 'moe', userId: 'u1', kind: 'topic', text: 'sparse mixture of experts routing', exclude: [] },
        { id: 'plm', userId: 'u2', kind: 'topic', text: 'protein language models', exclude: [] },
        { id: 'off', userId: 'u3', kind: 'topic', text: 'robot grasping with tactile sensors', exclude: [] },
      ],
      [ROUTING, PROTEINS],
    );
    expect(matched(matches)).toEqual(['moe:routing', 'plm:proteins']);
    expect(matches.find((match) => match.followId === 'moe')?.why).toBe(
      'follows topic "sparse mixture of experts routing"',
    );
  });

  it('given an excluded word or phrase, it should never match a paper containing it', async () => {
    const matches = await matchesOf(
      [
        { id: 'no-video', userId: 'u1', kind: 'topic', text: 'mixture of experts routing', exclude: ['video'] },
        {
          id: 'no-phrase',
          userId: 'u1',
          kind: 'topic',
          text: 'mixture of experts routing',
          exclude: ['Video Diffusion'],
        },
        {
          id: 'other-phrase',
          userId: 'u1',
          kind: 'topic',
          text: 'mixture of experts routing',
          exclude: ['diffusion video'],
        },
      ],
      [ROUTING],
    );
    expect(matched(matches)).toEqual(['other-phrase:routing']);
  });

  it('given author follows written in other forms, it should match that author only, by the name on the paper', async () => {
    const matches = await matchesOf(
      [
        { id: 'lena', userId: 'u1', kind: 'author', name: 'Fischer, Lena' },
        { id: 'initial', userId: 'u2', kind: 'author', name: 'L. Fischer' },
        { id: 'newcomer', userId: 'u3', kind: 'author', name: 'Maria Newcomer' },
      ],
      [ROUTING, PROTEINS],
    );
    expect(matched(matches)).toEqual(['initial:proteins', 'initial:routing', 'lena:routing']);
    expect(matches.find((match) => match.followId === 'lena')?.why).toBe('by Léna Fischer');
  });

  it('given category follows, it should match the papers whose primary category it is', async () => {
    const matches = await matchesOf(
      [
        { id: 'cv', userId: 'u1', kind: 'category', code: 'cs.cv' },
        { id: 'cl', userId: 'u2', kind: 'category', code: 'cs.CL' },
      ],
      [ROUTING, PROTEINS],
    );
    expect(matched(matches)).toEqual(['cv:routing']);
    expect(matches[0]?.why).toBe('in cs.CV (Computer Vision and Pattern Recognition)');
  });

  it('given a followed paper, it should match a new paper like it and not an unrelated one', async () => {
    await library.add([ROUTING_AGAIN]);
    const matches = await matchesOf(
      [{ id: 'like', userId: 'u1', kind: 'paper', paperId: ROUTING.id, title: ROUTING.title }],
      [ROUTING_AGAIN, PROTEINS, ROUTING],
    );
    expect(matches.map((match) => match.paperId)).toEqual([ROUTING_AGAIN.id]);
    expect(matches[0]?.why).toBe(`like *${ROUTING.title}*`);
  });

  it('given a watched question, it should match the paper that answers it and say how, in one of its sentences', async () => {
    const matches = await matchesOf(
      [
        {
          id: 'q',
          userId: 'u1',
          kind: 'question',
          text: 'How does the router assign tokens to experts in a sparse mixture of experts?',
        },
        {
          id: 'q-off',
          userId: 'u2',
          kind: 'question',
          text: 'Which reward models reduce hallucination in code generation?',
        },
      ],
      [ROUTING, PROTEINS],
    );
    expect(matched(matches)).toEqual(['q:routing']);
    expect(matches[0]?.why).toBe(
      'on "How does the router assign tokens to experts in a sparse mixture of experts?": We study how a learned router assigns each token to experts in a sparse mixture of experts.',
    );
  });

  it('given a removed follow, it should match it no more', async () => {
    const matcher = new IndexedFollowMatcher({ library, embedder: library.embedder });
    await matcher.add([
      { id: 'moe', userId: 'u1', kind: 'topic', text: 'sparse mixture of experts routing', exclude: [] },
      { id: 'lena', userId: 'u1', kind: 'author', name: 'Lena Fischer' },
      { id: 'cv', userId: 'u1', kind: 'category', code: 'cs.CV' },
    ]);
    expect((await matcher.match([ROUTING])).length).toBe(3);
    for (const id of ['moe', 'lena', 'cv']) matcher.remove(id);
    expect(matcher.size).toBe(0);
    expect(await matcher.match([ROUTING])).toEqual([]);
  });
});
