import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { ShardingManager, type Shard } from 'discord.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { definedOnly } from '../util/options.js';

/**
 * Past one gateway connection: with `SHARDS=N`, `npm start` becomes a discord.js `ShardingManager` that forks one
 * process per shard. Each shard process runs the same entry (`src/main.ts`), finds itself a shard (discord.js sets
 * `SHARDING_MANAGER`, `SHARDS`, `SHARD_COUNT`; `loadConfig` turns them into `SHARDS` and `SHARD_ID`) and runs the
 * whole bot over the same DATA_DIR: reads are shared, writes go through the library's cross-process `write.lock`.
 * Only shard 0 runs the daily trending schedule (the SQLite claim of a day would stop a second post anyway).
 */
export interface ShardFleetOptions {
  /** The script each shard runs: the entry that started the manager. */
  shardFile: string;
  /** Node flags for the shard processes: the tsx loader when running from TypeScript. */
  execArgv?: string[];
  /** Pause between two shards' logins; Discord allows one IDENTIFY per 5 s (max_concurrency 1). */
  spawnDelayMs?: number;
  /** How long a shard may take to open the library and log in before start-up is given up. */
  spawnTimeoutMs?: number;
  /** On stop, how long a shard may drain its answers before it is killed; above the bot's own 20 s drain. */
  stopTimeoutMs?: number;
  /** Wait before respawning a shard that crashed after it was up; doubled for each crash in a row. */
  respawnBaseDelayMs?: number;
  respawnMaxDelayMs?: number;
  /** A shard up this long before it crashes counts as healthy: its next respawn waits the base delay again. */
  respawnResetAfterMs?: number;
}

export const DEFAULT_SHARD_FLEET_OPTIONS = {
  execArgv: [] as string[],
  spawnDelayMs: 5_500,
  spawnTimeoutMs: 60_000,
  stopTimeoutMs: 30_000,
  respawnBaseDelayMs: 1_000,
  respawnMaxDelayMs: 60_000,
  respawnResetAfterMs: 5 * 60_000,
};

/** The wait before respawning after `crashesInARow` crashes (1 = the first): base, 2×base, 4×base… up to max. */
export function respawnDelayMs(
  crashesInARow: number,
  settings: { respawnBaseDelayMs: number; respawnMaxDelayMs: number },
): number {
  return Math.min(settings.respawnMaxDelayMs, settings.respawnBaseDelayMs * 2 ** Math.max(0, crashesInARow - 1));
}

export interface ShardFleet {
  readonly manager: ShardingManager;
  /**
   * Starts the shards one after another; resolves once all are ready, rejects (after stopping the ones started)
   * when one dies or times out before it is ready. A `stop` during start-up ends it early.
   */
  start(): Promise<void>;
  /** SIGTERM to every shard (each drains its answers and saves), then waits; resolves to 0 when all exited 0. */
  stop(): Promise<number>;
}

export function createShardFleet(
  config: Pick<Config, 'SHARDS' | 'DISCORD_TOKEN'>,
  logger: Logger,
  options: ShardFleetOptions,
): ShardFleet {
  const settings = { ...DEFAULT_SHARD_FLEET_OPTIONS, ...definedOnly(options) };
  const totalShards = config.SHARDS ?? 1;
  // discord.js's own respawn forks again at once, forever: a shard crashing at start-up would be forked in a tight
  // loop. It stays off; a shard that crashes after it was up is respawned here, with backoff, while the others serve.
  const manager = new ShardingManager(settings.shardFile, {
    totalShards,
    token: config.DISCORD_TOKEN,
    mode: 'process',
    respawn: false,
    execArgv: settings.execArgv,
  });
  const stopping = new AbortController();
  let stopped: Promise<number> | undefined;
  /** Per shard that has been up: when its process last became ready, and its crashes in a row since. */
  const health = new Map<number, { readyAt: number; crashesInARow: number }>();

  /** `wasUp`: the process that exited had been ready (not one that failed to start again). */
  const respawn = async (shard: Shard, exitCode: number | null, wasUp: boolean) => {
    const state = health.get(shard.id)!;
    const upMs = wasUp ? Date.now() - state.readyAt : 0;
    state.crashesInARow = upMs >= settings.respawnResetAfterMs ? 1 : state.crashesInARow + 1;
    const waitMs = respawnDelayMs(state.crashesInARow, settings);
    logger.warn(
      { shardId: shard.id, exitCode, upMs, crashesInARow: state.crashesInARow, respawnInMs: waitMs },
      'shard process exited; respawning it',
    );
    try {
      await delay(waitMs, undefined, { signal: stopping.signal });
      await shard.spawn(settings.spawnTimeoutMs);
      state.readyAt = Date.now();
      logger.info({ shardId: shard.id }, 'shard respawned and ready');
    } catch (error) {
      if (stopping.signal.aborted) return;
      logger.warn(
        { shardId: shard.id, error: error instanceof Error ? error.message : String(error) },
        'shard respawn failed',
      );
      // Alive but never ready within the timeout: killed. Either way the next try waits longer.
      const child = shard.process;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      if (!stopping.signal.aborted) void respawn(shard, child?.exitCode ?? null, false);
    }
  };

  manager.on('shardCreate', (shard: Shard) => {
    shard.on('death', (child) => {
      if (stopping.signal.aborted) return;
      const exitCode = (child as ChildProcess).exitCode;
      // A shard never up yet fails `start` (or the respawn under way) instead.
      if (!health.has(shard.id) || !shard.ready) {
        logger.warn({ shardId: shard.id, exitCode }, 'shard process exited before it was ready');
        return;
      }
      void respawn(shard, exitCode, true);
    });
  });

  return {
    manager,
    async start() {
      logger.info({ shards: totalShards }, 'starting shards');
      try {
        for (let shardId = 0; shardId < totalShards && !stopping.signal.aborted; shardId += 1) {
          if (shardId > 0) await delay(settings.spawnDelayMs, undefined, { signal: stopping.signal });
          await manager.createShard(shardId).spawn(settings.spawnTimeoutMs);
          health.set(shardId, { readyAt: Date.now(), crashesInARow: 0 });
          logger.info({ shardId, shards: totalShards }, 'shard ready');
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        await this.stop();
        throw error;
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        const exits = [...manager.shards.values()].map((shard) => stopShard(shard, settings.stopTimeoutMs, logger));
        const codes = await Promise.all(exits);
        return codes.every((code) => code === 0) ? 0 : 1;
      })();
      return stopped;
    },
  };
}

/** The shard's own SIGTERM handler drains and saves; a shard still running after `timeoutMs` is killed. */
async function stopShard(shard: Shard, timeoutMs: number, logger: Logger): Promise<number | null> {
  const child = shard.process;
  if (!child) return 0;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  // Shard#kill sends SIGTERM and detaches the exit listener, so the manager does not respawn it.
  shard.kill();
  const timer = setTimeout(() => {
    logger.warn({ shardId: shard.id, timeoutMs }, 'shard did not stop in time; killing it');
    child.kill('SIGKILL');
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
  return child.exitCode;
}
