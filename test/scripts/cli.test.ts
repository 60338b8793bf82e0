/**
 * `npm run cli` (scripts/cli.mjs): the CLI runs from compiled JavaScript, compiled again from every source that
 * changed, so a developer never runs stale code. Most tests use a small project of their own in a temp folder (the
 * launcher, tsconfig.json, this repository's node_modules, two source files), so they can edit its sources.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupsAfterEach, seededDataDir } from '../support/processes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cleanups = cleanupsAfterEach();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scripts/cli.mjs on a project of its own', () => {
  let project: string;
  const launch = (...args: string[]) => run(process.execPath, ['scripts/cli.mjs', ...args], { cwd: project });
  const source = (file: string, text: string) => writeFile(path.join(project, 'src/cli', file), text);
  const compiled = (file: string) => path.join(project, 'dist/src/cli', file);

  beforeEach(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'papercord-launcher-'));
    await mkdir(path.join(project, 'scripts'));
    await mkdir(path.join(project, 'src/cli'), { recursive: true });
    await copyFile(path.join(REPO, 'scripts/cli.mjs'), path.join(project, 'scripts/cli.mjs'));
    await copyFile(path.join(REPO, 'tsconfig.json'), path.join(project, 'tsconfig.json'));
    await symlink(path.join(REPO, 'node_modules'), path.join(project, 'node_modules'));
    await source(
      'main.ts',
      "import { greeting } from './greeting.js';\n" +
        'export async function runFromCommandLine(argv: string[]): Promise<void> {\n' +
        "  process.stdout.write(`${greeting(argv[0] ?? 'world')}\\n`);\n" +
        '}\n',
    );
    await source('greeting.ts', 'export const greeting = (name: string): string => `hello ${name}`;\n');
  });
  afterEach(() => rm(project, { recursive: true, force: true }));

  it('given a source changed since the last run, it should run the new code, compiling only what changed', async () => {
    expect(await launch('reader')).toEqual({ code: 0, stdout: 'hello reader\n', stderr: '' });
    const mainBefore = (await stat(compiled('main.js'))).mtimeMs;

    await source('greeting.ts', 'export const greeting = (name: string): string => `hi ${name}, again`;\n');

    expect(await launch('reader')).toEqual({ code: 0, stdout: 'hi reader, again\n', stderr: '' });
    expect((await stat(compiled('main.js'))).mtimeMs).toBe(mainBefore);
  });

  it('given a compiled file another build overwrote with older code, it should compile it again', async () => {
    await launch();
    await writeFile(compiled('greeting.js'), "export const greeting = () => 'stale';\n");

    expect((await launch()).stdout).toBe('hello world\n');
  });

  it('given a source deleted, it should remove its compiled file', async () => {
    await source('extra.ts', 'export const extra = 1;\n');
    await launch();
    expect(await readdir(path.dirname(compiled('extra.js')))).toContain('extra.js');

    await rm(path.join(project, 'src/cli/extra.ts'));
    await launch();

    expect((await readdir(path.dirname(compiled('extra.js')))).filter((name) => name.startsWith('extra'))).toEqual([]);
  });

  it('given a source that does not compile, it should name the file, exit 1 and not run the previous build', async () => {
    await launch();
    await source('greeting.ts', 'export const greeting = (name: string): string => `hello ${name`;\n');

    const result = await launch();

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/greeting\.ts/);
    expect(result.stderr).toMatch(/^papercord: could not compile src/m);
  });
});

describe('npm run cli in this repository', () => {
  it('given a seeded library, stats and search should answer from the compiled CLI', async () => {
    const { dataDir } = await seededDataDir('papercord-npm-run-cli-', cleanups);
    const env = { DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'warn', FULL_TEXT: 'off' };

    const stats = await run('npm', ['run', '-s', 'cli', '--', 'stats', '--json'], { cwd: REPO, env });
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      papers: 54,
      vectors: 54,
      embedder: expect.stringMatching(/^hashing:/),
    });

    const search = await run(
      'npm',
      ['run', '-s', 'cli', '--', 'search', 'Mixture-of-Recursions', '-k', '1', '--json'],
      { cwd: REPO, env },
    );
    expect(search.code, search.stderr).toBe(0);
    expect(JSON.parse(search.stdout)).toEqual([
      expect.objectContaining({ title: expect.stringMatching(/^Mixture-of-Recursions/) }),
    ]);
    // What ran was the compiled entry point, the one the package's bin names.
    expect((await stat(path.join(REPO, 'dist/src/cli/main.js'))).isFile()).toBe(true);
  });
});
