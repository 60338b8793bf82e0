/**
 * `npm start` with HEALTH_PORT, as a container runs it: the real bot process against the loopback Discord emulator,
 * probed over HTTP the way the Dockerfile HEALTHCHECK and Prometheus do.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH, METRICS_PATH } from '../../src/ops/health.js';
import { createServices } from '../../src/services.js';
import { DiscordEmulator } from '../../src/emulator/discordEmulator.js';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';
import {
  RUN_TS,
  cleanupsAfterEach,
  freePort,
  pollUntil,
  seededDataDir,
  startProcess,
  type StartedProcess,
} from '../support/processes.js';

const TOKEN = 'ops-test-token';

const cleanups = cleanupsAfterEach();

function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function npmStart(env: Record<string, string>): StartedProcess {
  return startProcess(process.execPath, [...RUN_TS, 'src/main.ts'], { env, cleanups, stopSignal: 'SIGKILL' });
}

/** The bot against `emulator` over the seeded library, with no cooldown and health served on `healthPort`. */
function botEnv(emulator: DiscordEmulator, dataDir: string, healthPort: number): Record<string, string> {
  return {
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_BASE: emulator.apiBase,
    DATA_DIR: dataDir,
    EMBEDDINGS: 'hashing',
    LOG_LEVEL: 'silent',
    ASK_COOLDOWN_SECONDS: '0',
    HEALTH_PORT: String(healthPort),
    HEALTH_HOST: '127.0.0.1',
  };
}

describe('health and metrics of the running bot', () => {
  it('given HEALTH_PORT, the bot should report healthy, count answered commands, turn 503 when the gateway is gone, and close the port on SIGTERM', async () => {
    const { dataDir, papers } = await seededDataDir('papercord-ops-', cleanups);
    const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1000 });
    await emulator.start();
    let emulatorClosed = false;
    cleanups.push(async () => {
      if (!emulatorClosed) await emulator.close();
    });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;

    const { child, exited } = npmStart({ ...botEnv(emulator, dataDir, port), LLM_PROVIDER: 'none' });

    const healthy = await pollUntil(`${base}${HEALTHZ_PATH}`, (status) => status === 200);
    expect(await healthy!.json()).toEqual({ status: 'ok', failing: [], gateway: true, library: true, papers });

    const asked = emulator.dispatchCommand('ask', {
      options: { question: 'How do byte-level models avoid very long sequences?' },
    });
    await emulator.waitForInteraction(asked.id, (changed) => (changed.original?.embeds.length ?? 0) > 0, 20_000);
    const unknown = emulator.dispatchCommand('paper', { options: { paper: 'qqqq no such paper zzzz' } });
    // Acknowledged first (the lookup runs in a library worker), then told privately that nothing matches.
    await emulator.waitForInteraction(unknown.id, (changed) => changed.followUps.length > 0, 20_000);

    const metrics = await (await fetch(`${base}${METRICS_PATH}`)).text();
    expect(sample(metrics, 'papercord_interactions_total{command="ask",outcome="ok"}')).toBe(1);
    expect(sample(metrics, 'papercord_interactions_total{command="paper",outcome="user_error"}')).toBe(1);
    expect(sample(metrics, 'papercord_answer_latency_seconds_count')).toBe(1);
    expect(sample(metrics, 'papercord_library_papers')).toBe(papers);

    await emulator.close();
    emulatorClosed = true;
    const unhealthy = await pollUntil(`${base}${HEALTHZ_PATH}`, (status) => status === 503);
    expect(await unhealthy!.json()).toMatchObject({ status: 'unavailable', failing: ['gateway'], library: true });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${base}${HEALTHZ_PATH}`)).rejects.toThrow();
  });
});

describe('stopping the running bot', () => {
  it('given answers in flight when SIGTERM arrives, it should answer each of them once, exit 0, and leave a library that loads', async () => {
    const { dataDir, papers } = await seededDataDir('papercord-ops-', cleanups);
    const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1000 });
    await emulator.start();
    cleanups.push(() => emulator.close());
    const llm = await startOpenAICompatibleServer();
    cleanups.push(() => llm.close());
    // The model never answers: each answer stays in flight until LLM_TIMEOUT_MS, then falls back to extractive.
    llm.script({ kind: 'hang' });
    const port = await freePort();

    const { child, exited } = npmStart({
      ...botEnv(emulator, dataDir, port),
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.baseURL,
      LLM_TIMEOUT_MS: '3000',
    });
    await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === 200);

    const questions = [
      'How do byte-level models avoid very long sequences?',
      'What is retrieval augmented generation?',
    ];
    const asked = questions.map((question) => emulator.dispatchCommand('ask', { options: { question } }));
    for (const record of asked)
      await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 5, 20_000);
    const deadline = Date.now() + 20_000;
    while (llm.requests.length < asked.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(llm.requests.length).toBe(asked.length);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    for (const record of asked) {
      const answer = record.original?.embeds[0] as { description?: string } | undefined;
      expect(answer?.description, record.id).toMatch(/\[1\]/);
      // Once: one reply, no second copy sent as a follow-up by a retry after the restart began.
      expect(record.followUps, record.id).toHaveLength(0);
    }
    const reopened = await createServices(
      loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' }),
      silentLogger(),
    );
    expect(await reopened.library.count()).toBe(papers);
    await reopened.close();
  });
});
