/**
 * Folders that cannot hold papercord's data: refused at start in one line, exit 1, before anything is created (a
 * DATA_DIR under /proc used to make Node's recursive mkdir spin forever).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';

const TSX = path.resolve('node_modules/.bin/tsx');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'papercord-paths-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('DATA_DIR and MODEL_CACHE_DIR that cannot work', () => {
  it.each([
    ['/proc/x', 'proc'],
    ['/sys/papercord', 'sysfs'],
  ])('given DATA_DIR=%s, it should exit 1 with one line naming the variable', async (dataDir, fileSystem) => {
    const result = await runPapercord(['stats'], { DATA_DIR: dataDir });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `papercord: DATA_DIR ${dataDir} is on ${fileSystem}, a view of the kernel, not storage; set DATA_DIR to a folder on a disk or a volume\n`,
    });
  });

  it('given MODEL_CACHE_DIR under /proc with a model to load, it should exit 1 naming MODEL_CACHE_DIR; with the hashing embedder it is not used', async () => {
    const dataDir = path.join(work, 'models-check');
    const refused = await runPapercord(['stats'], {
      DATA_DIR: dataDir,
      EMBEDDINGS: 'transformers',
      MODEL_CACHE_DIR: '/proc/self/models',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^papercord: MODEL_CACHE_DIR \/proc\/self\/models is on proc, a view of the kernel, not storage; set MODEL_CACHE_DIR to a folder on a disk or a volume\n$/,
    );

    const unused = await runPapercord(['stats', '--json'], {
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      MODEL_CACHE_DIR: '/proc/self/models',
    });
    expect(unused.code).toBe(0);
  });

  it('given DATA_DIR on a read-only mount, the real process should exit 1 with one line and create nothing', async (context) => {
    const mounted = path.join(work, 'read-only');
    await rm(mounted, { recursive: true, force: true });
    await mkdir(mounted);
    // A private mount namespace (root only) where the folder is bind-mounted read-only, then the real CLI.
    const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" src/cli/main.ts stats`;
    const probe = spawnSync('unshare', [
      '-m',
      'sh',
      '-c',
      'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"',
      'sh',
      mounted,
    ]);
    if (probe.status !== 0) {
      console.log(
        `read-only mount test skipped: cannot bind-mount read-only here (unshare -m needs root): ${String(probe.stderr).trim()}`,
      );
      context.skip();
    }
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', mounted, TSX], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATA_DIR: path.join(mounted, 'data'),
        EMBEDDINGS: 'hashing',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `papercord: DATA_DIR ${path.join(mounted, 'data')} is on a read-only mount; set DATA_DIR to a writable folder or mount it read-write\n`,
    );
    expect(await readdir(mounted)).toEqual([]);
  });
});
