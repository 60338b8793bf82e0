/**
 * SIGTERM in the middle of everything: the real bot (`npm start`) answering against the loopback Discord emulator
 * while a second process (`npm run cli -- ingest`) adds thousands of papers to the same DATA_DIR, then both stopped.
 * Both embed with transformers.js on the fixture model, so the ingest is real asynchronous work a signal can cut into.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH } from '../../src/ops/health.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { createServices } from '../../src/services.js';
import { DiscordEmulator, type InteractionRecord } from '../discord/emulator/discordEmulator.js';
import { createFixtureModelFolder } from '../embeddings/fixtureModel.js';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';
import { FIXTURE_MODEL_ID } from '../../scripts/make-fixture-model.js';

const TOKEN = 'lifecycle-test-token';
/** Enough that embedding them takes seconds: the SIGTERM lands while the ingest is under way. */
const INGESTED_PAPERS = 3_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  // As `npm start` and `npm run cli` run them: one node process with the tsx loader, no supervising tsx parent.
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, stderr: () => stderr };
}

async function writeManyPapers(file: string): Promise<void> {
  const lines = Array.from({ length: INGESTED_PAPERS }, (_, index) =>
    JSON.stringify({
      title: `Sparse attention variant ${index} for long documents`,
      abstract: `We study variant ${index} of block-sparse attention on long-document summarisation and retrieval. `.repeat(6),
      arxivId: `2999.${String(index).padStart(5, '0')}`,
    }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
}

function answerText(record: InteractionRecord): string {
  return (record.original?.embeds[0] as { description?: string } | undefined)?.description ?? '';
}

describe('SIGTERM in the middle of ingest and answers', () => {
  it('given an ingest and answers in flight, it should exit 143 (CLI) and 0 (bot), answer each interaction once, and leave a library that loads with every paper complete', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-lifecycle-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const model = await createFixtureModelFolder();
    cleanups.push(() => model.remove());
    const env = {
      DATA_DIR: dataDir,
      EMBEDDINGS: 'transformers',
      EMBEDDING_MODEL: FIXTURE_MODEL_ID,
      MODEL_CACHE_DIR: model.root,
      ALLOW_REMOTE_MODELS: 'false',
      LOG_LEVEL: 'info',
    };
    const seeded = await createServices(loadConfig({ ...env, LOG_LEVEL: 'silent' }), silentLogger());
    await seeded.library.add(await loadPapersFromSource('seeds'));
    const seedPapers = seeded.library.size;
    await seeded.close();
    const papersFile = path.join(dataDir, 'many.jsonl');
    await writeManyPapers(papersFile);

    const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000 });
    await emulator.start();
    cleanups.push(() => emulator.close());
    const llm = await startOpenAICompatibleServer();
    cleanups.push(() => llm.close());
    // The model never answers: each answer stays in flight until LLM_TIMEOUT_MS, then falls back to extractive.
    llm.script({ kind: 'hang' });
    const healthPort = await freePort();
    const bot = run(['src/main.ts'], {
      ...env,
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.baseURL,
      LLM_TIMEOUT_MS: '3000',
      ASK_COOLDOWN_SECONDS: '0',
      HEALTH_PORT: String(healthPort),
    });
    await until(async () => (await fetch(`http://127.0.0.1:${healthPort}${HEALTHZ_PATH}`).catch(() => undefined))?.status === 200, 'the bot to be ready');

    const ingest = run(['src/cli/main.ts', 'ingest', '--source', papersFile], env);
    await until(() => /embedding \d+ new papers/.test(ingest.stderr()), 'the ingest to start embedding');
    const questions = ['How do byte-level models avoid very long sequences?', 'What is retrieval augmented generation?', 'Which papers learn tokenization end to end?'];
    const asked = questions.map((question, index) =>
      emulator.dispatchCommand('ask', { options: { question }, user: { id: String(200_000_000_000_000_000n + BigInt(index)), username: `reader${index}` } }),
    );
    await until(() => llm.requests.length >= asked.length, 'every answer to reach the model');

    ingest.child.kill('SIGTERM');
    bot.child.kill('SIGTERM');
    expect(await ingest.exited, ingest.stderr()).toBe(143);
    expect(ingest.stderr()).toMatch(/^papercord: interrupted \(SIGTERM\)$/m);
    expect(await bot.exited, bot.stderr()).toBe(0);

    for (const record of asked) {
      expect(answerText(record), record.id).toMatch(/\[1\]/);
      const callbacks = emulator.requests.filter((request) => request.route === `/interactions/${record.id}/${record.token}/callback`);
      expect(callbacks.map((request) => request.status), record.id).toEqual([204]);
      expect(record.followUps, record.id).toHaveLength(0);
    }

    const reopened = await createServices(loadConfig({ ...env, LOG_LEVEL: 'silent' }), silentLogger());
    const stats = await reopened.library.stats();
    await reopened.close();
    // All of the ingest or none of it, never part: the abort came before its one commit.
    expect(stats.papers).toBe(seedPapers);
    expect(stats.vectors).toBe(stats.papers);
  });
});
