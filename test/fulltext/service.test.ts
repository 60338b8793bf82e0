import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { ArxivFullTextFetcher } from '../../src/fulltext/fetcher.js';
import { FullTextService } from '../../src/fulltext/service.js';
import { FullTextStore } from '../../src/fulltext/store.js';
import { silentLogger } from '../../src/logger.js';
import { createServices } from '../../src/services.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import { ArxivServer, fixturePapers, type FixturePaper } from '../../bench/support/arxivServer.js';

function asPaper(fixture: FixturePaper): Paper {
  return {
    id: paperId(fixture),
    arxivId: fixture.arxivId,
    title: fixture.title,
    abstract: fixture.abstract,
    source: 'test',
  };
}

let embedder: PaperEmbedder;
let arxiv: ArxivServer;
let dir: string;

beforeAll(async () => {
  embedder = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), silentLogger());
});

afterAll(async () => {
  await embedder?.close();
});

beforeEach(async () => {
  arxiv = await ArxivServer.start(fixturePapers());
  dir = await mkdtemp(path.join(tmpdir(), 'papercord-fulltext-service-'));
});

afterEach(async () => {
  await arxiv.close();
  await rm(dir, { recursive: true, force: true });
});

function service(store: FullTextStore, options: { spacingMs?: number } = {}): FullTextService {
  return new FullTextService({
    config: { FULL_TEXT: 'on', FULL_TEXT_TIMEOUT_MS: 5000 },
    embedder,
    store,
    fetcher: new ArxivFullTextFetcher({
      htmlBase: arxiv.htmlBase,
      pdfBase: arxiv.pdfBase,
      spacingMs: options.spacingMs ?? 1,
    }),
  });
}

describe('the full-text service', () => {
  it('given papers queued in the background, it should fetch each once, one request at a time', async () => {
    const store = FullTextStore.open(dir);
    const fullText = service(store);
    arxiv.responseDelayMs = 30;
    const papers = fixturePapers().map(asPaper);
    fullText.enqueue([...papers, ...papers]);
    fullText.start();
    // A question about one of them meanwhile shares the queue's one-at-a-time gate.
    const asked = await fullText.ensure(papers[4]!);
    await fullText.idle();
    expect(asked).toEqual({ state: 'ready', source: 'html' });
    expect(arxiv.maxConcurrent).toBe(1);
    expect(arxiv.requests.filter((request) => request.startsWith('/html/')).sort()).toEqual(
      papers.map((paper) => `/html/${paper.arxivId}`).sort(),
    );
    expect(store.counts().papers).toBe(5);
    await fullText.close();
    store.close();
  });

  it('given a question over two candidate papers, it should rank only their passages and leave out words naming a paper', async () => {
    const store = FullTextStore.open(dir);
    const fullText = service(store);
    const [sma, curdist, rowprune] = fixturePapers().map(asPaper);
    for (const paper of [sma!, curdist!, rowprune!]) expect((await fullText.ensure(paper)).state).toBe('ready');
    const ranked = await fullText.passages('What learning rate did SMA-ASR use for training?', [
      { paper: sma!, score: 1 },
      { paper: curdist!, score: 0.4 },
    ]);
    expect(ranked.map((entry) => entry.paper.id)).not.toContain(rowprune!.id);
    expect(ranked[0]!.paper.id).toBe(sma!.id);
    expect(ranked[0]!.passages[0]).toMatchObject({ section: '4.2 Training details', label: '§4.2' });
    expect(ranked[0]!.passages[0]!.text).toContain('5e-4');
    await fullText.close();
    store.close();
  });

  it('given a paper without full text among the candidates, it should offer its abstract', async () => {
    const store = FullTextStore.open(dir);
    const fullText = service(store);
    const seedLike: Paper = {
      id: 't:abc',
      title: 'Learning Rate Warmup Explained',
      abstract: 'We explain why learning rate warmup stabilises training of transformers.',
      source: 'test',
    };
    const ranked = await fullText.passages('why does learning rate warmup help?', [{ paper: seedLike, score: 1 }]);
    expect(ranked).toEqual([
      {
        paper: seedLike,
        score: 1,
        passages: [expect.objectContaining({ section: null, label: null, text: seedLike.abstract })],
      },
    ]);
    await fullText.close();
    store.close();
  });

  it('given another embedder than the one that embedded a paper, it should embed its stored text again without fetching', async () => {
    const store = FullTextStore.open(dir);
    const fullText = service(store);
    const sma = asPaper(fixturePapers()[0]!);
    await fullText.ensure(sma);
    await fullText.close();
    const other = await createEmbedder(loadConfig({ EMBEDDINGS: 'hashing' }), silentLogger(), {
      hashing: { dimension: 64 },
    });
    const again = new FullTextService({
      config: { FULL_TEXT: 'on', FULL_TEXT_TIMEOUT_MS: 5000 },
      embedder: other,
      store,
      fetcher: new ArxivFullTextFetcher({ htmlBase: arxiv.htmlBase, pdfBase: arxiv.pdfBase }),
    });
    const requests = arxiv.requests.length;
    const ranked = await again.passages('How many experts per adapter bank?', [{ paper: sma, score: 1 }]);
    expect(ranked[0]!.passages[0]!.section).toBe('3.1 Adapter experts');
    expect(store.get(sma.id)!.embedder).toBe(other.id);
    expect(arxiv.requests.length).toBe(requests);
    await again.close();
    await other.close();
    store.close();
  });
});

describe('papers arriving while the bot runs', () => {
  it('given papers added through intake (/add, links), it should fetch their full text in the background', async () => {
    const services = await createServices(
      loadConfig({
        DATA_DIR: dir,
        EMBEDDINGS: 'hashing',
        LOG_LEVEL: 'silent',
        FULL_TEXT: 'on',
        ARXIV_API_BASE: arxiv.baseUrl,
        ARXIV_HTML_BASE: arxiv.htmlBase,
        ARXIV_PDF_BASE: arxiv.pdfBase,
        ARXIV_REQUEST_INTERVAL_MS: '0',
      }),
      silentLogger(),
    );
    try {
      services.fullText.start();
      const outcomes = await services.intake.add([
        { kind: 'reference', input: 'https://arxiv.org/abs/2502.11003' },
        { kind: 'reference', input: 'arXiv:2502.11005' },
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['added', 'added']);
      await services.fullText.idle();
      expect(services.fullText.source('arxiv:2502.11003')).toBe('html');
      expect(services.fullText.outline('arxiv:2502.11005')?.map((entry) => entry.heading)).toContain('3.3 Distractors');
    } finally {
      await services.close();
    }
  });
});

describe('the full-text store', () => {
  it('given a paper stored twice, it should hold its chunks once, and read them by primary key only', async () => {
    const store = FullTextStore.open(dir);
    const document = {
      source: 'html' as const,
      sections: [{ number: '1', title: 'Intro', level: 1, blocks: [{ kind: 'paragraph' as const, text: 'Hello.' }] }],
    };
    const chunks = [0, 1, 2].map((seq) => ({
      seq,
      section: '1 Intro',
      label: '§1',
      page: null,
      text: `chunk ${seq}`,
      vector: [1, 0, 0],
    }));
    store.put({ paperId: 'arxiv:1', source: 'html', url: null, document, embedder: 'e' }, chunks);
    store.put({ paperId: 'arxiv:1', source: 'html', url: null, document, embedder: 'e' }, chunks.slice(0, 2));
    store.put({ paperId: 'arxiv:2', source: 'html', url: null, document, embedder: 'e' }, chunks);
    expect(store.counts()).toEqual({ papers: 2, chunks: 5 });
    expect(
      store.chunksOf(['arxiv:1']).map((chunk) => [chunk.paperId, chunk.seq, chunk.text, [...chunk.vector]]),
    ).toEqual([
      ['arxiv:1', 0, 'chunk 0', [1, 0, 0]],
      ['arxiv:1', 1, 'chunk 1', [1, 0, 0]],
    ]);
    store.close();
    // A question's chunk search costs what its candidate papers hold, not what the library holds.
    const db = new Database(path.join(dir, 'fulltext.sqlite'), { readonly: true });
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT * FROM fulltext_chunks WHERE paper_id = ? ORDER BY seq')
      .all('arxiv:1') as Array<{ detail: string }>;
    db.close();
    expect(plan.map((row) => row.detail).join(' ')).toMatch(/SEARCH fulltext_chunks USING PRIMARY KEY \(paper_id=\?\)/);
  });

  it('given a process killed while storing papers, it should reopen with every stored paper whole and none half-chunked', async () => {
    const script = `
      import { FullTextStore } from ${JSON.stringify(path.resolve('src/fulltext/store.ts'))};
      // With -e, the first argument after the script is argv[1].
      const store = FullTextStore.open(process.argv[1]);
      const document = { source: 'html', sections: [] };
      for (let paper = 0; ; paper += 1) {
        const chunks = Array.from({ length: 400 }, (_, seq) => ({ seq, section: 's', label: '§1', page: null, text: 'x'.repeat(400), vector: new Array(64).fill(0.1) }));
        store.put({ paperId: 'arxiv:' + paper, source: 'html', url: null, document, embedder: 'e' }, chunks);
        process.stdout.write(paper + '\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (data: Buffer) => {
        seen += data.toString();
        if (seen.split('\n').length > 4) resolve();
      });
      void exited.then(() => reject(new Error(`the writer exited before storing 4 papers (${JSON.stringify(seen)})`)));
    });
    child.kill('SIGKILL');
    await exited;
    const store = FullTextStore.open(dir);
    const { papers, chunks } = store.counts();
    expect(papers).toBeGreaterThanOrEqual(3);
    expect(chunks).toBe(papers * 400);
    store.close();
  });
});
