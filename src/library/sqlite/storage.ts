import { createHash } from 'node:crypto';
import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { UserError } from '../../errors.js';

/**
 * On-disk layout of the library: `library/gen-NNNNNN/` directories, each a complete snapshot with its own
 * `manifest.json`, and `library/current.json`, a copy of the committed generation's manifest. Replacing
 * `current.json` (temp file, fsync, rename, fsync of the directory) is the one commit point of a save.
 */

export const MANIFEST_FORMAT = 1;
export const CURRENT_MANIFEST = 'current.json';
export const GENERATION_MANIFEST = 'manifest.json';

const fileRecordSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  generation: z.number().int().positive(),
  embedder: z.object({ id: z.string().min(1), dimension: z.number().int().positive() }),
  papers: z.number().int().nonnegative(),
  vectors: z.number().int().nonnegative(),
  files: z.record(fileRecordSchema),
  savedAt: z.string(),
});

export type LibraryManifest = z.infer<typeof manifestSchema>;
export type FileRecord = z.infer<typeof fileRecordSchema>;

export function generationDirectoryName(generation: number): string {
  return `gen-${String(generation).padStart(6, '0')}`;
}

/** Generation numbers of the `gen-NNNNNN` directories present, newest first. */
export async function listGenerations(libraryDir: string): Promise<number[]> {
  const entries = await readdir(libraryDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => /^gen-(\d{6,})$/.exec(entry.name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

/** Writes and fsyncs a file, so that what the manifest records is on disk before the manifest is. */
export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a file written by someone else's code (hnswlib, LangChain) to disk. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename inside `directory` durable; a no-op where directories cannot be opened for sync. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

export async function recordFile(file: string): Promise<FileRecord> {
  const data = await readFile(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

/**
 * Reads a file the manifest lists and checks its size and checksum, so that a truncated or corrupted file is
 * reported here instead of crashing a native reader later.
 */
export async function readVerifiedFile(directory: string, name: string, manifest: LibraryManifest): Promise<Buffer> {
  const expected = manifest.files[name];
  if (!expected) throw new Error(`${name} is not listed in the manifest`);
  const data = await readFile(path.join(directory, name)).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${name} cannot be read (${error.code ?? error.message})`);
  });
  if (data.length !== expected.bytes)
    throw new Error(`${name} has ${data.length} bytes, the manifest says ${expected.bytes}`);
  const digest = createHash('sha256').update(data).digest('hex');
  if (digest !== expected.sha256) throw new Error(`${name} does not match its checksum`);
  return data;
}

export async function readManifest(file: string): Promise<LibraryManifest> {
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path.basename(file)} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${path.basename(file)} is not a library manifest`);
  return parsed.data;
}

/** Atomically replaces `current.json`: the commit point of a save. */
export async function commitManifest(libraryDir: string, manifest: LibraryManifest): Promise<void> {
  const temporary = path.join(libraryDir, `${CURRENT_MANIFEST}.${process.pid}.tmp`);
  await writeFileDurably(temporary, JSON.stringify(manifest, null, 2));
  await rename(temporary, path.join(libraryDir, CURRENT_MANIFEST));
  await syncDirectory(libraryDir);
}

export async function removeGeneration(libraryDir: string, generation: number): Promise<void> {
  await rm(path.join(libraryDir, generationDirectoryName(generation)), { recursive: true, force: true });
}

/** Total size of the files under `directory`. */
export async function bytesUnder(directory: string): Promise<number> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) total += await bytesUnder(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

export const WRITE_LOCK = 'write.lock';

export interface WriteLock {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  hostname: string;
  since: string;
}

/**
 * Takes `<directory>/write.lock`, so that two processes (the bot and a CLI ingest) never write generations over
 * each other. A lock left by a process that died (same host, pid gone) is taken over; a live owner is waited for
 * up to `timeoutMs`, then a UserError names it.
 */
export async function acquireWriteLock(
  directory: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<WriteLock> {
  const file = path.join(directory, WRITE_LOCK);
  const deadline = Date.now() + options.timeoutMs;
  const me: LockOwner = { pid: process.pid, hostname: os.hostname(), since: new Date().toISOString() };
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      heldLocks.add(file);
      return {
        release: async () => {
          heldLocks.delete(file);
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readLockOwner(file);
    if (owner && owner.hostname === me.hostname && !ownerIsAlive(owner.pid, file)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner ? `process ${owner.pid} on ${owner.hostname}, since ${owner.since}` : 'another process';
      throw new UserError(
        `the library in ${directory} is being written by ${who}; try again when it has finished (or remove ${file} if that process is gone)`,
      );
    }
    await delay(LOCK_RETRY_MS);
  }
}

const LOCK_RETRY_MS = 50;

/** Lock files this process holds now. */
const heldLocks = new Set<string>();

/**
 * A lock naming this very process, which does not hold it, was left by an earlier run that had the same pid: in a
 * container restarted after a crash, node is pid 1 again on the same hostname, and would otherwise wait for itself.
 */
function ownerIsAlive(pid: number, file: string): boolean {
  return pid === process.pid ? heldLocks.has(file) : processIsAlive(pid);
}

async function readLockOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.hostname === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    // Being written right now, or already gone.
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
