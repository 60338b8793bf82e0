import { link, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type hnswlib from 'hnswlib-node';
import { hnswlibBuild } from './hnswlib.js';
import type { PaperEmbedder } from '../../embeddings/types.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { normalizeTitle, type Paper } from '../../papers/paper.js';
import { analyzePaper } from '../../text/analysis.js';
import { LexicalIndex } from './lexicalIndex.js';
import { NameIndex } from './names.js';
import {
  CURRENT_MANIFEST,
  GENERATION_MANIFEST,
  generationDirectoryName,
  listGenerations,
  readManifest,
  readVerifiedFile,
  removeGeneration,
  type LibraryManifest,
} from './storage.js';
import type { CheckpointRecord } from './vectorIndex.js';

/**
 * Upgrades a library of the first format (`gen-NNNNNN/` directories named by `current.json`, each holding
 * papers.jsonl, LangChain HNSWLib files and lexical.json) to the database in place. The papers and, when the
 * embedder is unchanged, their vectors and the HNSW graph itself are kept: the graph's labels become the papers'
 * sequence numbers, so `hnswlib.index` is the first checkpoint as it is. One transaction: a process killed during
 * the upgrade leaves the old library, upgraded again at the next start.
 */

export async function hasGenerations(directory: string): Promise<boolean> {
  const names = await readdir(directory).catch(() => [] as string[]);
  return names.includes(CURRENT_MANIFEST) || names.some((name) => /^gen-\d{6,}$/.test(name));
}

export interface MigrationOptions {
  directory: string;
  embedder: PaperEmbedder;
  logger: Logger;
  efSearch: number;
  onStep?: (step: 'migrated') => void | Promise<void>;
  /** Opens the library's database (the library keeps the connection). */
  createDatabase(file: string): Database.Database;
}

interface CommittedGeneration {
  manifest: LibraryManifest;
  papers: Paper[];
  directory: string;
}

interface OldLibrary {
  /** The newest manifest that could be read: the embedder of the vectors, and the graph to keep. */
  manifest: LibraryManifest | undefined;
  /** The generation directory of that manifest. */
  directory: string;
  generation: number;
  papers: Paper[];
  /** What was found damaged, for the warning; undefined when the committed generation was intact. */
  damage?: string;
}

export async function migrateGenerations(options: MigrationOptions): Promise<void> {
  const { directory, embedder, logger } = options;
  const db = options.createDatabase(path.join(directory, 'library.db'));
  const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const setMeta = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  if (meta.get('migrated_from')) {
    // Killed after the upgrade committed, before the old files were gone.
    const aside = await clearOldFiles(directory);
    if (aside) logger.warn(`the damaged files of the old library are kept in ${aside}`);
    return;
  }
  const old = await readOldLibrary(directory);
  if (!old) {
    await clearOldFiles(directory);
    return;
  }
  const { manifest, papers } = old;
  const sameEmbedder =
    manifest !== undefined &&
    manifest.embedder.id === embedder.id &&
    manifest.embedder.dimension === embedder.dimension;
  const graph =
    sameEmbedder && manifest.vectors > 0 ? await readGraph({ manifest, directory: old.directory }, logger) : undefined;
  if (manifest && !sameEmbedder) {
    logger.warn(
      `the library index was built by embedder ${manifest.embedder.id} (${manifest.embedder.dimension} dimensions), ` +
        `now configured: ${embedder.id} (${embedder.dimension} dimensions); re-embedding ${papers.length} papers`,
    );
  }

  // Sequence numbers: the graph's label where the paper has one, after the last label otherwise.
  let nextSeq = graph ? Math.max(-1, ...graph.labels.values()) + 1 : 0;
  const rows: Array<{ seq: number; paper: Paper; vector?: number[] }> = [];
  const seen = new Set<string>();
  for (const paper of papers) {
    if (seen.has(paper.id)) continue;
    seen.add(paper.id);
    const label = graph?.labels.get(paper.id);
    rows.push(
      label === undefined ? { seq: nextSeq++, paper } : { seq: label, paper, vector: graph!.index.getPoint(label) },
    );
  }
  const toEmbed = rows.filter((row) => !row.vector);
  for (let start = 0; start < toEmbed.length; start += 256) {
    const batch = toEmbed.slice(start, start + 256);
    const vectors = await embedder.embeddings.embedDocuments(
      batch.map((row) => `${row.paper.title}\n\n${row.paper.abstract}`),
    );
    batch.forEach((row, index) => (row.vector = vectors[index]));
  }
  rows.sort((left, right) => left.seq - right.seq);

  let checkpoint: CheckpointRecord | undefined;
  if (graph) {
    const file = `vectors-${graph.maxLabel}-${Date.now().toString(36)}.hnsw`;
    await link(path.join(old.directory, 'hnswlib.index'), path.join(directory, file));
    const record = manifest!.files['hnswlib.index']!;
    checkpoint = {
      file,
      throughSeq: graph.maxLabel,
      count: graph.index.getCurrentCount(),
      bytes: record.bytes,
      sha256: record.sha256,
      dimension: embedder.dimension,
    };
  }

  const lexical = new LexicalIndex(db);
  const names = new NameIndex(db);
  const insertPaper = db.prepare<[number, string, string, string]>(
    'INSERT INTO papers (seq, id, title_key, paper) VALUES (?, ?, ?, ?)',
  );
  const insertVector = db.prepare<[number, Buffer]>('INSERT INTO vectors (seq, vector) VALUES (?, ?)');
  db.transaction(() => {
    for (const { seq, paper, vector } of rows) {
      insertPaper.run(seq, paper.id, normalizeTitle(paper.title), JSON.stringify(paper));
      insertVector.run(seq, Buffer.from(Float32Array.from(vector!).buffer));
    }
    lexical.add(rows.map((row) => ({ seq: row.seq, analyzed: analyzePaper(row.paper) })));
    names.add(rows);
    setMeta.run('embedder', `${embedder.id}\t${embedder.dimension}`);
    if (checkpoint) setMeta.run('checkpoint', JSON.stringify(checkpoint));
    setMeta.run('migrated_from', String(old.generation));
  })();
  await options.onStep?.('migrated');
  const aside = await clearOldFiles(directory);
  if (old.damage || aside) {
    logger.warn(
      `the old library was damaged (${old.damage ?? 'files that do not match their checksums'}); the ${rows.length} ` +
        `papers still readable are kept${aside ? `, and the damaged files moved to ${aside}` : ''}`,
    );
  }
  logger.info(
    `upgraded the library in ${directory} to the database format: ${rows.length} papers, ` +
      (graph ? `${rows.length - toEmbed.length} vectors and the HNSW graph kept` : `${toEmbed.length} papers embedded`),
  );
}

/**
 * Removes the old library's files once the database holds what they held, except damaged ones: a generation whose
 * files do not match its manifest, and a `current.json` that cannot be read, are moved to
 * `damaged-<timestamp>/` beside the database, never deleted. Returns that folder when it made one.
 */
async function clearOldFiles(directory: string): Promise<string | undefined> {
  let aside: string | undefined;
  const setAside = async (name: string) => {
    aside ??= path.join(directory, `damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(aside, { recursive: true });
    await rename(path.join(directory, name), path.join(aside, name));
  };
  for (const generation of await listGenerations(directory)) {
    if (await generationIsIntact(directory, generation)) await removeGeneration(directory, generation);
    else await setAside(generationDirectoryName(generation));
  }
  for (const name of await readdir(directory)) {
    if (name === CURRENT_MANIFEST) {
      const readable = await readManifest(path.join(directory, name)).then(
        () => true,
        () => false,
      );
      if (readable) await rm(path.join(directory, name), { force: true });
      else await setAside(name);
    } else if (name.startsWith(`${CURRENT_MANIFEST}.`)) {
      // A temporary file of a save that never committed.
      await rm(path.join(directory, name), { force: true });
    }
  }
  return aside;
}

async function generationIsIntact(directory: string, generation: number): Promise<boolean> {
  const generationDirectory = path.join(directory, generationDirectoryName(generation));
  try {
    const manifest = await readManifest(path.join(generationDirectory, GENERATION_MANIFEST));
    for (const name of Object.keys(manifest.files)) await readVerifiedFile(generationDirectory, name, manifest);
    return true;
  } catch {
    return false;
  }
}

/** The graph of a generation and its labels by paper id; undefined (with a warning) when its files are damaged. */
async function readGraph(
  generation: { manifest: LibraryManifest; directory: string },
  logger: Logger,
): Promise<{ index: hnswlib.HierarchicalNSW; labels: Map<string, number>; maxLabel: number } | undefined> {
  try {
    const docstore = JSON.parse(
      (await readVerifiedFile(generation.directory, 'docstore.json', generation.manifest)).toString('utf8'),
    ) as Array<[string, { metadata: { id: string } }]>;
    const args = JSON.parse(
      (await readVerifiedFile(generation.directory, 'args.json', generation.manifest)).toString('utf8'),
    ) as { space: string; numDimensions: number };
    const file = path.join(generation.directory, 'hnswlib.index');
    const record = generation.manifest.files['hnswlib.index'];
    if (!record || (await stat(file)).size !== record.bytes)
      throw new Error('hnswlib.index does not match the manifest');
    await readVerifiedFile(generation.directory, 'hnswlib.index', generation.manifest);
    const index = new (hnswlibBuild().binding.HierarchicalNSW)(args.space as hnswlib.SpaceName, args.numDimensions);
    index.readIndexSync(file);
    const labels = new Map<string, number>();
    let maxLabel = -1;
    for (const [label, document] of docstore) {
      labels.set(document.metadata.id, Number(label));
      maxLabel = Math.max(maxLabel, Number(label));
    }
    if (index.getCurrentCount() !== labels.size)
      throw new Error(`hnswlib.index holds ${index.getCurrentCount()} vectors, docstore.json ${labels.size}`);
    return { index, labels, maxLabel };
  } catch (error) {
    logger.warn(`the old library's vector index is unusable (${describeError(error)}); re-embedding its papers`);
    return undefined;
  }
}

/**
 * The papers of an old library. When the committed generation is intact, its papers. When it is damaged, every
 * paper still readable in it or in an earlier generation: intact generations first, then, from damaged ones, each
 * line of papers.jsonl that still reads as a paper and each paper of docstore.json (its title and abstract) that
 * none of those gave. `manifest` is the newest readable one (its embedder, its graph).
 */
async function readOldLibrary(directory: string): Promise<OldLibrary | undefined> {
  const generations = await listGenerations(directory);
  let current: LibraryManifest | undefined;
  let damage: string | undefined;
  try {
    current = await readManifest(path.join(directory, CURRENT_MANIFEST));
  } catch (error) {
    damage = describeError(error);
  }
  if (current) {
    try {
      const committed = await readGenerationPapers(directory, current);
      return { ...committed, generation: current.generation };
    } catch (error) {
      damage = `generation ${current.generation}: ${describeError(error)}`;
    }
  }
  const candidates = generations.filter((generation) => !current || generation <= current.generation);
  if (candidates.length === 0) return undefined;
  let newest: { manifest: LibraryManifest; directory: string } | undefined;
  const intact: Paper[] = [];
  const salvaged: Paper[] = [];
  for (const generation of candidates) {
    const generationDirectory = path.join(directory, generationDirectoryName(generation));
    const manifest =
      current?.generation === generation
        ? current
        : await readManifest(path.join(generationDirectory, GENERATION_MANIFEST)).catch(() => undefined);
    newest ??= manifest && { manifest, directory: generationDirectory };
    const read = manifest && (await readGenerationPapers(directory, manifest).catch(() => undefined));
    if (read) intact.push(...read.papers);
    else salvaged.push(...(await readablePapers(generationDirectory)));
  }
  return {
    manifest: newest?.manifest,
    directory: newest?.directory ?? path.join(directory, generationDirectoryName(candidates[0]!)),
    generation: newest?.manifest.generation ?? candidates[0]!,
    papers: distinctPapers([...intact, ...salvaged]),
    damage,
  };
}

/** What a damaged generation still holds: the lines of papers.jsonl that read as papers, then docstore.json's. */
async function readablePapers(generationDirectory: string): Promise<Paper[]> {
  const papers: Paper[] = [];
  const lines = await readFile(path.join(generationDirectory, 'papers.jsonl'), 'utf8').catch(() => '');
  for (const line of lines.split('\n')) {
    try {
      const paper = JSON.parse(line) as Partial<Paper>;
      if (isPaper(paper)) papers.push(paper);
    } catch {
      // An unreadable line: its paper may still be in docstore.json or an earlier generation.
    }
  }
  try {
    const docstore = JSON.parse(await readFile(path.join(generationDirectory, 'docstore.json'), 'utf8')) as Array<
      [string, { pageContent?: unknown; metadata?: { id?: unknown; title?: unknown } }]
    >;
    for (const [, document] of docstore) {
      const { id, title } = document.metadata ?? {};
      const text = document.pageContent;
      if (typeof id !== 'string' || typeof title !== 'string' || typeof text !== 'string') continue;
      // The text embedded was `${title}\n\n${abstract}`.
      if (!text.startsWith(`${title}\n\n`)) continue;
      papers.push({ id, title, abstract: text.slice(title.length + 2), source: 'upgrade' });
    }
  } catch {
    // No usable docstore either.
  }
  return papers;
}

function isPaper(value: Partial<Paper>): value is Paper {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof value.id === 'string' &&
    value.id.length > 0 &&
    typeof value.title === 'string' &&
    typeof value.abstract === 'string' &&
    typeof value.source === 'string'
  );
}

/** The first paper of each id and of each title: the database holds each once. */
function distinctPapers(papers: readonly Paper[]): Paper[] {
  const ids = new Set<string>();
  const titles = new Set<string>();
  return papers.filter((paper) => {
    const title = normalizeTitle(paper.title);
    if (ids.has(paper.id) || titles.has(title)) return false;
    ids.add(paper.id);
    titles.add(title);
    return true;
  });
}

async function readGenerationPapers(directory: string, manifest: LibraryManifest): Promise<CommittedGeneration> {
  const generationDirectory = path.join(directory, generationDirectoryName(manifest.generation));
  const text = (await readVerifiedFile(generationDirectory, 'papers.jsonl', manifest)).toString('utf8');
  const papers = text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Paper);
  if (papers.length !== manifest.papers)
    throw new Error(`papers.jsonl holds ${papers.length} papers, the manifest says ${manifest.papers}`);
  return { manifest, papers, directory: generationDirectory };
}
