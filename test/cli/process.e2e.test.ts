/**
 * The CLI as a shell runs it: a real `papercord` process started as `npm run cli` starts it (scripts/cli.mjs, which
 * runs the compiled CLI), for what only a process has: its working directory's `.env` file and the signals a
 * terminal sends.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';
import { cleanupsAfterEach, seededDataDir, startProcess } from '../support/processes.js';

const CLI = path.resolve('scripts/cli.mjs');
const cleanups = cleanupsAfterEach();

async function workDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'papercord-cli-process-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/** `papercord <args>` started from `cwd` with only `env` (plus PATH and HOME). */
function papercord(args: string[], env: Record<string, string>, cwd?: string) {
  return startProcess(process.execPath, [CLI, ...args], {
    env,
    cleanups,
    stopSignal: 'SIGKILL',
    ...(cwd ? { cwd } : {}),
  });
}

describe('the papercord process', () => {
  it('given a .env file in the working directory, it should use its values, and the environment should win over it', async () => {
    const work = await workDirectory();
    await writeFile(path.join(work, '.env'), 'DATA_DIR=./from-dotenv\nEMBEDDINGS=hashing\nLOG_LEVEL=silent\n');

    const overridden = papercord(['stats', '--json'], { DATA_DIR: './from-environment' }, work);
    expect(await overridden.exited, overridden.stderr()).toBe(0);
    expect((await readdir(work)).sort()).toEqual(['.env', 'from-environment']);

    const fromFile = papercord(['stats', '--json'], {}, work);
    expect(await fromFile.exited, fromFile.stderr()).toBe(0);
    expect((await readdir(work)).sort()).toEqual(['.env', 'from-dotenv', 'from-environment']);
  });

  it('given Ctrl-C while an answer is on its way, it should stop with one line and exit 130', async () => {
    const { dataDir } = await seededDataDir('papercord-cli-sigint-', cleanups);
    const llm = await startOpenAICompatibleServer();
    cleanups.push(() => llm.close());
    llm.script({ kind: 'hang' });

    const asking = papercord(['ask', 'how do byte-level models avoid very long sequences?'], {
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      LOG_LEVEL: 'silent',
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.baseURL,
      LLM_MODEL: 'test-model',
      LLM_TIMEOUT_MS: '120000',
    });
    // The model holds the request: the signal surely lands while the answer is still on its way.
    for (let waited = 0; llm.requests.length === 0; waited += 25) {
      if (waited > 60_000) throw new Error('the question never reached the model');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    asking.child.kill('SIGINT');

    expect(await asking.exited).toBe(130);
    expect(asking.stderr()).toBe('papercord: interrupted (SIGINT)\n');
  });
});
