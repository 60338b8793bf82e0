import { link, readdir, rm, stat } from 'node:fs/promises';
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

export async function migrateGenerations(options: MigrationOptions): Promise<void> {
  const { directory, embedder, logger } = options;
  const db = options.createDatabase(path.join(directory, 'library.db'));
  const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const setMeta = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  if (meta.get('migrated_from')) {
    // Killed after the upgrade committed, before the old files were gone.
    await removeOldFiles(directory);
    return;
  }
  const committed = await readCommittedGeneration(directory, logger);
  if (!committed) {
    await removeOldFiles(directory);
    return;
  }
  const { manifest, papers } = committed;
  const sameEmbedder = manifest.embedder.id === embedder.id && manifest.embedder.dimension === embedder.dimension;
  const graph = sameEmbedder && manifest.vectors > 0 ? await readGraph(committed, logger) : undefined;
  if (!sameEmbedder) {
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
    await link(path.join(committed.directory, 'hnswlib.index'), path.join(directory, file));
    const record = manifest.files['hnswlib.index']!;
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
    setMeta.run('migrated_from', String(manifest.generation));
  })();
  await options.onStep?.('migrated');
  await removeOldFiles(directory);
  logger.info(
    `upgraded the library in ${directory} to the database format: ${rows.length} papers, ` +
      (graph ? `${rows.length - toEmbed.length} vectors and the HNSW graph kept` : `${toEmbed.length} papers embedded`),
  );
}

async function removeOldFiles(directory: string): Promise<void> {
  for (const generation of await listGenerations(directory)) await removeGeneration(directory, generation);
  for (const name of await readdir(directory)) {
    if (name === CURRENT_MANIFEST || name.startsWith(`${CURRENT_MANIFEST}.`))
      await rm(path.join(directory, name), { force: true });
  }
}

/** The graph of a generation and its labels by paper id; undefined (with a warning) when its files are damaged. */
async function readGraph(
  generation: CommittedGeneration,
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

/** The committed generation's papers, or an earlier generation's when they are damaged (with a warning). */
async function readCommittedGeneration(directory: string, logger: Logger): Promise<CommittedGeneration | undefined> {
  const generations = await listGenerations(directory);
  let current: LibraryManifest | undefined;
  let problem: string | undefined;
  try {
    current = await readManifest(path.join(directory, CURRENT_MANIFEST));
  } catch (error) {
    problem = describeError(error);
  }
  if (current) {
    try {
      return await readGenerationPapers(directory, current);
    } catch (error) {
      problem = `generation ${current.generation}: ${describeError(error)}`;
    }
  }
  for (const generation of generations.filter((candidate) => !current || candidate < current.generation)) {
    try {
      const manifest = await readManifest(
        path.join(directory, generationDirectoryName(generation), GENERATION_MANIFEST),
      );
      const loaded = await readGenerationPapers(directory, manifest);
      logger.warn(
        `the library's papers are damaged (${problem}); falling back to generation ${generation} (${loaded.papers.length} papers)`,
      );
      return loaded;
    } catch {
      // Try an older one.
    }
  }
  if (current || generations.length > 0) {
    logger.warn(
      `the library's papers are damaged (${problem}) and no earlier generation is usable; starting with an empty library, run ingest again`,
    );
  }
  return undefined;
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
