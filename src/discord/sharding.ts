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
}

export const DEFAULT_SHARD_FLEET_OPTIONS = {
  execArgv: [] as string[],
  spawnDelayMs: 5_500,
  spawnTimeoutMs: 60_000,
  stopTimeoutMs: 30_000,
};

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

export function createShardFleet(config: Pick<Config, 'SHARDS' | 'DISCORD_TOKEN'>, logger: Logger, options: ShardFleetOptions): ShardFleet {
  const settings = { ...DEFAULT_SHARD_FLEET_OPTIONS, ...definedOnly(options) };
  const totalShards = config.SHARDS ?? 1;
  // Respawning only once every shard is up: a shard that cannot start (bad token) would otherwise be forked forever.
  const manager = new ShardingManager(settings.shardFile, {
    totalShards,
    token: config.DISCORD_TOKEN,
    mode: 'process',
    respawn: false,
    execArgv: settings.execArgv,
  });
  const stopping = new AbortController();
  let stopped: Promise<number> | undefined;

  manager.on('shardCreate', (shard: Shard) => {
    shard.on('death', (child) => {
      if (stopping.signal.aborted) return;
      const exitCode = (child as ChildProcess).exitCode;
      logger.warn({ shardId: shard.id, exitCode, respawn: manager.respawn }, 'shard process exited');
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
          logger.info({ shardId, shards: totalShards }, 'shard ready');
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        await this.stop();
        throw error;
      }
      manager.respawn = true;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        manager.respawn = false;
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
