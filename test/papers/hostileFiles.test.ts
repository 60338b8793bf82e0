/**
 * The fuzz and abuse suite for paper files (`papercord ingest --source <file>`): BibTeX and CSL-JSON with huge,
 * malformed and mutated entries, and files over the size limit. Each gets papers and a list of skipped entries, or
 * one UserError naming the file: never another error, never a runaway.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { ImportLimits, ReadingListResult } from '../../src/papers/formats/types.js';
import { loadPaperSource } from '../../src/papers/ingest.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/intake');

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'papercord-hostile-files-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function saved(name: string, text: string): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, text);
  return file;
}

/** About `chars` characters of prose-like words. */
function words(chars: number): string {
  const out: string[] = [];
  for (let length = 0, index = 0; length < chars; index += 1) {
    const word = `word${index % 89}`;
    out.push(word);
    length += word.length + 1;
  }
  return out.join(' ');
}

function bibEntry(key: string, title: string, abstract: string): string {
  return `@article{${key},\n  title = {${title}},\n  abstract = {${abstract}},\n  year = {2024}\n}\n\n`;
}

/** A small deterministic generator (mulberry32), so a failing mutation can be found again by its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = ['{', '}', '@', ',', '=', '"', '\\', '[', ']', ':', '\n', '\u0000', '\u00e9', '@article{x,', '%'];

/** The text with a few random edits: characters deleted, structural characters inserted, a span duplicated. */
function mutated(text: string, seed: number): string {
  const next = random(seed);
  let result = text;
  const edits = 1 + Math.floor(next() * 4);
  for (let edit = 0; edit < edits; edit += 1) {
    const at = Math.floor(next() * result.length);
    const kind = next();
    if (kind < 0.35) result = result.slice(0, at) + result.slice(at + 1 + Math.floor(next() * 20));
    else if (kind < 0.8) result = result.slice(0, at) + NOISE[Math.floor(next() * NOISE.length)] + result.slice(at);
    else result = result.slice(0, at) + result.slice(at, at + 200) + result.slice(at);
  }
  return result;
}

/** What reading the file gave: its result, or the UserError's message; any other error fails the test. */
async function outcome(file: string, limits?: ImportLimits): Promise<ReadingListResult | string> {
  try {
    return await loadPaperSource(file, limits ? { limits } : {});
  } catch (error) {
    if (error instanceof UserError) return error.message;
    throw new Error(`${file}: not a UserError: ${String(error)}`, { cause: error });
  }
}

describe('BibTeX from anyone', () => {
  it('given one entry with a 2 MB abstract between ordinary entries, it should skip that entry naming its line, key and IMPORT_MAX_ENTRY_KB, and read the others', async () => {
    const file = await saved(
      'huge.bib',
      bibEntry('first', 'Byte Models That Merge Tokens', 'We merge byte tokens.') +
        bibEntry('huge', 'A Paper With a Huge Abstract', words(2_000_000)) +
        bibEntry('last', 'Sparse Routers for Long Documents', 'We route questions to passages.'),
    );

    const result = await outcome(file);

    expect(result).toEqual({
      papers: [
        expect.objectContaining({ title: 'Byte Models That Merge Tokens' }),
        expect.objectContaining({ title: 'Sparse Routers for Long Documents' }),
      ],
      skipped: [
        {
          where: `${file}:7 (huge)`,
          title: null,
          reason: 'the entry takes 1.9 MB, over the 64 KB one entry may take (IMPORT_MAX_ENTRY_KB)',
        },
      ],
    });
  });

  it('given a huge entry whose braces never close, it should skip it and read the entries before it', async () => {
    const file = await saved(
      'unclosed.bib',
      bibEntry('first', 'Byte Models That Merge Tokens', 'We merge byte tokens.') +
        `@article{unclosed,\n  title = {Never Closed},\n  abstract = {${'{'.repeat(50_000)}${words(100_000)}`,
    );

    const result = await outcome(file);

    expect(result).toMatchObject({
      papers: [{ title: 'Byte Models That Merge Tokens' }],
      skipped: [{ where: `${file}:7 (unclosed)`, reason: expect.stringContaining('IMPORT_MAX_ENTRY_KB') }],
    });
  });

  it('given 150 randomly damaged copies of a reading list, each should give papers or one error naming the file', async () => {
    const original = await readFile(path.join(FIXTURES, 'reading-list.bib'), 'utf8');
    let refused = 0;
    for (let seed = 1; seed <= 150; seed += 1) {
      const file = await saved(`damaged-${seed}.bib`, mutated(original, seed));
      const result = await outcome(file);
      if (typeof result === 'string') {
        refused += 1;
        expect(result.startsWith(file), `seed ${seed}: ${result}`).toBe(true);
      } else {
        for (const paper of result.papers) expect(paper.title.length, `seed ${seed}`).toBeGreaterThan(0);
      }
    }
    // Some damage breaks an entry, some only a word: both kinds were tried.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(150);
  });
});

describe('CSL-JSON from anyone', () => {
  const item = (id: string, title: string, abstract: string) => ({
    id,
    type: 'article',
    title,
    abstract,
    author: [{ family: 'Doe', given: 'Jane' }],
  });

  it('given an item with a 1,000,000-character title, it should skip that item naming it and IMPORT_MAX_ENTRY_KB, and read the others', async () => {
    const file = await saved(
      'export.json',
      JSON.stringify(
        [
          item('a', 'Byte Models That Merge Tokens', 'We merge byte tokens.'),
          item('huge', words(1_000_000), 'An ordinary abstract.'),
          item('c', 'Sparse Routers for Long Documents', 'We route questions to passages.'),
        ],
        null,
        1,
      ),
    );

    const result = await outcome(file);

    expect(result).toEqual({
      papers: [
        expect.objectContaining({ title: 'Byte Models That Merge Tokens' }),
        expect.objectContaining({ title: 'Sparse Routers for Long Documents' }),
      ],
      skipped: [
        {
          where: `${file}:14 (item 2)`,
          title: null,
          reason: 'the entry takes 977 KB, over the 64 KB one entry may take (IMPORT_MAX_ENTRY_KB)',
        },
      ],
    });
  });

  it('given 200,000-deep nesting, cut-off JSON and fields of the wrong type, it should refuse each with one error naming the file', async () => {
    const cases = {
      'deep.json': `[${'['.repeat(200_000)}${']'.repeat(200_000)}]`,
      'deep-object.json': `[{"id":"x","title":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]`,
      'cut.json': JSON.stringify([item('a', 'Title', 'Abstract')]).slice(0, 30),
      'typed.json': JSON.stringify([{ id: 'a', type: 'article', title: ['not', 'text'], author: [{ family: 'X' }] }]),
    };
    for (const [name, text] of Object.entries(cases)) {
      const file = await saved(name, text);
      const result = await outcome(file);
      expect(typeof result === 'string' && result.startsWith(file), `${name}: ${JSON.stringify(result)}`).toBe(true);
    }
  });

  it('given 150 randomly damaged copies of a Zotero export, each should give papers or one error naming the file', async () => {
    const original = await readFile(path.join(FIXTURES, 'zotero.json'), 'utf8');
    let refused = 0;
    for (let seed = 1; seed <= 150; seed += 1) {
      const file = await saved(`damaged-${seed}.json`, mutated(original, seed));
      const result = await outcome(file);
      if (typeof result === 'string') {
        refused += 1;
        expect(result.startsWith(file), `seed ${seed}: ${result}`).toBe(true);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(150);
  });
});

describe('paper files over the size limit', () => {
  it('given a file over IMPORT_MAX_FILE_MB, it should refuse it naming the limit, alone or in a directory, and add nothing', async () => {
    const limits = { maxFileBytes: 64 * 1024, maxEntryBytes: 64 * 1024 };
    const file = await saved(
      'big.bib',
      Array.from({ length: 400 }, (_, index) => bibEntry(`k${index}`, `Paper ${index}`, words(200))).join(''),
    );
    await saved('small.jsonl', JSON.stringify({ title: 'Small', abstract: 'Small.' }) + '\n');

    for (const source of [file, directory]) {
      expect(await outcome(source, limits)).toBe(
        `${file}: the file takes 107 KB, over the 64 KB a paper file may take (IMPORT_MAX_FILE_MB); ` +
          'nothing from this file was ingested (split it, or save it as JSONL, which is streamed)',
      );
    }
  });
});
