/**
 * `npm start` with SHARDS=2: discord.js's ShardingManager forks one bot process per shard, against the loopback
 * Discord emulator, over one shared library.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { HEALTHZ_PATH } from '../../src/ops/health.js';
import { createServices } from '../../src/services.js';
import { DiscordEmulator, shardOfGuild, type InteractionRecord } from '../discord/emulator/discordEmulator.js';
import { cleanupsAfterEach, freePort, pollUntil, seededDataDir, startProcess, type StartedProcess } from '../support/processes.js';

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
  it('given SHARDS=2 and two servers on different shards, it should identify shards [0,2] and [1,2], answer /ask in each server from its own shard and the shared library, and stop both shards with exit 0 on SIGTERM', async () => {
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
    for (const port of [healthPort, healthPort + 1]) await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === 200, 60_000);

    expect(emulator.identifiedShards.map((shard) => [...shard]).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const asked = servers.map(({ channelId }) =>
      emulator.dispatchCommand('ask', { channelId, options: { question: 'How do byte-level models avoid very long sequences?' } }),
    );
    for (const [index, record] of asked.entries()) {
      const answered = await emulator.waitForInteraction(record.id, (changed) => /\[1\]/.test(citedAnswer(changed) ?? ''), 30_000);
      expect(answered.shardId).toBe(index);
      expect(answered.shardId).toBe(shardOfGuild(emulator.channels.get(servers[index]!.channelId)!.guild_id as string, 2));
      expect(answered.followUps).toHaveLength(0);
    }

    child.kill('SIGTERM');
    expect(await exited, stderr()).toBe(0);
    for (const port of [healthPort, healthPort + 1]) await pollUntil(`http://127.0.0.1:${port}${HEALTHZ_PATH}`, (status) => status === undefined, 5_000);
    const reopened = await createServices(loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' }), silentLogger());
    expect(await reopened.library.count()).toBe(papers);
    await reopened.close();
  });

  it('given SHARDS=2 and a bad setting, it should print one line and exit 1 without starting a shard', async () => {
    const emulator = new DiscordEmulator({ token: TOKEN, shards: 2 });
    await emulator.start();
    cleanups.push(() => emulator.close());
    const { exited, stderr } = npmStart({ SHARDS: '2', DISCORD_TOKEN: TOKEN, DISCORD_API_BASE: emulator.apiBase, LLM_TIMEOUT_MS: 'soon' });
    expect(await exited).toBe(1);
    expect(stderr()).toBe('papercord: LLM_TIMEOUT_MS: expected a whole number (got "soon")\n');
    expect(emulator.gatewayStats.connections).toBe(0);
  });
});
