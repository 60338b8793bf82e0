/**
 * SIGTERM in the middle of everything: the real bot (`npm start`) answering against the loopback Discord emulator and
 * fetching a trending day into the library, while a second process (`npm run cli -- ingest`) adds thousands of papers
 * to the same DATA_DIR; then both are stopped. Both embed with transformers.js on the fixture model, so the ingest is
 * real asynchronous work a signal can cut into.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INGEST_BATCH_SIZE } from '../../src/cli/commands/ingest.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH } from '../../src/ops/health.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { createServices } from '../../src/services.js';
import { DiscordEmulator, type InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { createFixtureModelFolder } from '../embeddings/fixtureModel.js';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';
import {
  childProcessesOf,
  cleanupsAfterEach,
  freePort,
  startProcess,
  type StartedProcess,
} from '../support/processes.js';
import { FIXTURE_MODEL_ID } from '../../scripts/make-fixture-model.js';
import { FIXTURES } from '../trending/feedServer.js';

const TOKEN = 'lifecycle-test-token';
/** Enough that embedding them takes seconds; the ingest is also held (SIGSTOP) until the SIGTERM is on its way. */
const INGESTED_PAPERS = 3_000;
/** The papers of `hf/daily_papers_2025-07-29.json`, none of them a seed. */
const TRENDING_PAPER_IDS = ['2507.20534', '2507.21001', '2507.19876', '2507.20112', '2507.18840', '2507.21345'].map(
  (id) => `arxiv:${id}`,
);

const cleanups = cleanupsAfterEach();

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `npm start` or `npm run cli -- …`, as a supervisor runs them: the SIGTERM goes to npm, which must pass it on. */
function npm(args: string[], env: Record<string, string>): StartedProcess {
  // SIGKILL would stop npm alone and leave the program it runs behind.
  return startProcess('npm', ['--silent', ...args], { env, cleanups, stopSignal: 'SIGTERM' });
}

/** Whether a SIGTERM sent to `pid` waits in its queue (it is stopped): bit 15 of `ShdPnd` in `/proc/<pid>/status`. */
async function sigtermPending(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const pending = BigInt(`0x${/^ShdPnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  return (pending & (1n << 14n)) !== 0n;
}

async function writeManyPapers(file: string): Promise<void> {
  const lines = Array.from({ length: INGESTED_PAPERS }, (_, index) =>
    JSON.stringify({
      title: `Sparse attention variant ${index} for long documents`,
      abstract:
        `We study variant ${index} of block-sparse attention on long-document summarisation and retrieval. `.repeat(6),
      arxivId: `2999.${String(index).padStart(5, '0')}`,
    }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
}

/** A Hugging Face daily-papers feed that holds every request until `release()`: a fetch still under way at SIGTERM. */
async function startHeldFeed(): Promise<{
  baseUrl: string;
  requests: () => number;
  release(): void;
  close(): Promise<void>;
}> {
  const body = await readFile(path.join(FIXTURES, 'hf', 'daily_papers_2025-07-29.json'), 'utf8');
  const held: ServerResponse[] = [];
  let released = false;
  let requests = 0;
  const answer = (response: ServerResponse) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  const server = createHttpServer((_request, response) => {
    requests += 1;
    if (released) answer(response);
    else held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    release() {
      released = true;
      for (const response of held.splice(0)) answer(response);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerText(record: InteractionRecord): string {
  return (record.original?.embeds[0] as { description?: string } | undefined)?.description ?? '';
}

describe('SIGTERM in the middle of ingest and answers', () => {
  it('given a CLI ingest, a trending fetch and answers in flight, it should exit 143 (CLI) and 0 (bot), answer each interaction once, add the fetched day whole and none of the cut ingest, and leave a library that loads', async () => {
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
    const seedPapers = await seeded.library.count();
    await seeded.close();
    const papersFile = path.join(dataDir, 'many.jsonl');
    await writeManyPapers(papersFile);

    const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000 });
    await emulator.start();
    cleanups.push(() => emulator.close());
    const llm = await startOpenAICompatibleServer();
    cleanups.push(() => llm.close());
    // The model holds the three answers until both processes have been told to stop, so they are in flight at
    // SIGTERM however slow the machine; it answers the TL;DRs of the trending papers that come later.
    let releaseAnswers!: () => void;
    const answersReleased = new Promise<void>((resolve) => (releaseAnswers = resolve));
    const heldAnswer = {
      kind: 'text',
      content: 'Byte-level models shorten long sequences [1].',
      holdAfter: { words: 0, until: answersReleased },
    } as const;
    llm.script(heldAnswer, heldAnswer, heldAnswer, { kind: 'text', content: 'A short summary of the paper.' });
    cleanups.push(async () => releaseAnswers());
    const feed = await startHeldFeed();
    cleanups.push(() => feed.close());
    const healthPort = await freePort();
    const bot = npm(['start'], {
      ...env,
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.baseURL,
      LLM_TIMEOUT_MS: '60000',
      ASK_COOLDOWN_SECONDS: '0',
      HEALTH_PORT: String(healthPort),
      TRENDING_SOURCE: 'hf',
      HF_API_BASE: feed.baseUrl,
    });
    await until(
      async () => (await fetch(`http://127.0.0.1:${healthPort}${HEALTHZ_PATH}`).catch(() => undefined))?.status === 200,
      'the bot to be ready',
    );

    const ingest = npm(['run', 'cli', '--', 'ingest', '--source', papersFile], env);
    await until(() => /embedding \d+ new papers/.test(ingest.stderr()), 'the ingest to start embedding');
    // Held mid-embedding until the SIGTERM is queued for it: the signal cuts into the ingest on any machine.
    // The process npm runs the script in (`exec node …`): npm's only child.
    const ingestNode = (await childProcessesOf(ingest.child.pid!))[0]!.pid;
    process.kill(ingestNode, 'SIGSTOP');
    cleanups.push(async () => {
      try {
        process.kill(ingestNode, 'SIGCONT');
      } catch {
        // Already exited.
      }
    });
    const questions = [
      'How do byte-level models avoid very long sequences?',
      // Questions the library answers (`high`): a `low` one would first ask the model to rewrite it.
      'How does TokenSelect select the KV cache tokens?',
      'Which papers learn tokenization end to end?',
    ];
    const asked = questions.map((question, index) =>
      emulator.dispatchCommand('ask', {
        options: { question },
        user: { id: String(200_000_000_000_000_000n + BigInt(index)), username: `reader${index}` },
      }),
    );
    await until(() => llm.requests.length >= asked.length, 'every answer to reach the model');
    const trending = emulator.dispatchCommand('trending', { subcommand: 'now', options: { date: '2025-07-29' } });
    await until(() => feed.requests() > 0, 'the bot to fetch the trending day');

    ingest.child.kill('SIGTERM');
    bot.child.kill('SIGTERM');
    await until(() => sigtermPending(ingestNode), 'npm to pass the SIGTERM on to the ingest');
    process.kill(ingestNode, 'SIGCONT');
    // The feed and the model answer only now: the bot, already stopping, must still finish adding the day's papers
    // and answering.
    feed.release();
    releaseAnswers();
    expect(await ingest.exited, ingest.stderr()).toBe(143);
    expect(ingest.stderr()).toMatch(/^papercord: interrupted \(SIGTERM\)$/m);
    expect(await bot.exited, bot.stderr()).toBe(0);

    for (const record of asked) {
      expect(answerText(record), record.id).toMatch(/\[1\]/);
      const callbacks = emulator.requests.filter(
        (request) => request.route === `/interactions/${record.id}/${record.token}/callback`,
      );
      expect(
        callbacks.map((request) => request.status),
        record.id,
      ).toEqual([204]);
      expect(record.followUps, record.id).toHaveLength(0);
    }
    const digest = trending.original?.embeds[0] as { title?: string } | undefined;
    expect(digest?.title).toMatch(/2025-07-29/);
    expect(
      emulator.requests.filter(
        (request) => request.route === `/interactions/${trending.id}/${trending.token}/callback`,
      ),
    ).toHaveLength(1);

    const reopened = await createServices(loadConfig({ ...env, LOG_LEVEL: 'silent' }), silentLogger());
    const stats = await reopened.library.stats();
    const trendingInLibrary = TRENDING_PAPER_IDS.filter((id) => reopened.library.get(id) !== undefined);
    await reopened.close();
    // The bot's fetch is whole: every paper of the day is in, with its vector. The CLI's ingest stops at a batch
    // boundary: batches committed before the SIGTERM stay (a fast machine may finish the first before the SIGSTOP),
    // the one in flight is dropped, and the ingest did not run to its end.
    expect(trendingInLibrary).toEqual(TRENDING_PAPER_IDS);
    const fromIngest = stats.papers - seedPapers - TRENDING_PAPER_IDS.length;
    expect(fromIngest % INGEST_BATCH_SIZE).toBe(0);
    expect(fromIngest).toBeLessThan(INGESTED_PAPERS);
    expect(stats.vectors).toBe(stats.papers);
  });
});
