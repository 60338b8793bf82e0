import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';

/**
 * `statfs` types (linux/magic.h) of file systems that are views of the kernel, not storage. Node's recursive `mkdir`
 * loops forever under /proc (the kernel answers ENOENT for a path whose parent exists), so a DATA_DIR there used to
 * spin at full CPU, deaf to Ctrl-C; it must be refused before anything is created.
 */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0x6e736673, 'nsfs'],
  [0xcafe4a11, 'bpf'],
]);

/** The nearest folder of `directory` that exists (itself included): where `mkdir -p` would start creating. */
async function nearestExisting(directory: string): Promise<string> {
  let current = directory;
  while (
    !(await stat(current).then(
      () => true,
      () => false,
    ))
  ) {
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
  return current;
}

/**
 * Refuses, with one line naming the variable, a folder papercord would write into that is on a pseudo-file system
 * (/proc, /sys) or, when `writable`, on a read-only mount.
 */
export async function checkStorageDirectory(
  variable: string,
  directory: string,
  options: { writable: boolean },
): Promise<void> {
  const absolute = path.resolve(directory);
  const existing = await nearestExisting(absolute);
  const type = await statfs(existing).then(
    (info) => Number(info.type),
    () => undefined,
  );
  const pseudo = type === undefined ? undefined : PSEUDO_FILE_SYSTEMS.get(type);
  if (pseudo) {
    throw new UserError(
      `${variable} ${directory} is on ${pseudo}, a view of the kernel, not storage; set ${variable} to a folder on a disk or a volume`,
    );
  }
  if (!options.writable) return;
  const readOnly = await access(existing, constants.W_OK).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'EROFS',
  );
  if (readOnly)
    throw new UserError(
      `${variable} ${directory} is on a read-only mount; set ${variable} to a writable folder or mount it read-write`,
    );
}

/**
 * DATA_DIR always; MODEL_CACHE_DIR when a model may be read from it (not with EMBEDDINGS=hashing and no reranker),
 * and must be writable only when models may be downloaded into it (a read-only folder of preloaded models is fine).
 */
export async function checkStoragePaths(
  config: Pick<Config, 'DATA_DIR' | 'MODEL_CACHE_DIR' | 'EMBEDDINGS' | 'RERANKER' | 'ALLOW_REMOTE_MODELS'>,
): Promise<void> {
  await checkStorageDirectory('DATA_DIR', config.DATA_DIR, { writable: true });
  if (config.EMBEDDINGS !== 'hashing' || config.RERANKER !== 'off') {
    await checkStorageDirectory('MODEL_CACHE_DIR', config.MODEL_CACHE_DIR, { writable: config.ALLOW_REMOTE_MODELS });
  }
}
