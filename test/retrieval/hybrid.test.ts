import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { HybridRetriever } from '../../src/retrieval/hybrid.js';
import { DEFAULT_QUERY_EXPANSION } from '../../src/retrieval/hybridOptions.js';
import { LibraryRetriever } from '../../src/retrieval/langchain.js';
import type { Reranker } from '../../src/retrieval/rerank.js';

/** The seed library for real: hashing embedder, HNSW and lexical index on disk in a temp dir. */
let dataDir: string;
let embedder: PaperEmbedder;
let library: PaperLibrary;
let retriever: HybridRetriever;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-retrieval-'));
  embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), silentLogger());
  library = await PaperLibrary.open({ dataDir, embedder, logger: silentLogger() });
  await library.add(await loadPapersFromSource('seeds'));
  retriever = new HybridRetriever(library);
});

afterAll(async () => {
  await library?.close();
  await embedder?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function titles(query: string, k = 5): Promise<string[]> {
  const { hits } = await retriever.retrieve(query, { k });
  return hits.map((hit) => hit.paper.title);
}

describe('HybridRetriever over the seed library', () => {
  it.each([
    [
      'recursive transformer where a router decides how many times each token goes thru the shared layers?',
      'Mixture-of-Recursions',
    ],
    ['byt5 variant w/ a learned delete gate that shrinks the input seq inside the encoder', 'MrT5'],
    ['can a hypernet generate embeddings for any new tokenizer w/o retraining the LM?', 'Zero-Shot Tokenizer Transfer'],
    ['anything on attention sinks?', 'Active-Dormant Attention Heads'],
  ])('given the question "%s", it should rank %s first', async (question, titleStart) => {
    const [first] = await titles(question);
    expect(first).toMatch(new RegExp(`^${titleStart}`));
  });

  it.each([
    ['how is mor different from early exit', /^Mixture-of-Recursions/],
    ['mrt5 vs tokenselect, both throw away tokens right? whats the diff', /^(MrT5|TokenSelect)/],
    ['wat is the lexinvariant lm idea', /^Lexinvariant/],
  ])(
    'given a chat question that names a paper by its short name (%s), it should show that paper rather than abstain',
    async (question, title) => {
      const { hits, confidence } = await retriever.retrieve(question, { k: 5 });
      expect(confidence).not.toBe('none');
      expect(hits.map((hit) => hit.paper.title).some((found) => title.test(found))).toBe(true);
    },
  );

  it('given an off-topic question sharing only an ordinary title word with one paper ("pixels"), it should not count it as naming that paper', async () => {
    const { signals } = await retriever.retrieveExplained('ppo for playing atari games from pixels', { k: 5 });
    expect(signals.names).toEqual([]);
  });

  it('given a question in ML folklore terms ("teacher forcing"), it should find the paper that words it as a training-inference gap', async () => {
    const found = await titles('mismatch between teacher forcing and free running generation, how do ppl fix it');
    expect(found).toContain('Bridging the Training-Inference Gap in LLMs by Leveraging Self-Generated Tokens');
    const without = new HybridRetriever(library, { expansion: { ...DEFAULT_QUERY_EXPANSION, paraphrases: false } });
    const { hits } = await without.retrieve(
      'mismatch between teacher forcing and free running generation, how do ppl fix it',
      { k: 5 },
    );
    expect(hits.map((hit) => hit.paper.title)).not.toContain(
      'Bridging the Training-Inference Gap in LLMs by Leveraging Self-Generated Tokens',
    );
  });

  it.each([
    ['@everyone what is MrT5?'],
    ['hey @here can someone explain what MrT5 does'],
    ['<@123456789012345678> <#223456789012345678> MrT5 in one line?'],
  ])(
    'given a question with Discord mentions (%s), it should answer about MrT5 rather than abstain',
    async (question) => {
      const { hits, abstained } = await retriever.retrieve(question, { k: 3 });
      expect(abstained).toBe(false);
      expect(hits[0]?.paper.title).toMatch(/^MrT5/);
    },
  );

  it('given an off-topic question with @everyone, it should still abstain', async () => {
    expect(await retriever.retrieve('@everyone best recipe for sourdough bread', { k: 3 })).toMatchObject({
      hits: [],
      confidence: 'none',
      abstained: true,
    });
  });

  it('given a comparison of two papers by their short names, it should return both in the top 2', async () => {
    const top = await titles('TDPO vs T-REG whats the difference', 2);
    expect(top).toEqual(
      expect.arrayContaining([
        'Token-level Direct Preference Optimization',
        'T-REG: Preference Optimization with Token-Level Reward Regularization',
      ]),
    );
  });

  it('given a word the abstracts use in another form (multiply, multiplication), it should answer rather than abstain', async () => {
    const result = await retriever.retrieve('teaching small transformers to add and multiply numbers', { k: 3 });
    expect(result.abstained).toBe(false);
    expect(result.hits.map((hit) => hit.paper.title)).toContain('Teaching Arithmetic to Small Transformers');
  });

  it.each([
    'best way to get a crispy crust on sourdough bread at home?',
    'reinforcement learning for quadruped robot locomotion on rough terrain',
    'diffusion models for protein folding structure prediction',
    'is a verbal contract legally binding in the uk?',
  ])('given the off-topic question "%s", it should abstain with no sources', async (question) => {
    const result = await retriever.retrieve(question, { k: 5 });
    expect(result).toEqual({ hits: [], confidence: 'none', abstained: true, missing: expect.any(Array) });
  });

  it('given k, it should return at most k papers, best first', async () => {
    const { hits } = await retriever.retrieve('tokenizers for language models', { k: 3 });
    expect(hits).toHaveLength(3);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
    expect(hits[1]!.score).toBeGreaterThanOrEqual(hits[2]!.score);
  });

  it('given an aborted signal, it should reject instead of searching', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user pressed Ctrl-C'));
    await expect(retriever.retrieve('attention sinks', { signal: controller.signal })).rejects.toThrow(
      'user pressed Ctrl-C',
    );
  });

  it("given a reranker, it should return papers in the reranker's order", async () => {
    const reversing: Reranker = {
      id: 'test:reverse',
      rerank: async (_query, hits) =>
        [...hits].reverse().map((hit, index) => ({ paper: hit.paper, score: hits.length - index })),
      close: async () => undefined,
    };
    const plain = await retriever.retrieve('tokenizer transfer', { k: 3 });
    const reranked = await new HybridRetriever(library, { reranker: reversing, rerankDepth: 3 }).retrieve(
      'tokenizer transfer',
      { k: 3 },
    );
    expect(reranked.hits.map((hit) => hit.paper.id)).toEqual(plain.hits.map((hit) => hit.paper.id).reverse());
  });

  it('given an empty library, it should abstain', async () => {
    const emptyDir = await mkdtemp(path.join(tmpdir(), 'papercord-retrieval-empty-'));
    const empty = await PaperLibrary.open({ dataDir: emptyDir, embedder, logger: silentLogger() });
    try {
      expect(await new HybridRetriever(empty).retrieve('attention sinks')).toEqual({
        hits: [],
        confidence: 'none',
        abstained: true,
      });
    } finally {
      await empty.close();
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});

describe('HybridRetriever confidence', () => {
  it('given a question worded unlike its paper, it should return the closest papers graded low, the right one first', async () => {
    const result = await retriever.retrieve(
      'is there a paper where the search engine is just one big model that memorized the whole doc collection in its weights?',
      { k: 3 },
    );
    expect(result).toMatchObject({ confidence: 'low', abstained: false });
    expect(result.hits[0]!.paper.title).toMatch(/^DynamicRetriever/);
  });

  it("given a question in the papers' own terms, it should be sure (high)", async () => {
    const result = await retriever.retrieve(
      'byt5 variant w/ a learned delete gate that shrinks the input seq inside the encoder',
    );
    expect(result.confidence).toBe('high');
  });

  it.each([
    ['best recipe for sourdough bread'],
    ['git rebase vs merge which should i use'],
    ['how do i fix a leaky kitchen faucet'],
  ])('given "%s", with nothing near it, it should grade none and return no papers', async (question) => {
    expect(await retriever.retrieve(question)).toEqual({
      hits: [],
      confidence: 'none',
      abstained: true,
      missing: expect.any(Array),
    });
  });

  it('given definitions on and a lower-case abbreviation a paper defines ("climb") on a weak first pass, it should spell it out from the abstract', async () => {
    const defining = new HybridRetriever(library, { expansion: { ...DEFAULT_QUERY_EXPANSION, definitions: true } });
    const result = await defining.retrieveExplained('skill-it or climb for choosing the pretraining mix?', { k: 2 });
    expect(result.signals.expansions).toContain('climb → CLustering-based Iterative Data Mixture Bootstrapping');
    expect(result.confidence).toBe('high');
    expect(result.hits.map((hit) => hit.paper.title.split(':')[0])).toEqual(
      expect.arrayContaining([
        'CLIMB',
        'Skill-it! A Data-Driven Skills Framework for Understanding and Training Language Models',
      ]),
    );
  });

  it('given chat shorthand on a weak first pass, it should expand it and find the paper', async () => {
    const result = await retriever.retrieveExplained('tokn-level dpo?? how does it keep generations diverse', { k: 3 });
    expect(result.signals.expansions).toContain('dpo → direct preference optimization');
    expect(result.hits[0]!.paper.title).toBe('Token-level Direct Preference Optimization');
    expect(result.confidence).not.toBe('none');
  });

  it('given a library that can only answer term statistics, not list its papers, it should still grade (no scan per query)', async () => {
    const statisticsOnly = new Proxy(library, {
      get(target, property, receiver) {
        if (property === 'all')
          return () => {
            throw new Error('all() scans every paper');
          };
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await new HybridRetriever(statisticsOnly).retrieve('anything on attention sinks?', { k: 2 });
    expect(result.confidence).toBe('high');
  });

  it('given a library that searches by paper id, it should return what fusing whole papers returns, reading only the papers it keeps', async () => {
    const reads: number[] = [];
    const counting = new Proxy(library, {
      get(target, property, receiver) {
        if (property === 'getMany') return (ids: readonly string[]) => (reads.push(ids.length), target.getMany(ids));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // Without the id searches, the retriever fuses the papers both searches return (the path PostgreSQL takes).
    const wholePapers = new Proxy(library, {
      get(target, property, receiver) {
        if (property === 'lexicalMatches' || property === 'vectorMatches' || property === 'getMany') return undefined;
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const questions = [
      'How do byte-level models avoid very long sequences?',
      'plugging pictures into an llm',
      'what is dpo',
      'how long should i rest a steak after grilling',
    ];
    for (const question of questions) {
      for (const k of [3, 10, 40]) {
        reads.length = 0;
        const byId = await new HybridRetriever(counting).retrieveExplained(question, { k });
        const byPaper = await new HybridRetriever(wholePapers).retrieveExplained(question, { k });
        expect(byId).toEqual(byPaper);
        // Each pass reads the papers it keeps (k, or the 10 mined for definitions), not every candidate of both lists.
        expect(reads.length).toBeGreaterThan(0);
        expect(Math.max(...reads)).toBeLessThanOrEqual(Math.max(k, 10));
      }
    }
    // The seed library is larger than what a pass keeps, so reading every candidate would read more.
    expect(library.count()).toBeGreaterThan(40);
  });
});

describe('LibraryRetriever (LangChain)', () => {
  it('given a question, it should return Documents numbered for citation with id, title, url and score', async () => {
    const documents = await new LibraryRetriever({ retriever, k: 2 }).invoke('anything on attention sinks?');

    expect(documents).toHaveLength(2);
    expect(documents.map((document) => document.metadata.n)).toEqual([1, 2]);
    expect(documents[0]!.metadata).toMatchObject({ title: expect.stringMatching(/^Active-Dormant Attention Heads/) });
    expect(documents[0]!.metadata.id).toBe(
      library.all().find((paper) => paper.title === documents[0]!.metadata.title)!.id,
    );
    expect(documents[0]!.pageContent).toContain('attention sink');
    expect(typeof documents[0]!.metadata.score).toBe('number');
  });

  it('given an off-topic question, it should return no documents', async () => {
    expect(await new LibraryRetriever({ retriever }).invoke('how long should i rest a steak after grilling')).toEqual(
      [],
    );
  });
});
