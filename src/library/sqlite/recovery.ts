import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeError } from '../../errors.js';
import type { Paper } from '../../papers/paper.js';
import { syncDirectory, syncFile } from './storage.js';

/**
 * Finding and salvaging a damaged `library.db`. A healthy library pays one 100-byte header read per open: SQLite
 * finds damage where it reads (SQLITE_CORRUPT, SQLITE_NOTADB), and a full integrity check of a 100,000-paper
 * database would cost seconds on every start. When damage shows, at open or in a later read (which leaves
 * `damaged.json` behind for the next start), the papers and vectors SQLite can still read are copied into a new
 * database, the derived indexes (BM25, names, the HNSW graph) are rebuilt from them, and the damaged file is kept
 * beside it.
 */

/** Left in the library directory by a process that met damage after opening; the next open repairs. */
export const DAMAGE_MARKER = 'damaged.json';
/** The new database while it is being filled; renamed over `library.db` once complete. */
export const RECOVERED_SUFFIX = '.recovered';

/** Damage found by papercord's own checks (the header), handled as SQLite's corruption errors are. */
export class LibraryDamagedError extends Error {
  override readonly name = 'LibraryDamagedError';
}

const CORRUPTION_CODES = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_CORRUPT_INDEX',
  'SQLITE_CORRUPT_SEQUENCE',
  'SQLITE_CORRUPT_VTAB',
  'SQLITE_NOTADB',
]);

/** Whether an error (or its cause) says the database file is damaged, rather than busy, missing or read-only. */
export function isCorruption(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    if (current instanceof LibraryDamagedError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CORRUPTION_CODES.has(code)) return true;
  }
  return false;
}

/** The innermost message: "database disk image is malformed" rather than the wrapper around it. */
export function corruptionReason(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return describeError(current);
}

/**
 * O(1) checks before SQLite opens the file: the magic string, and a file shorter than the page count its header
 * records (a truncated copy or a disk that lost the tail). A marker left by a process that met damage counts too.
 */
export async function findDamage(directory: string, file: string): Promise<string | undefined> {
  const marker = await readFile(path.join(directory, DAMAGE_MARKER), 'utf8').catch(() => undefined);
  if (marker !== undefined) {
    try {
      return String((JSON.parse(marker) as { reason?: unknown }).reason ?? 'damage reported by an earlier run');
    } catch {
      return 'damage reported by an earlier run';
    }
  }
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const header = Buffer.alloc(100);
    const { bytesRead } = await handle.read(header, 0, 100, 0);
    if (bytesRead < 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\0')
      return 'file is not a database (its header is damaged)';
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
    const pages = header.readUInt32BE(28);
    // The page count is valid only when the change counter matches the "version valid for" field (SQLite's rule).
    const valid = header.readUInt32BE(24) === header.readUInt32BE(92);
    // With a write-ahead log beside it, a shorter file is normal: a process killed while checkpointing may have
    // written page 1 before the pages after the old end, and replaying the log completes them.
    const log = await stat(`${file}-wal`).catch(() => undefined);
    if (valid && pages > 0 && size < pages * pageSize && !(log && log.size > 0))
      return `the file is truncated: ${size} bytes, its header says ${pages * pageSize}`;
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Records damage met after opening, so that the next start repairs it (synchronous: called from a failing read). */
export function markDamaged(directory: string, reason: string): void {
  try {
    writeFileSync(path.join(directory, DAMAGE_MARKER), JSON.stringify({ reason, at: new Date().toISOString() }));
  } catch {
    // The warning the caller logs still says what to do.
  }
}

export interface SalvagedLibrary {
  /** Papers that could be read, in their original order. */
  papers: Array<{ paper: Paper; vector?: Float32Array }>;
  /** `<embedder id>\t<dimension>` the vectors were made by, when the meta table could be read. */
  embedder?: string;
  /** Paper rows that could not be read (or parsed). */
  lost: number;
}

/**
 * Reads every paper and vector SQLite can still read from a damaged database. A range of rows that fails is split in
 * two until the unreadable rows are isolated, so damage to one page loses only the rows on it.
 */
export function salvage(file: string, dimension: number): SalvagedLibrary {
  const db = new Database(file, { fileMustExist: true });
  try {
    // SQLite refuses a file shorter than its header says unless the schema is writable (which better-sqlite3's
    // defensive default forbids); then it reads what is there. This connection only reads.
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    const readOne = <T>(sql: string): T | undefined => {
      try {
        return db.prepare<[], T>(sql).get();
      } catch (error) {
        if (!isCorruption(error)) throw error;
        return undefined;
      }
    };
    const embedder = readOne<{ value: string }>("SELECT value FROM meta WHERE key = 'embedder'")?.value;
    const highest = Math.max(
      readOne<{ seq: number | null }>('SELECT max(seq) AS seq FROM papers')?.seq ?? -1,
      readOne<{ seq: number | null }>('SELECT max(seq) AS seq FROM vectors')?.seq ?? -1,
      readOne<{ seq: number | null }>('SELECT max(seq) AS seq FROM lexical_lengths')?.seq ?? -1,
    );
    // No maximum readable: no more rows than the file has 64-byte slices.
    const last = highest >= 0 ? highest : Math.ceil(statSync(file).size / 64);
    const papers = readRanges<{ seq: number; paper: string }>(
      db,
      'SELECT seq, paper FROM papers WHERE seq BETWEEN ? AND ? ORDER BY seq',
      last,
    );
    const vectors = readRanges<{ seq: number; vector: Buffer }>(
      db,
      'SELECT seq, vector FROM vectors WHERE seq BETWEEN ? AND ? ORDER BY seq',
      last,
    );
    const bySeq = new Map(
      vectors.rows.filter((row) => row.vector.length === dimension * 4).map((row) => [row.seq, row.vector]),
    );
    const salvaged: SalvagedLibrary['papers'] = [];
    let unparsable = 0;
    for (const row of papers.rows) {
      let paper: Paper;
      try {
        paper = JSON.parse(row.paper) as Paper;
        if (typeof paper.id !== 'string' || typeof paper.title !== 'string') throw new Error('not a paper');
      } catch {
        unparsable += 1;
        continue;
      }
      const blob = bySeq.get(row.seq);
      salvaged.push(blob ? { paper, vector: new Float32Array(new Uint8Array(blob).buffer) } : { paper });
    }
    if (papers.failedSchema) throw new LibraryDamagedError(`nothing in it can be read (${papers.failedSchema})`);
    return { papers: salvaged, embedder, lost: papers.unreadable + unparsable };
  } finally {
    try {
      db.close();
    } catch {
      // Closing may checkpoint the damaged file's log into it, which can fail on damage; it is only kept, never read.
    }
  }
}

function readRanges<T>(
  db: Database.Database,
  sql: string,
  last: number,
): { rows: T[]; unreadable: number; failedSchema?: string } {
  let statement: Database.Statement<[number, number], T>;
  try {
    statement = db.prepare<[number, number], T>(sql);
  } catch (error) {
    // The schema itself (page 1) is unreadable.
    if (isCorruption(error) || /no such table/.test(describeError(error)))
      return { rows: [], unreadable: 0, failedSchema: describeError(error) };
    throw error;
  }
  const rows: T[] = [];
  let unreadable = 0;
  const pending: Array<[number, number]> = [[0, last]];
  while (pending.length > 0) {
    const [low, high] = pending.pop()!;
    try {
      rows.push(...statement.all(low, high));
    } catch (error) {
      if (!isCorruption(error)) throw error;
      if (low === high) {
        unreadable += 1;
        continue;
      }
      const middle = Math.floor((low + high) / 2);
      // Upper half pushed first, so the lower half is read first and rows come out in order.
      pending.push([middle + 1, high], [low, middle]);
    }
  }
  return { rows, unreadable };
}

/**
 * Puts a filled `library.db.recovered` in place of the damaged file, which is kept as `library.db.damaged-<stamp>`
 * (its -wal beside it); returns the kept file's name. The new file is complete and fsynced before anything is renamed.
 */
export async function swapInRecovered(directory: string, file: string): Promise<string> {
  const recovered = `${file}${RECOVERED_SUFFIX}`;
  await syncFile(recovered);
  const kept = `${path.basename(file)}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, path.join(directory, kept)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(`${file}-wal`, path.join(directory, `${kept}-wal`)).catch(() => undefined);
  await rm(`${file}-shm`, { force: true });
  await rename(recovered, file);
  await syncDirectory(directory);
  await rm(path.join(directory, DAMAGE_MARKER), { force: true });
  return kept;
}

/**
 * A recovery killed before its swap leaves `library.db.recovered` beside the damaged file (recovered again from the
 * start); killed between the two renames, it leaves only the recovered file, which is complete: it takes its place.
 */
export async function finishInterruptedRecovery(file: string): Promise<void> {
  const recovered = `${file}${RECOVERED_SUFFIX}`;
  if (!(await exists(recovered))) return;
  if (await exists(file)) await rm(recovered, { force: true });
  else await rename(recovered, file);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
