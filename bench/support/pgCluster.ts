import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A throwaway PostgreSQL 15 cluster with pgvector for the benchmarks, started as `.ci/pgvector.sh` starts the test
 * cluster but with the server's durability on (`fsync` stays on, as in production): the figures are those of a real
 * server. Needs PostgreSQL 15 and pgvector installed (`.ci/pgvector.sh` installs them) and, as root, runs the server
 * as the `postgres` user.
 */

const PG_BIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export interface ThrowawayCluster {
  /** `postgres://postgres@127.0.0.1:<port>/papercord_bench` */
  url: string;
  stop(): Promise<void>;
}

export interface ClusterSettings {
  /** PostgreSQL settings given to the server (`-c name=value`), e.g. shared_buffers. */
  settings?: Record<string, string>;
}

export async function startThrowawayCluster(options: ClusterSettings = {}): Promise<ThrowawayCluster> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  // The server refuses to run as root; from / because the postgres user cannot enter a private working directory.
  const asServer = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, command), ...args], { cwd: '/' })
      : run(path.join(PG_BIN, command), args);
  if (asRoot) await run('chown', ['postgres:postgres', directory]);
  const port = await freePort();
  const data = path.join(directory, 'data');
  const settings = Object.entries({ listen_addresses: '127.0.0.1', ...options.settings })
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  try {
    await asServer('initdb', ['-D', data, '-U', 'postgres', '--auth=trust']);
    await asServer('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(directory, 'server.log'),
      '-w',
      '-o',
      `-p ${port} -k ${directory} ${settings}`,
      'start',
    ]);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw new Error(`could not start a throwaway PostgreSQL in ${directory}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const stop = async () => {
    await asServer('pg_ctl', ['-D', data, '-m', 'fast', 'stop']).catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE papercord_bench');
    await admin.end();
    return { url: `postgres://postgres@127.0.0.1:${port}/papercord_bench`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
