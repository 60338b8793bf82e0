/**
 * `npm start` with SHARDS=2: discord.js's ShardingManager forks one bot process per shard, against the loopback
 * Discord emulator, over one shared library.
 */
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH } from '../../src/ops/health.js';
import { createServices } from '../../src/services.js';
import { DiscordEmulator, shardOfGuild, type InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { missingService } from '../support/services.js';
import {
  childProcessesOf,
  cleanupsAfterEach,
  freePort,
  pollUntil,
  seededDataDir,
  startProcess,
  type StartedProcess,
} from '../support/processes.js';

const TOKEN = 'sharding-test-token';

const cleanups = cleanupsAfterEach();

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A free port whose successor is free too: shard 0 serves health on it, shard 1 on the next. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await canListen(port + 1))) return port;
  }
}

function npmStart(env: Record<string, string>): StartedProcess {
  // As `npm start` runs it: node with the tsx loader, which the manager passes on to the shard processes.
  // The manager's process group would outlive a SIGKILL of the manager alone; SIGTERM stops the shards too.
  return startProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, cleanups, stopSignal: 'SIGTERM' });
}

function citedAnswer(record: InteractionRecord): string | undefined {
  return (record.original?.embeds[0] as { description?: string } | undefined)?.description;
}

describe('sharding', () => {
  it('given SHARDS=2 and two servers on different shards, it should identify shards [0,2] and [1,2], answer /ask in each server from its own shard and the shared library, respawn a killed shard while the other keeps answering, and stop both with exit 0 on SIGTERM', async () => {
    const { dataDir, papers } = await seededDataDir('papercord-shards-', cleanups);
    const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000, shards: 2 });
    const servers = [emulator.addGuild({ onShard: [0, 2] }), emulator.addGuild({ onShard: [1, 2] })];
    await emulator.start();
    cleanups.push(() => emulator.close());
    const healthPort = await twoFreePorts();

    const { child, exited, stderr } = npmStart({
      SHARDS: '2',
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      LOG_LEVEL: 'warn',
      LLM_PROVIDER: 'none',
      ASK_COOLDOWN_SECONDS: '0',
      HEALTH_PORT: String(healthPort),
      HEALTH_HOST: '127.0.0.1',
    });
    for (const port of [healthPort, healthPort + 1])
      await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === 200, 60_000);

    expect(emulator.identifiedShards.map((shard) => [...shard]).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const asked = servers.map(({ channelId }) =>
      emulator.dispatchCommand('ask', {
        channelId,
        options: { question: 'How do byte-level models avoid very long sequences?' },
      }),
    );
    for (const [index, record] of asked.entries()) {
      const answered = await emulator.waitForInteraction(
        record.id,
        (changed) => /\[1\]/.test(citedAnswer(changed) ?? ''),
        30_000,
      );
      expect(answered.shardId).toBe(index);
      expect(answered.shardId).toBe(
        shardOfGuild(emulator.channels.get(servers[index]!.channelId)!.guild_id as string, 2),
      );
      expect(answered.followUps).toHaveLength(0);
    }

    // Shard 1's process dies (SIGKILL: no clean-up of its own). Shard 0 keeps answering; the manager forks shard 1 again.
    const shardProcess = (await childProcessesOf(child.pid!)).find((process) => process.env.SHARDS === '1')!;
    const identifiesBefore = emulator.gatewayStats.identifies;
    process.kill(shardProcess.pid, 'SIGKILL');
    const whileDown = emulator.dispatchCommand('ask', {
      channelId: servers[0]!.channelId,
      options: { question: 'What is retrieval augmented generation?' },
    });
    expect(
      (await emulator.waitForInteraction(whileDown.id, (changed) => /\[1\]/.test(citedAnswer(changed) ?? ''), 30_000))
        .shardId,
    ).toBe(0);
    await vi.waitFor(() => expect(emulator.gatewayStats.identifies).toBe(identifiesBefore + 1), {
      timeout: 60_000,
      interval: 50,
    });
    await pollUntil(`http://127.0.0.1:${healthPort + 1}${HEALTHZ_PATH}`, (status) => status === 200, 60_000);
    expect(stderr()).toMatch(/"shardId":1,.*"respawnInMs":1000,.*"msg":"shard process exited; respawning it"/);
    const afterRespawn = emulator.dispatchCommand('ask', {
      channelId: servers[1]!.channelId,
      options: { question: 'What is retrieval augmented generation?' },
    });
    expect(
      (
        await emulator.waitForInteraction(
          afterRespawn.id,
          (changed) => /\[1\]/.test(citedAnswer(changed) ?? ''),
          30_000,
        )
      ).shardId,
    ).toBe(1);

    child.kill('SIGTERM');
    expect(await exited, stderr()).toBe(0);
    for (const port of [healthPort, healthPort + 1])
      await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === undefined, 5_000);
    const reopened = await createServices(
      loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' }),
      silentLogger(),
    );
    expect(await reopened.library.count()).toBe(papers);
    await reopened.close();
  });

  it('given SHARDS=2 and a bad setting, it should print one line and exit 1 without starting a shard', async () => {
    const emulator = new DiscordEmulator({ token: TOKEN, shards: 2 });
    await emulator.start();
    cleanups.push(() => emulator.close());
    const { exited, stderr } = npmStart({
      SHARDS: '2',
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      LLM_TIMEOUT_MS: 'soon',
    });
    expect(await exited).toBe(1);
    expect(stderr()).toBe('papercord: LLM_TIMEOUT_MS: expected a whole number (got "soon")\n');
    expect(emulator.gatewayStats.connections).toBe(0);
  });

  const pgvectorUrl = process.env.PGVECTOR_TEST_URL;
  const withoutPostgres = missingService(
    'PostgreSQL with pgvector',
    pgvectorUrl
      ? undefined
      : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
  );

  it.skipIf(withoutPostgres)(
    'given SHARDS=2 with VECTOR_STORE=pgvector, both shards should answer from the one library in PostgreSQL',
    async () => {
      const admin = new pg.Pool({ connectionString: pgvectorUrl, max: 1 });
      const database = `papercord_shards_${process.pid}_${Date.now().toString(36)}`;
      await admin.query(`CREATE DATABASE ${database}`);
      cleanups.push(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.end();
      });
      const databaseUrl = Object.assign(new URL(pgvectorUrl!), { pathname: `/${database}` }).href;
      const store = { VECTOR_STORE: 'pgvector', DATABASE_URL: databaseUrl };
      const { dataDir, papers } = await seededDataDir('papercord-shards-pg-', cleanups, store);
      const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000, shards: 2 });
      const servers = [emulator.addGuild({ onShard: [0, 2] }), emulator.addGuild({ onShard: [1, 2] })];
      await emulator.start();
      cleanups.push(() => emulator.close());
      const healthPort = await twoFreePorts();

      const { child, exited, stderr } = npmStart({
        ...store,
        SHARDS: '2',
        DISCORD_TOKEN: TOKEN,
        DISCORD_API_BASE: emulator.apiBase,
        DATA_DIR: dataDir,
        EMBEDDINGS: 'hashing',
        LOG_LEVEL: 'warn',
        ASK_COOLDOWN_SECONDS: '0',
        HEALTH_PORT: String(healthPort),
        HEALTH_HOST: '127.0.0.1',
      });
      for (const port of [healthPort, healthPort + 1])
        await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === 200, 60_000);

      const asked = servers.map(({ channelId }) =>
        emulator.dispatchCommand('ask', {
          channelId,
          options: { question: 'How do byte-level models avoid very long sequences?' },
        }),
      );
      for (const [index, record] of asked.entries()) {
        const answered = await emulator.waitForInteraction(
          record.id,
          (changed) => /\[1\]/.test(citedAnswer(changed) ?? ''),
          30_000,
        );
        expect(answered.shardId).toBe(index);
      }
      // The papers live in PostgreSQL only: no shard built an index of its own.
      const library = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      const { rows } = await library.query<{ count: string }>('SELECT count(*) FROM papercord_library');
      await library.end();
      expect(Number(rows[0]!.count)).toBe(papers);
      const files = (await readdir(dataDir, { recursive: true })).map(String);
      expect(files.some((file) => file.endsWith('.hnsw') || file.endsWith('hnswlib.index'))).toBe(false);

      child.kill('SIGTERM');
      expect(await exited, stderr()).toBe(0);
    },
  );
});
