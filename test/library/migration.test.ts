import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import type { Logger } from '../../src/logger.js';
import { countingEmbedder, temporaryDirectory } from './support.js';
import { libraryScriptImports, signalThatEnds } from '../support/processes.js';

/**
 * A library written by the first storage format (generation directories, current.json, papers.jsonl, LangChain
 * HNSWLib files, lexical.json): test/fixtures/library-v1 was written by that version's PaperLibrary with the hashing
 * embedder, 6 seed papers in generation 1, then 2 more in generation 2.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(REPO, 'test/fixtures/library-v1/library');

let dataDir: { path: string; remove(): Promise<void> };
const opened: PaperLibrary[] = [];

function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

async function openLibrary(logger: Logger, embedder = countingEmbedder()): Promise<PaperLibrary> {
  const library = await PaperLibrary.open({ dataDir: dataDir.path, embedder, logger });
  opened.push(library);
  return library;
}

beforeEach(async () => {
  dataDir = await temporaryDirectory('papercord-migration-');
  await cp(FIXTURE, path.join(dataDir.path, 'library'), { recursive: true });
});
afterEach(async () => {
  for (const library of opened.splice(0)) await library.close();
  await dataDir.remove();
});

describe('PaperLibrary upgrading a library of the first format', () => {
  it('given a library in the old format, it should upgrade it in place with one log line, keep every paper and vector without embedding, and remove the old files', async () => {
    const { logger, lines } = capturingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary(logger, embedder);

    expect(lines.map((line) => line.msg)).toEqual([
      expect.stringMatching(
        /^upgraded the library in .* to the database format: 8 papers, 8 vectors and the HNSW graph kept$/,
      ),
    ]);
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    expect(await library.stats()).toMatchObject({ papers: 8, vectors: 8, vectorsSinceCheckpoint: 0 });
    const files = await readdir(path.join(dataDir.path, 'library'));
    expect(files.filter((name) => name.startsWith('gen-') || name === 'current.json')).toEqual([]);
    for (const paper of library.all()) {
      expect((await library.vectorSearch(`${paper.title}\n\n${paper.abstract}`, 1))[0]?.paper.id).toBe(paper.id);
    }
    expect(library.lexicalSearch('MrT5 byte-level', 1)[0]?.paper.title).toMatch(/^MrT5/);
    await library.close();

    const again = capturingLogger();
    const reopened = await openLibrary(again.logger);
    expect(again.lines).toEqual([]);
    expect(reopened.size).toBe(8);
  });

  it('given an old library whose current papers file is damaged, it should keep every paper still readable (the older generation, the newest papers from its docstore) and move the damaged generation aside with one warning', async () => {
    const damaged = '{"id":';
    await writeFile(path.join(dataDir.path, 'library/gen-000002/papers.jsonl'), damaged);
    const { logger, lines } = capturingLogger();
    const embedder = countingEmbedder();

    const library = await openLibrary(logger, embedder);

    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^the old library was damaged \(generation 2: papers\.jsonl has 6 bytes.*\); the 8 papers still readable are kept, and the damaged files moved to .*\/library\/damaged-[\dT-]+Z$/,
      ),
    ]);
    expect(library.size).toBe(8);
    // The vectors and graph of generation 2 were intact: nothing was embedded again.
    expect(embedder.embeddings.embeddedDocuments).toBe(0);
    const aside = warnings[0]!.replace(/^.* moved to /, '');
    expect(await readdir(aside)).toEqual(['gen-000002']);
    expect(await readFile(path.join(aside, 'gen-000002/papers.jsonl'), 'utf8')).toBe(damaged);
    const files = await readdir(path.join(dataDir.path, 'library'));
    expect(files.filter((name) => name.startsWith('gen-') || name === 'current.json')).toEqual([]);
  });

  it("given an old library with one flipped bit in each generation's papers file, it should keep every paper and move both generations aside, deleting nothing", async () => {
    const original = new Map<string, Buffer>();
    for (const generation of ['gen-000001', 'gen-000002']) {
      const file = path.join(dataDir.path, 'library', generation, 'papers.jsonl');
      const bytes = await readFile(file);
      original.set(generation, Buffer.from(bytes));
      // A bit in a JSON delimiter of the middle line, so that line no longer reads.
      const lineStart = bytes.indexOf('\n{', Math.floor(bytes.length / 2)) + 1;
      bytes[lineStart] ^= 0x01;
      await writeFile(file, bytes);
      original.set(generation, bytes);
    }
    const { logger, lines } = capturingLogger();

    const library = await openLibrary(logger);

    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      expect.stringMatching(/the 8 papers still readable are kept, and the damaged files moved to .*damaged-/),
    ]);
    expect(library.size).toBe(8);
    expect(new Set(library.all().map((paper) => paper.id)).size).toBe(8);
    const aside = warnings[0]!.replace(/^.* moved to /, '');
    expect((await readdir(aside)).sort()).toEqual(['gen-000001', 'gen-000002']);
    for (const [generation, bytes] of original)
      expect(await readFile(path.join(aside, generation, 'papers.jsonl'))).toEqual(bytes);
    expect((await readdir(path.join(aside, 'gen-000002'))).sort()).toEqual(
      (await readdir(path.join(FIXTURE, 'gen-000002'))).sort(),
    );
  });

  it('given an old library opened with another embedder, it should re-embed its papers while upgrading', async () => {
    const { logger, lines } = capturingLogger();
    const smaller = countingEmbedder({ dimension: 256 });

    const library = await openLibrary(logger, smaller);

    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      expect.stringMatching(/now configured: hashing:v1:256:\S+ \(256 dimensions\); re-embedding 8 papers/),
    ]);
    expect(smaller.embeddings.embeddedDocuments).toBe(8);
    expect(await library.stats()).toMatchObject({ papers: 8, vectors: 8, dimension: 256 });
  });

  it.each(['before its commit', 'after its commit'])(
    'given a process killed during the upgrade (%s), it should open with every paper exactly once',
    async (when) => {
      const script = path.join(dataDir.path, 'killed.mts');
      // Before the commit: an embedder change makes the upgrade embed, and the embedder kills the process. After it:
      // the `migrated` step, when the database holds the library and the old files are still there.
      await writeFile(
        script,
        [
          ...libraryScriptImports(REPO),
          `const embedder = countingEmbedder();`,
          when === 'before its commit'
            ? `embedder.embeddings.embedDocuments = async () => { process.kill(process.pid, 'SIGKILL'); return []; };`
            : '',
          `await PaperLibrary.open({ dataDir: ${JSON.stringify(dataDir.path)}, embedder${when === 'before its commit' ? ': { ...embedder, id: "other", dimension: 1024 }' : ''}, logger: silentLogger(),`,
          `  onSaveStep: (step) => { if (step === 'migrated') process.kill(process.pid, 'SIGKILL'); } });`,
        ].join('\n'),
      );
      const signal = await signalThatEnds(script, REPO);
      expect(signal).toBe('SIGKILL');

      const { logger } = capturingLogger();
      const embedder = countingEmbedder();
      const library = await openLibrary(logger, embedder);
      expect(library.size).toBe(8);
      expect(new Set(library.all().map((paper) => paper.id)).size).toBe(8);
      expect(await library.stats()).toMatchObject({ papers: 8, vectors: 8 });
      expect(embedder.embeddings.embeddedDocuments).toBe(0);
      expect((await readdir(path.join(dataDir.path, 'library'))).filter((name) => name.startsWith('gen-'))).toEqual([]);
    },
  );
});
