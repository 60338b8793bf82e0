import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeEmbedder } from '../../embeddings/types.js';
import type { LibraryStats } from '../library.js';
import { DATABASE_FILE, DATABASE_FORMAT } from './database.js';
import { LEXICAL_FORMAT } from './lexicalIndex.js';
import { hasGenerations } from './migration.js';
import { bytesUnder } from './storage.js';
import type { CheckpointRecord } from './vectorIndex.js';

/**
 * What the library in `dataDir` holds, as its database records it, read without an embedder and without loading
 * the HNSW graph (hundreds of MB at 100,000 papers) or the lexical index: what `papercord stats` shows. The
 * embedder is the one that built the library. Undefined when there is no library to read this way (no database,
 * no paper added yet, the old format, another database format): opening it then is cheap, or needed.
 */
export async function storedStats(dataDir: string): Promise<LibraryStats | undefined> {
  const directory = path.join(dataDir, 'library');
  const file = path.join(directory, DATABASE_FILE);
  if (!existsSync(file) || (await hasGenerations(directory))) return undefined;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    db.pragma('busy_timeout = 30000');
    const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    const counted = db.transaction(() => ({
      format: meta.get('format')?.value,
      lexical: meta.get('lexical')?.value,
      embedder: meta.get('embedder')?.value,
      checkpoint: meta.get('checkpoint')?.value,
      // The papers the lexical index holds, as `size` counts them; a small table, unlike `papers`.
      papers: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM lexical_lengths').get()!.count,
      vectors: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM vectors').get()!.count,
      lastSeq: db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM papers').get()!.seq ?? -1,
    }))();
    if (
      counted.format !== DATABASE_FORMAT ||
      counted.lexical !== LEXICAL_FORMAT ||
      counted.embedder === undefined ||
      counted.papers === 0
    )
      return undefined;
    const [embedder, dimension] = counted.embedder.split('\t') as [string, string];
    const checkpointed =
      counted.checkpoint === undefined ? -1 : (JSON.parse(counted.checkpoint) as CheckpointRecord).throughSeq;
    return {
      papers: counted.papers,
      vectors: counted.vectors,
      embedder,
      embedderDescription: describeEmbedder(embedder, Number(dimension)),
      dimension: Number(dimension),
      bytesOnDisk: await bytesUnder(directory),
      vectorsSinceCheckpoint: Math.max(0, counted.lastSeq - checkpointed),
      directory,
    };
  } catch {
    // A table missing or unreadable: opening the library repairs it or says what is wrong.
    return undefined;
  } finally {
    db.close();
  }
}
