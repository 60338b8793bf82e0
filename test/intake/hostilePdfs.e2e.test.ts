/**
 * `papercord add <hostile.pdf> --json` as a shell runs it (the compiled CLI, its PDF child included): each file is
 * refused with one line naming the limit, and nothing is added.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDecompressionBombPdf, makeManyPagesPdf } from '../helpers/hostilePdfs.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'papercord-hostile-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function papercordAdd(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve('scripts/cli.mjs'), 'add', file, '--json'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATA_DIR: path.join(work, 'data'),
      EMBEDDINGS: 'hashing',
      LOG_LEVEL: 'silent',
      FULL_TEXT: 'off',
      // Nothing here may reach arXiv: port 9 (discard) refuses at once.
      ARXIV_API_BASE: 'http://127.0.0.1:9',
      HF_API_BASE: 'http://127.0.0.1:9',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('papercord add with hostile PDFs', () => {
  it.each([
    ['a 1 MB decompression bomb', 'bomb.pdf', () => makeDecompressionBombPdf(), /PDF_MAX_DECOMPRESSED_MB/],
    ['a 20,000-page PDF', 'pages.pdf', async () => makeManyPagesPdf(20_000), /has 20000 pages.*\(PDF_MAX_PAGES\)/],
  ])('given %s, it should report error naming the limit and exit 1', async (_label, name, make, limit) => {
    const file = path.join(work, name);
    await writeFile(file, await make());

    const run = await papercordAdd(file);

    expect(run.code, run.stderr).toBe(1);
    const [row] = JSON.parse(run.stdout) as Array<{ status: string; message: string; id: string | null }>;
    expect(row).toMatchObject({ status: 'error', id: null });
    expect(row!.message).toMatch(limit);
  });

  it('given a file over PDF_MAX_BYTES, it should refuse it without reading it', async () => {
    const file = path.join(work, 'big.pdf');
    await writeFile(file, Buffer.alloc(26 * 1024 * 1024, 0x20));

    const run = await papercordAdd(file);

    const [row] = JSON.parse(run.stdout) as Array<{ status: string; message: string }>;
    expect(row).toEqual({
      input: file,
      id: null,
      title: null,
      status: 'error',
      message: `${file} is 26.0 MB; papercord reads PDFs up to 25 MB (PDF_MAX_BYTES); nothing was added`,
    });
  });
});
