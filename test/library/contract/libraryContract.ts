/**
 * What every library store promises, whichever holds the papers: one suite, the same cases and the same expected
 * results, run against the local library (SQLite with its HNSW graph) and the PostgreSQL one. A store is reached the
 * way the bot reaches it, through `openLibrary` and the configuration that names it; another process is a real
 * child process opening the same store with its own configuration.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { Library } from '../../../src/library/library.js';
import { openLibrary } from '../../../src/library/vectorStores.js';
import { silentLogger } from '../../../src/logger.js';
import { loadPapersFromSource } from '../../../src/papers/ingest.js';
import type { Paper } from '../../../src/papers/paper.js';
import { stemmedTerms } from '../../../src/text/analysis.js';
import { RUN_TS } from '../../support/processes.js';
import { countingEmbedder, newPaper, temporaryDirectory } from '../support.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A store of one kind, new and empty for each test. */
export interface ContractBackend {
  /** The configuration naming a new, empty store (`VECTOR_STORE` and where it lives); `remove` deletes it. */
  create(dataDir: string): Promise<{ env: Record<string, string>; remove(): Promise<void> }>;
}

/**
 * The seed library's best papers for a few descriptions, by id, with their scores (cosine similarity for vector
 * search, BM25 for lexical search): measured once, the same for every store.
 */
const SEED_SEARCHES: ReadonlyArray<{
  query: string;
  vector: ReadonlyArray<[string, number]>;
  lexical: ReadonlyArray<[string, number]>;
}> = [
  {
    // Mixture-of-Recursions.
    query: 'recursive transformer where a router picks how many times each token goes through the shared layers',
    vector: [
      ['t:53dea0ddecd34828', 0.2425],
      ['t:8e6061387750d5f3', 0.1994],
      ['t:90f6e64717515ee0', 0.1442],
    ],
    lexical: [
      ['t:53dea0ddecd34828', 19.9695],
      ['t:f3d79cd3a7198258', 6.7178],
      ['t:e002f3373b8d0ac6', 6.1063],
    ],
  },
  {
    // MrT5.
    query: 'byte-level models that merge tokens to shorten sequences',
    vector: [
      ['t:da54a3dc67692bc3', 0.3706],
      ['t:8b28e6173e78fccf', 0.2918],
      ['t:e5a8e5a225c293e1', 0.2665],
    ],
    lexical: [
      ['t:da54a3dc67692bc3', 21.1114],
      ['t:8b28e6173e78fccf', 12.5608],
      ['t:b6a23a53fa0e20ae', 8.7778],
    ],
  },
  {
    // "hypernet" is in no paper: lexical search expands it to the terms it begins (hypernetwork).
    query: 'hypernet for tokenizer transfer',
    vector: [
      ['t:5ca4a9099e1f41a7', 0.258],
      ['t:7697e623705c0a9b', 0.1818],
      ['t:1ebff7564dba91d6', 0.1616],
    ],
    lexical: [
      ['t:5ca4a9099e1f41a7', 9.7315],
      ['t:528bcb3411e16c10', 3.4841],
      ['t:b6a23a53fa0e20ae', 3.4213],
    ],
  },
];

/** Papers holding each analyzed term in the seed library. */
const SEED_TERM_FREQUENCIES: Readonly<Record<string, number>> = {
  byte: 7,
  token: 50,
  merg: 4,
  prefer: 5,
  zebrafish: 0,
};

const ZEBRAFISH: Paper = {
  id: 'arxiv:2601.00001',
  arxivId: '2601.00001',
  title: 'Zebrafish Locomotion Transformers',
  abstract: 'We model zebrafish swimming bouts with a transformer over pose sequences and predict locomotion.',
  source: 'arxiv',
};

/** Scores rounded as `SEED_SEARCHES` records them. */
function rounded(hits: ReadonlyArray<{ paper: Paper; score: number }>): Array<[string, number]> {
  return hits.map((hit) => [hit.paper.id, Number(hit.score.toFixed(4))]);
}

function frequencies(found: { frequencies: ReadonlyMap<string, number> }, terms: readonly string[]) {
  return Object.fromEntries(terms.map((term) => [term, found.frequencies.get(term) ?? 0]));
}

export function describeLibraryContract(store: string, backend: ContractBackend): void {
  describe(`the Library contract, ${store}`, () => {
    let seeds: Paper[];
    let env: Record<string, string>;
    let removeStore: () => Promise<void>;
    let dataDir: { path: string; remove(): Promise<void> };
    const opened: Library[] = [];
    const embedder = countingEmbedder();

    /** Another handle on the test's store in this process, as `openLibrary` opens it for the bot. */
    async function open(): Promise<Library> {
      const config = loadConfig({ EMBEDDINGS: 'hashing', DATA_DIR: dataDir.path, ...env });
      const library = await openLibrary(config, embedder, silentLogger());
      opened.push(library);
      return library;
    }

    /** `papers` added to the test's store by a separate node process with its own embedder. */
    async function addInAnotherProcess(papers: readonly Paper[]): Promise<{ added: number; existing: number }> {
      const script = path.join(dataDir.path, `add-${Date.now().toString(36)}.mts`);
      const source = (file: string) => JSON.stringify(path.join(REPO, file));
      await writeFile(
        script,
        [
          `import { loadConfig } from ${source('src/config.ts')};`,
          `import { createEmbedder } from ${source('src/embeddings/registry.ts')};`,
          `import { openLibrary } from ${source('src/library/vectorStores.ts')};`,
          `import { silentLogger } from ${source('src/logger.ts')};`,
          `const config = loadConfig(${JSON.stringify({ EMBEDDINGS: 'hashing', DATA_DIR: dataDir.path, ...env })});`,
          `const embedder = await createEmbedder(config, silentLogger());`,
          `const library = await openLibrary(config, embedder, silentLogger());`,
          `const { added, existing } = await library.add(${JSON.stringify(papers)});`,
          `await library.close();`,
          `process.stdout.write(JSON.stringify({ added: added.length, existing }));`,
        ].join('\n'),
      );
      const child = spawn(process.execPath, [...RUN_TS, script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', resolve);
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(stdout) as { added: number; existing: number };
    }

    beforeAll(async () => {
      seeds = await loadPapersFromSource('seeds');
    });

    beforeEach(async () => {
      dataDir = await temporaryDirectory('papercord-contract-');
      ({ env, remove: removeStore } = await backend.create(dataDir.path));
    });

    afterEach(async () => {
      for (const library of opened.splice(0)) await library.close();
      await removeStore();
      await dataDir.remove();
    });

    it('given the seed papers, it should add each once, embed each once, report each as stored, and find each by id and by title', async () => {
      const library = await open();
      const embeddedBefore = embedder.embeddings.embeddedDocuments;

      const result = await library.add(seeds);

      expect(result.existing).toBe(0);
      expect(result.added.map((paper) => paper.id)).toEqual(seeds.map((paper) => paper.id));
      expect(result.stored).toEqual(seeds);
      expect(embedder.embeddings.embeddedDocuments - embeddedBefore).toBe(seeds.length);
      expect(await library.count()).toBe(seeds.length);
      expect((await library.stats()).papers).toBe(seeds.length);
      expect((await library.stats()).vectors).toBe(seeds.length);
      for (const paper of [seeds[0]!, seeds[17]!, seeds.at(-1)!]) {
        expect(await library.get(paper.id)).toEqual(paper);
        expect(await library.getByTitle(paper.title.toUpperCase())).toEqual(paper);
      }
      expect((await library.all()).map((paper) => paper.id)).toEqual(seeds.map((paper) => paper.id));
      expect((await library.recent(2)).map((paper) => paper.id)).toEqual([seeds.at(-1)!.id, seeds.at(-2)!.id]);
    });

    it('given a batch naming one paper three times (same id, then same title under another id), it should add it once, count the other two as existing, and report the merged paper for all three', async () => {
      const library = await open();
      const paper = newPaper('Sparse Routing at Scale');
      const embeddedBefore = embedder.embeddings.embeddedDocuments;

      const result = await library.add([
        paper,
        { ...paper, url: 'https://example.org/sparse', upvotes: 3 },
        { ...paper, id: 'arxiv:2601.00042', title: 'SPARSE ROUTING AT SCALE', arxivId: '2601.00042', upvotes: 9 },
        newPaper('Another Routing Paper'),
      ]);

      const merged = { ...paper, url: 'https://example.org/sparse', upvotes: 9, arxivId: '2601.00042' };
      expect(result.existing).toBe(2);
      expect(result.added).toEqual([merged, newPaper('Another Routing Paper')]);
      expect(result.stored).toEqual([merged, merged, merged, newPaper('Another Routing Paper')]);
      expect(embedder.embeddings.embeddedDocuments - embeddedBefore).toBe(2);
      expect(await library.count()).toBe(2);
      expect(await library.get(paper.id)).toEqual(merged);
      expect(await library.get('arxiv:2601.00042')).toBeUndefined();
      expect(frequencies(await library.termStatistics(['rout', 'spars']), ['rout', 'spars'])).toEqual({
        rout: 2,
        spars: 2,
      });
    });

    it('given a paper with a 2 MB abstract and a 100,000-character title, it should store both cut to PAPER_MAX_ABSTRACT_CHARS and PAPER_MAX_TITLE_CHARS, ending in an ellipsis, and find it by its words', async () => {
      const library = await open();
      const words = (count: number, lead: string) =>
        `${lead} ${Array.from({ length: count }, (_, index) => `word${index % 97}`).join(' ')}`;
      const huge = newPaper(words(12_000, 'Hydroacoustic Whale Census'), { abstract: words(300_000, 'Narwhal') });
      expect(huge.abstract.length).toBeGreaterThan(2_000_000);

      const result = await library.add([huge, newPaper('Sparse Routing at Scale')]);

      const stored = (await library.get(huge.id))!;
      expect(result.stored[0]).toEqual(stored);
      expect(stored.title.length).toBeLessThanOrEqual(500);
      expect(stored.title).toMatch(/^Hydroacoustic Whale Census word0 .*word\d+…$/);
      expect(stored.abstract.length).toBeLessThanOrEqual(10_000);
      expect(stored.abstract.length).toBeGreaterThan(9_000);
      expect(stored.abstract).toMatch(/^Narwhal word0 word1 .*word\d+…$/);
      expect((await library.lexicalSearch('narwhal', 1))[0]!.paper.id).toBe(huge.id);
      expect((await library.getByTitle(stored.title))?.id).toBe(huge.id);
      // Added again as given, it is the same paper.
      expect(await library.add([huge])).toMatchObject({ added: [], existing: 1 });
      expect(await library.get(newPaper('Sparse Routing at Scale').id)).toEqual(newPaper('Sparse Routing at Scale'));
    });

    it('given the same papers in a later batch, it should count them as existing and embed only the one it did not have', async () => {
      const library = await open();
      await library.add(seeds);
      const embeddedBefore = embedder.embeddings.embeddedDocuments;

      const again = await library.add(seeds);
      const third = await library.add([...seeds.slice(0, 10), newPaper('Sparse Routing at Scale')]);

      expect(again).toMatchObject({ added: [], existing: seeds.length });
      expect(third.existing).toBe(10);
      expect(third.added.map((paper) => paper.title)).toEqual(['Sparse Routing at Scale']);
      expect(third.stored).toEqual([...seeds.slice(0, 10), newPaper('Sparse Routing at Scale')]);
      expect(embedder.embeddings.embeddedDocuments - embeddedBefore).toBe(1);
      expect(await library.count()).toBe(seeds.length + 1);
      expect((await library.stats()).vectors).toBe(seeds.length + 1);
    });

    it('given a stored paper again under another id and casing, from another source, it should keep the stored id, title, abstract and source, fill in what it lacked, and take the newer counts', async () => {
      const library = await open();
      const stored = { ...seeds[3]!, upvotes: 4, url: 'https://example.org/first' };
      await library.add([stored]);

      const result = await library.add([
        {
          ...stored,
          id: 'arxiv:2410.20771',
          arxivId: '2410.20771',
          title: stored.title.toUpperCase(),
          abstract: 'Platypus venom assays.',
          source: 'hf',
          url: 'https://arxiv.org/abs/2410.20771',
          upvotes: 12,
          numComments: 2,
        },
      ]);

      const merged = { ...stored, arxivId: '2410.20771', upvotes: 12, numComments: 2 };
      expect(result).toEqual({ added: [], existing: 1, stored: [merged] });
      expect(await library.count()).toBe(1);
      expect(await library.get(stored.id)).toEqual(merged);
      expect(await library.getByTitle(stored.title)).toEqual(merged);
      expect(await library.get('arxiv:2410.20771')).toBeUndefined();
      expect(await (await open()).get(stored.id)).toEqual(merged);
      // The stored abstract is what the indexes hold: the other one's words are not counted.
      const platypus = stemmedTerms('platypus');
      expect(frequencies(await library.termStatistics(platypus), platypus)).toEqual({ [platypus[0]!]: 0 });
    });

    it('given the seed library, vector and lexical search should rank the same papers with the same scores', async () => {
      const library = await open();
      await library.add(seeds);

      for (const { query, vector, lexical } of SEED_SEARCHES) {
        expect(rounded(await library.vectorSearch(query, 3)), query).toEqual(vector);
        expect(rounded(await library.lexicalSearch(query, 3)), query).toEqual(lexical);
      }
      expect(await library.vectorSearch(SEED_SEARCHES[0]!.query, 0)).toEqual([]);
      expect(await library.lexicalSearch('the of and', 5)).toEqual([]);
    });

    it('given the seed library, term statistics should count the papers holding each analyzed term', async () => {
      const library = await open();
      await library.add(seeds);
      const terms = [...new Set(stemmedTerms('byte tokenizer merging preference zebrafish'))];

      const statistics = await library.termStatistics(terms);

      expect(terms).toEqual(Object.keys(SEED_TERM_FREQUENCIES));
      expect(statistics.documents).toBe(seeds.length);
      expect(frequencies(statistics, terms)).toEqual(SEED_TERM_FREQUENCIES);
    });

    it('given another process adding papers, a library already open should find them by every read, without reopening', async () => {
      const library = await open();
      await library.add(seeds.slice(0, 10));
      expect(await library.count()).toBe(10);

      const child = await addInAnotherProcess([ZEBRAFISH, ...seeds.slice(5, 20)]);

      expect(child).toEqual({ added: 11, existing: 5 });
      expect(await library.count()).toBe(21);
      expect(await library.get(ZEBRAFISH.id)).toEqual(ZEBRAFISH);
      expect(await library.getByTitle(ZEBRAFISH.title)).toEqual(ZEBRAFISH);
      expect((await library.vectorSearch('zebrafish swimming locomotion', 1))[0]?.paper).toEqual(ZEBRAFISH);
      expect((await library.lexicalSearch('zebrafish', 1))[0]?.paper).toEqual(ZEBRAFISH);
      expect(frequencies(await library.termStatistics(['zebrafish']), ['zebrafish'])).toEqual({ zebrafish: 1 });
      expect((await library.recent(1))[0]).toEqual(seeds[19]);
      // What the other process added counts as stored here too.
      expect(await library.add([ZEBRAFISH])).toMatchObject({ added: [], existing: 1 });
    });
  });
}
