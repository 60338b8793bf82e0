import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { Paper } from '../../src/papers/paper.js';
import { runPapercord } from '../support/cli.js';
import { ArxivStandIn, SAMPLE_RECORDS } from '../helpers/arxivServer.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/intake');

let arxiv: ArxivStandIn;
let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  arxiv = await ArxivStandIn.start(SAMPLE_RECORDS);
});
afterAll(async () => {
  await arxiv.close();
});
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-files-'));
  env = {
    DATA_DIR: dataDir,
    ARXIV_API_BASE: arxiv.baseUrl,
    HF_API_BASE: arxiv.baseUrl,
    ARXIV_REQUEST_INTERVAL_MS: '0',
  };
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** The library as stored, read the way the bot reads it. */
async function storedPapers(): Promise<Paper[]> {
  const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' });
  const logger = silentLogger();
  const embedder = await createEmbedder(config, logger);
  const library = await PaperLibrary.open({ dataDir, embedder, logger });
  try {
    return library.all();
  } finally {
    await library.close();
    await embedder.close();
  }
}

interface IngestJson {
  new: number;
  existing: number;
  papers: number;
  skipped: Array<{ where: string; title: string | null; reason: string }>;
}

describe('papercord ingest of BibTeX', () => {
  it('given entries with braces, LaTeX accents and missing fields, it should add those with abstracts and list the others with reasons', async () => {
    const file = path.join(FIXTURES, 'reading-list.bib');

    const run = await runPapercord(['ingest', '--source', file, '--json'], env);

    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as IngestJson;
    expect(result.new).toBe(1);
    expect(result.skipped).toEqual([
      {
        where: `${file}:14 (kallini2024mrt5)`,
        title: 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
        reason: 'no abstract; it is arXiv 2410.20771, add --lookup to fetch it',
      },
      {
        where: `${file}:23 (noabstract2019)`,
        title: 'A Paper Nobody Summarised',
        reason: 'no abstract and no arXiv id to look it up by',
      },
      { where: `${file}:30 (notitle)`, title: null, reason: 'no title' },
    ]);
    const [paper] = await storedPapers();
    expect(paper).toMatchObject({
      title: 'BERT Goes to the Café: Über-Long Contexts for NLP',
      authors: ['Jörg Müller', 'Anna van der Berg', 'The OpenNLP Collective'],
      url: 'https://example.org/cafe',
    });
    expect(paper!.abstract).toBe(
      'We study how BERT reads very long contexts in café reviews and find that most of the context is ignored, which we fix with a simple recurrence.',
    );
  });

  it('given --lookup, it should fetch the entry that has only an arXiv eprint from arXiv', async () => {
    const run = await runPapercord(
      ['ingest', '--source', path.join(FIXTURES, 'reading-list.bib'), '--lookup', '--json'],
      env,
    );

    const result = JSON.parse(run.stdout) as IngestJson;
    expect(result.new).toBe(2);
    expect(result.skipped.map((entry) => entry.reason)).toEqual([
      'no abstract and no arXiv id to look it up by',
      'no title',
    ]);
    expect((await storedPapers()).map((paper) => paper.id)).toContain('arxiv:2410.20771');
  });

  it('given a file with a broken entry, it should name the file and the line of that entry and add nothing', async () => {
    const file = path.join(FIXTURES, 'malformed.bib');

    const run = await runPapercord(['ingest', '--source', file], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^papercord: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:6: malformed BibTeX entry \\(.*\\); nothing from this file was ingested`,
      ),
    );
    expect(await storedPapers()).toEqual([]);
  });

  it('given IMPORT_MAX_ENTRY_KB and an entry over it, it should add the other entries and list that one as skipped naming the limit', async () => {
    const file = path.join(dataDir, 'references.bib');
    const entry = (key: string, title: string, abstract: string) =>
      `@article{${key},\n  title = {${title}},\n  abstract = {${abstract}}\n}\n`;
    await writeFile(
      file,
      entry('small', 'Sparse Routers for Long Documents', 'We route questions to passages.') +
        entry('long', 'A Paper With a Long Abstract', 'tokens '.repeat(400)),
    );

    const run = await runPapercord(['ingest', '--source', file, '--json'], { ...env, IMPORT_MAX_ENTRY_KB: '1' });

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      new: 1,
      existing: 0,
      papers: 1,
      skipped: [
        {
          where: `${file}:5 (long)`,
          title: null,
          reason: 'the entry takes 3 KB, over the 1 KB one entry may take (IMPORT_MAX_ENTRY_KB)',
        },
      ],
    });
  });

  it('given BibTeX saved without the .bib extension, it should recognise it by content', async () => {
    const file = path.join(dataDir, 'references.txt');
    await copyFile(path.join(FIXTURES, 'reading-list.bib'), file);

    const run = await runPapercord(['ingest', '--source', file, '--json'], env);

    expect((JSON.parse(run.stdout) as IngestJson).new).toBe(1);
  });
});

describe('papercord ingest of CSL-JSON', () => {
  it('given a Zotero export, it should add items with abstracts, recognise the arXiv preprint by its DOI and skip the book', async () => {
    const file = path.join(FIXTURES, 'zotero.json');

    const run = await runPapercord(['ingest', '--source', file, '--lookup', '--json'], env);

    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as IngestJson;
    expect(result.new).toBe(2);
    expect(result.skipped).toEqual([
      {
        where: `${file}:22 (bare)`,
        title: 'A Book Without an Abstract',
        reason: 'no abstract and no arXiv id to look it up by',
      },
    ]);
    const papers = await storedPapers();
    expect(papers.find((paper) => paper.title === 'Sparse Routers for Long Documents')).toMatchObject({
      authors: ['José Álvarez-Núñez', 'The Long Context Team'],
      url: 'https://doi.org/10.1000/example.42',
      publishedAt: '2024-03-05T00:00:00.000Z',
    });
    expect(papers.map((paper) => paper.id)).toContain('arxiv:2410.20771');
  });

  it("given an item whose title is not text, it should name the file and the item's line and add nothing", async () => {
    const file = path.join(FIXTURES, 'malformed-csl.json');

    const run = await runPapercord(['ingest', '--source', file], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `papercord: ${file}:9: item 2: title: Expected string, received array; nothing from this file was ingested`,
    );
    expect(await storedPapers()).toEqual([]);
  });
});

describe('papercord ingest of the arXiv metadata snapshot', () => {
  it('given the snapshot under its own .json name and --category cs., it should stream in the computer-science records only', async () => {
    const file = path.join(dataDir, 'arxiv-metadata-oai-snapshot.json');
    await copyFile(path.join(FIXTURES, 'arxiv-snapshot.jsonl'), file);

    const run = await runPapercord(['ingest', '--source', file, '--category', 'cs.', '--json'], env);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ new: 2, existing: 0, papers: 2 });
    const papers = await storedPapers();
    expect(papers.map((paper) => paper.id).sort()).toEqual(['arxiv:2410.20771', 'arxiv:2501.00002']);
    expect(papers.find((paper) => paper.id === 'arxiv:2410.20771')).toMatchObject({
      authors: ['Julie Kallini', 'Shikhar Murty'],
      primaryCategory: 'cs.CL',
      publishedAt: '2024-10-28T04:03:39.000Z',
      abstract:
        'Models that rely on subword tokenization have significant drawbacks. MrT5 learns to delete tokens dynamically in its encoder.',
    });
  });

  it('given an exact category, it should keep only that one', async () => {
    const run = await runPapercord(
      ['ingest', '--source', path.join(FIXTURES, 'arxiv-snapshot.jsonl'), '--category', 'math.GT', '--json'],
      env,
    );

    expect(JSON.parse(run.stdout)).toMatchObject({ new: 1 });
    expect((await storedPapers())[0]!.id).toBe('arxiv:math/0309136');
  });

  it('given a malformed record deep in the file, it should name file and line and add nothing, not even the records before it', async () => {
    const good = await readFile(path.join(FIXTURES, 'arxiv-snapshot.jsonl'), 'utf8');
    const file = path.join(dataDir, 'snapshot.jsonl');
    await writeFile(file, `${good}{"id":"2502.00001","title":"No abstract here","categories":"cs.CL","abstract":""}\n`);

    const run = await runPapercord(['ingest', '--source', file], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `papercord: ${file}:6: abstract: expected a non-empty abstract; nothing from this file was ingested`,
    );
    expect(await storedPapers()).toEqual([]);
  });
});
