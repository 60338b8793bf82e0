import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
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
  /** Which run of `pid` this is (see `processStart`); absent in locks written before threads were told apart. */
  started?: string;
  /** The worker thread (0: the main thread); for people reading the file. */
  thread?: number;
  /** Names this one taking of the lock, so that a release never removes another owner's lock. */
  token?: string;
  since: string;
}

/**
 * Takes `<directory>/write.lock`, so that two writers, in two processes or in two threads of one process (the bot's
 * library workers), never write at once. The file is created complete in one step (a hard link to a written file),
 * so it is never seen half-written. A lock left by a run that is gone (same host, and its pid gone or now another
 * process's) is taken over; a live owner, another thread of this process included, is waited for up to
 * `timeoutMs`, then a UserError names it.
 */
export async function acquireWriteLock(
  directory: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<WriteLock> {
  const file = path.join(directory, WRITE_LOCK);
  const deadline = Date.now() + options.timeoutMs;
  const me: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    ...(processStart(process.pid) === undefined ? {} : { started: processStart(process.pid) }),
    thread: threadId,
    token: randomUUID(),
    since: new Date().toISOString(),
  };
  for (;;) {
    options.signal?.throwIfAborted();
    if (await createLockFile(file, JSON.stringify(me))) {
      return { release: () => releaseLockFile(file, me.token!) };
    }
    const held = await readLockFile(file);
    if (held && held.owner?.hostname === me.hostname && !ownerIsAlive(held.owner)) {
      await takeOver(file, held.text);
      continue;
    }
    if (Date.now() >= deadline) {
      const owner = held?.owner;
      const who = owner
        ? `process ${owner.pid}${owner.pid === process.pid && owner.thread !== undefined ? ` (thread ${owner.thread})` : ''} on ${owner.hostname}, since ${owner.since}`
        : 'another process';
      throw new UserError(
        `the library in ${directory} is being written by ${who}; try again when it has finished (or remove ${file} if that process is gone)`,
      );
    }
    await delay(LOCK_RETRY_MS);
  }
}

const LOCK_RETRY_MS = 50;

/** Creates `file` holding `text`, unless it exists: written aside, then linked into place (link fails on EEXIST). */
async function createLockFile(file: string, text: string): Promise<boolean> {
  const aside = `${file}.${randomUUID()}.tmp`;
  await writeFile(aside, text);
  try {
    await link(aside, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    await rm(aside, { force: true });
  }
}

async function releaseLockFile(file: string, token: string): Promise<void> {
  // Only our own: a lock that is no longer ours (removed by hand, say) is someone else's now.
  if ((await readLockFile(file))?.owner?.token === token) await rm(file, { force: true });
}

/**
 * Removes a stale lock, exactly that one: waiters that all found it stale would otherwise each remove it, and a late
 * one would remove the lock an earlier one has just taken. So the remover first claims that lock's content with an
 * exclusive create; only the claim's holder checks that the content is unchanged and removes it.
 */
async function takeOver(file: string, staleText: string): Promise<void> {
  const claim = `${file}.takeover-${createHash('sha256').update(staleText).digest('hex').slice(0, 16)}`;
  let handle;
  try {
    handle = await open(claim, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another waiter is taking it over.
    await delay(LOCK_RETRY_MS);
    return;
  }
  try {
    await handle.close();
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now === staleText) await rm(file, { force: true });
  } finally {
    await rm(claim, { force: true });
  }
}

/**
 * Whether the process (and run of it) that wrote a lock still runs. A lock naming this pid is this process's (another
 * thread's, or another library's in this thread) when it names this run, and was otherwise left by an earlier run with
 * the same pid: in a container restarted after a crash, node is pid 1 again on the same hostname.
 */
function ownerIsAlive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return owner.started !== undefined && owner.started === processStart(process.pid);
  if (!processIsAlive(owner.pid)) return false;
  // The pid may have been reused by another process since.
  const now = owner.started === undefined ? undefined : processStart(owner.pid);
  return now === undefined || now === owner.started;
}

async function readLockFile(file: string): Promise<{ text: string; owner: LockOwner | undefined } | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return {
      text,
      owner: typeof owner.pid === 'number' && typeof owner.hostname === 'string' ? (owner as LockOwner) : undefined,
    };
  } catch {
    return { text, owner: undefined };
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

/**
 * When a process started, as the kernel counts it (the boot and the clock ticks since boot, from /proc), so that two
 * runs with the same pid are told apart; the same in every thread of a process. Undefined where /proc is missing.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses); starttime is field 22 of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${bootId()}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

let cachedBootId: string | undefined;

function bootId(): string {
  try {
    cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    cachedBootId = 'unknown';
  }
  return cachedBootId;
}
