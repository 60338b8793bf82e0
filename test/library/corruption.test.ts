/**
 * A damaged local library (`DATA_DIR/library`): real files in temp directories, damaged the way disks and people
 * damage them, then opened for real. Each damage is either repaired from what is stored with one warning, or refused
 * with one line naming the file and what to do.
 */
import { readFile, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { PaperLibrary, type PaperLibraryOptions } from '../../src/library/sqlite/paperLibrary.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { countingEmbedder, recordingLogger, temporaryDirectory } from './support.js';
import { libraryScriptImports, signalThatEnds } from '../support/processes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seeds = await loadPapersFromSource('seeds');
const ROUTER_QUERY =
  'recursive transformer where a router picks how many times each token goes through the shared layers';

let dataDir: { path: string; remove(): Promise<void> };
const opened: PaperLibrary[] = [];
const libraryFile = (name = 'library.db') => path.join(dataDir.path, 'library', name);

async function openLibrary(options: Partial<PaperLibraryOptions> = {}): Promise<PaperLibrary> {
  const library = await PaperLibrary.open({
    dataDir: dataDir.path,
    embedder: countingEmbedder(),
    logger: recordingLogger().logger,
    ...options,
  });
  opened.push(library);
  return library;
}

/** The seed library, written, checkpointed and closed by a process that is gone. */
async function seedLibrary(options: Partial<PaperLibraryOptions> = {}): Promise<void> {
  const library = await PaperLibrary.open({
    dataDir: dataDir.path,
    embedder: countingEmbedder(),
    logger: recordingLogger().logger,
    ...options,
  });
  await library.add(seeds);
  await library.checkpoint();
  await library.close();
}

/** Runs SQL on the closed library's database, as a person with the sqlite3 shell would. */
function editDatabase(edit: (db: Database.Database) => void): void {
  const db = new Database(libraryFile());
  try {
    edit(db);
  } finally {
    db.close();
  }
}

/** The page numbers of one table's b-tree pages of a kind, from SQLite's dbstat. */
function pagesOf(table: string, kind: 'leaf' | 'internal'): number[] {
  const db = new Database(libraryFile(), { readonly: true });
  try {
    return db
      .prepare<[string, string], { pageno: number }>(
        'SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno',
      )
      .all(table, kind)
      .map((row) => row.pageno);
  } finally {
    db.close();
  }
}

/** Overwrites whole pages with bytes that are no b-tree page. */
async function garble(pages: readonly number[]): Promise<void> {
  const bytes = await readFile(libraryFile());
  for (const page of pages)
    for (let offset = 0; offset < 4096; offset += 1) bytes[(page - 1) * 4096 + offset] = (offset * 131 + 7) & 0xff;
  await writeFile(libraryFile(), bytes);
}

async function damagedCopies(): Promise<string[]> {
  return (await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.includes('.damaged-'));
}

beforeEach(async () => {
  dataDir = await temporaryDirectory('papercord-corruption-');
});
afterEach(async () => {
  for (const library of opened.splice(0)) await library.close();
  await dataDir.remove();
});

describe('PaperLibrary with damaged files', () => {
  it('given the checkpoint the database records is gone, it should warn once and rebuild the graph from the stored vectors', async () => {
    await seedLibrary();
    const [checkpoint] = (await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.hnsw'));
    await rm(libraryFile(checkpoint));
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary({ logger, embedder });

    expect(warnings).toEqual([
      `the library's vector index ${checkpoint} is unusable (${checkpoint} cannot be read (ENOENT)); rebuilding it from 54 stored vectors`,
    ]);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0]!.paper.title).toMatch(/^Mixture-of-Recursions/);
  });

  it('given papers whose stored vector is missing or has the wrong dimension, it should embed only those again, with one warning', async () => {
    const first = await openLibrary({ checkpointEvery: 1_000_000 });
    await first.add(seeds.slice(0, 30));
    await first.checkpoint();
    await first.add(seeds.slice(30), { checkpoint: false });
    await first.close();
    // One inside the checkpoint lost, one committed after it cut to 256 dimensions.
    editDatabase((db) => {
      db.prepare('DELETE FROM vectors WHERE seq = 5').run();
      db.prepare('UPDATE vectors SET vector = zeroblob(1024) WHERE seq = 40').run();
    });
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary({ logger, embedder });

    expect(warnings).toEqual([
      '2 papers have no usable vector in the library (missing, or not 1024 dimensions); embedding them again',
    ]);
    expect(embedder.embeddings.embeddedDocuments).toBe(2);
    expect(await library.stats()).toMatchObject({ papers: 54, vectors: 54 });
    for (const paper of [seeds[5]!, seeds[40]!]) {
      expect((await library.vectorSearch(`${paper.title}\n\n${paper.abstract}`, 1))[0]!.paper.id).toBe(paper.id);
    }
    await library.close();
    const again = recordingLogger();
    await openLibrary({ logger: again.logger });
    expect(again.warnings).toEqual([]);
  });

  it('given garbage in the pages of a derived index, it should rebuild the database from the papers and vectors, with one warning, keeping the damaged file', async () => {
    await seedLibrary();
    // BM25 document lengths are read at every open.
    await garble(pagesOf('lexical_lengths', 'leaf').slice(0, 1));
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary({ logger, embedder });

    expect(warnings).toEqual([
      expect.stringMatching(
        /^the library database \S+library\.db is damaged \(database disk image is malformed\); recovered 54 papers into a new one \(54 vectors kept, 0 papers embedded again\); the damaged file is kept as library\.db\.damaged-\S+$/,
      ),
    ]);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(await damagedCopies()).toHaveLength(1);
    expect(library.all()).toEqual(seeds);
    expect(library.lexicalSearch('MrT5 byte-level token merging', 1)[0]!.paper.title).toMatch(/^MrT5/);
    expect((await library.vectorSearch(ROUTER_QUERY, 1))[0]!.paper.title).toMatch(/^Mixture-of-Recursions/);
    await library.close();
    const again = recordingLogger();
    expect((await openLibrary({ logger: again.logger })).size).toBe(54);
    expect(again.warnings).toEqual([]);
  });

  it('given garbage in a page of papers met by a search after opening, it should say to restart, and the next start should recover every other paper', async () => {
    await seedLibrary();
    const leaves = pagesOf('papers', 'leaf');
    const running = await openLibrary();
    await garble([leaves[1]!]);
    const hits = () => {
      for (const paper of seeds) running.lexicalSearch(paper.title, 3);
    };
    const { logger, warnings } = recordingLogger();
    const bot = await openLibrary({ logger });
    const searchAll = () => {
      for (const paper of seeds) bot.getMany([paper.id]);
    };

    expect(searchAll).toThrow(UserError);
    expect(searchAll).toThrow(
      'the library database is damaged (database disk image is malformed); restart papercord to repair it from what is stored',
    );
    expect(warnings).toEqual([
      expect.stringMatching(
        /is damaged \(database disk image is malformed\); it will be repaired from what is stored at the next start$/,
      ),
    ]);
    expect(hits).toThrow(UserError);
    for (const library of opened.splice(0)) await library.close();

    const restart = recordingLogger();
    const embedder = countingEmbedder();
    const library = await openLibrary({ logger: restart.logger, embedder });

    expect(restart.warnings).toEqual([
      expect.stringMatching(
        /recovered (\d+) papers into a new one \(\1 vectors kept, 0 papers embedded again, (\d+) unreadable rows lost\)/,
      ),
    ]);
    const recovered = library.size;
    expect(recovered).toBeGreaterThan(40);
    expect(recovered).toBeLessThan(54);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    for (const paper of library.all()) expect(library.get(paper.id)).toEqual(paper);
  });

  it('given a database file cut short, it should see it from the header at open and recover what the remaining pages hold', async () => {
    await seedLibrary();
    const { size } = await stat(libraryFile());
    await truncate(libraryFile(), Math.floor((size * 0.8) / 4096) * 4096);
    const { logger, warnings } = recordingLogger();

    const library = await openLibrary({ logger });

    expect(warnings).toEqual([
      expect.stringMatching(
        /is damaged \(the file is truncated: \d+ bytes, its header says \d+\); recovered \d+ papers into a new one/,
      ),
    ]);
    expect(library.size).toBeGreaterThan(0);
    expect(await library.stats()).toMatchObject({ papers: library.size, vectors: library.size });
    expect(await damagedCopies()).toHaveLength(1);
  });

  it("given a header that is no longer SQLite's, it should refuse with one line naming the file and what to do, and leave the file where it is", async () => {
    await seedLibrary();
    const bytes = await readFile(libraryFile());
    bytes.fill(0x41, 0, 100);
    await writeFile(libraryFile(), bytes);

    const opening = openLibrary();

    await expect(opening).rejects.toThrow(UserError);
    await expect(opening).rejects.toThrow(
      `the library database ${libraryFile()} is damaged (file is not a database (its header is damaged)) and no paper in it can be read; move it away (it is the only copy of the library) and run \`papercord ingest\` again`,
    );
    expect((await readFile(libraryFile())).subarray(0, 4).toString()).toBe('AAAA');
  });

  it('given a write-ahead log that is garbage (left from another file or torn), it should open every committed paper with no warning', async () => {
    await seedLibrary();
    await writeFile(libraryFile('library.db-wal'), Buffer.alloc(64 * 1024, 7));
    const { logger, warnings } = recordingLogger();

    const library = await openLibrary({ logger });

    expect(warnings).toEqual([]);
    expect(library.all()).toEqual(seeds);
  });
});

describe('PaperLibrary after a repair was interrupted', () => {
  it("given a process killed after the recovered database was complete but before it took the damaged one's place, it should open the recovered one", async () => {
    await seedLibrary();
    await rename(libraryFile(), libraryFile('library.db.recovered'));
    const { logger, warnings } = recordingLogger();

    const library = await openLibrary({ logger });

    expect(warnings).toEqual([]);
    expect(library.all()).toEqual(seeds);
    expect((await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.endsWith('.recovered'))).toEqual(
      [],
    );
  });

  it("given a process killed when the recovered database was complete, before it took the damaged one's place, the next open should repair again with one warning", async () => {
    await seedLibrary();
    await garble(pagesOf('lexical_lengths', 'leaf').slice(0, 1));
    const script = path.join(dataDir.path, 'killed.mts');
    await writeFile(
      script,
      [
        ...libraryScriptImports(REPO),
        `await PaperLibrary.open({ dataDir: ${JSON.stringify(dataDir.path)}, embedder: countingEmbedder(), logger: silentLogger(),`,
        `  onSaveStep: (step) => { if (step === 'recovered') process.kill(process.pid, 'SIGKILL'); } });`,
      ].join('\n'),
    );
    const signal = await signalThatEnds(script, REPO);
    expect(signal).toBe('SIGKILL');
    expect(
      (await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.startsWith('library.db.recovered')),
    ).not.toEqual([]);
    const { logger, warnings } = recordingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary({ logger, embedder });

    expect(warnings).toEqual([
      expect.stringContaining('recovered 54 papers into a new one (54 vectors kept, 0 papers embedded again)'),
    ]);
    expect(library.all()).toEqual(seeds);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(await damagedCopies()).toHaveLength(1);
  });

  it('given a process killed while filling the recovered database, it should drop that half-made file and repair again', async () => {
    await seedLibrary();
    await garble(pagesOf('lexical_lengths', 'leaf').slice(0, 1));
    await writeFile(libraryFile('library.db.recovered'), 'half written');
    const { logger, warnings } = recordingLogger();

    const library = await openLibrary({ logger });

    expect(warnings).toEqual([expect.stringContaining('recovered 54 papers into a new one')]);
    expect(library.all()).toEqual(seeds);
  });
});
