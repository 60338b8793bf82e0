/**
 * `npm start`: the one composition root of the Discord bot. Config, then logger, then services, then the bot;
 * SIGINT/SIGTERM stop the bot and close the services. Commands are registered by `npm run deploy-commands`,
 * never here. The one place, with the playground's own entry point, that imports `commands/`: the modules are passed in.
 */
import { fileURLToPath } from 'node:url';
import { commandModules } from '../commands/index.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createBot } from './discord/bot.js';
import { loadCommands } from './discord/commandLoader.js';
import { openBotBackend } from './discord/coreServices.js';
import { describeError, isUserError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { createShardFleet } from './discord/sharding.js';
import { startHealthServer } from './ops/health.js';
import { instrumentCommands } from './ops/instrument.js';
import { createMetrics } from './ops/metrics.js';
import { PLAYGROUND_NOTICE, runPlayground } from './playground/main.js';
import { DiscordTrendingPoster } from './discord/trendingPoster.js';
import { DiscordFeedSender } from './discord/feedSender.js';
import { FeedRuntime } from './feed/runtime.js';
import { TrendingRuntime } from './trending/runtime.js';
import { checkStoragePaths } from './ops/storagePaths.js';

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`papercord: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  try {
    // Every mode (bot, shard supervisor, playground) refuses unusable folders first, in one line.
    await checkStoragePaths(config);
  } catch (error) {
    if (!isUserError(error)) throw error;
    process.stderr.write(`papercord: ${error.message}\n`);
    return 1;
  }
  if (!config.DISCORD_TOKEN) {
    // Issue 8: with no token, the real bot runs against the local Discord stand-in instead of exiting.
    process.stderr.write(`${PLAYGROUND_NOTICE}\n`);
    return runPlayground(config, loadCommands(commandModules));
  }
  if (config.SHARDS !== undefined && config.SHARD_ID === undefined)
    return superviseShards(config, createLogger(config));

  // In a shard process every log line says which shard wrote it.
  const logger =
    config.SHARD_ID === undefined ? createLogger(config) : createLogger(config).child({ shardId: config.SHARD_ID });
  const shutdown = new AbortController();
  const metrics = createMetrics();
  // The library and every CPU-heavy step live in worker threads (WORKER_THREADS): this thread only talks to Discord.
  const backend = await openBotBackend(config, logger, { signal: shutdown.signal, metrics });
  const trending = TrendingRuntime.open({
    service: backend.trending,
    dataDir: config.DATA_DIR,
    graceHours: config.TRENDING_GRACE_HOURS,
    logger,
  });
  // Follows, settings and deliveries of each member's research feed; the library's workers record the matches.
  const feed = FeedRuntime.open({ dataDir: config.DATA_DIR, logger });
  const bot = createBot(backend.core, config, logger, {
    commands: instrumentCommands(loadCommands(commandModules), metrics),
    extraServices: { trending, feed },
  });
  let libraryOpen = true;
  // Off unless HEALTH_PORT is set; up before login so an orchestrator sees "starting" (503) rather than nothing.
  const health =
    config.HEALTH_PORT === undefined
      ? undefined
      : await startHealthServer({
          // Each shard process serves its own: HEALTH_PORT for shard 0, HEALTH_PORT + 1 for shard 1, …
          port: config.HEALTH_PORT === 0 ? 0 : config.HEALTH_PORT + (config.SHARD_ID ?? 0),
          host: config.HEALTH_HOST,
          registry: metrics.registry,
          checks: {
            gateway: () => bot.connected(),
            library: async () => {
              if (!libraryOpen) return false;
              // With VECTOR_STORE=pgvector the library is only usable while PostgreSQL answers (a throw fails the check).
              await backend.ping();
              return true;
            },
          },
          paperCount: () => backend.paperCount(),
          logger,
        });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    shutdown.abort();
    await trending.close();
    await bot.stop();
    // After the bot: commands still draining may read the feed.
    await feed.close();
    libraryOpen = false;
    await backend.close();
    await health?.close();
  };

  let stopping: Promise<void> | undefined;
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stopping ??= stop(signal).finally(resolve);
      });
    }
    // A shard whose manager is gone (killed, crashed) stops as on SIGTERM instead of running on unsupervised.
    if (config.SHARD_ID !== undefined)
      process.once('disconnect', () => (stopping ??= stop('manager gone').finally(resolve)));
  });

  try {
    if ((await backend.paperCount()) === 0) {
      logger.warn('the library is empty: answers will find nothing until you run `npm run cli -- ingest`');
    }
    await bot.start();
    // Full text for papers arriving while the bot runs is fetched in the background, one request at a time.
    backend.startBackgroundWork();
    // Daily posts, and the catch-up of a day missed while down, run in the background: a slow feed never delays start.
    // With shards, only shard 0 posts them (the day's SQLite claim would also stop a second post).
    if ((config.SHARD_ID ?? 0) === 0) {
      trending
        .start(new DiscordTrendingPoster(bot.client, logger))
        .catch((error: unknown) => logger.error({ err: error }, 'trending schedule failed to start'));
      // Feed DMs too: one process delivers, and each delivery's claim in SQLite stops a second one anyway.
      feed.start(new DiscordFeedSender(bot.client));
    }
  } catch (error) {
    await trending.close();
    await bot.stop();
    await feed.close();
    await backend.close();
    await health?.close();
    if (isUserError(error)) {
      process.stderr.write(`papercord: ${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && error.name.includes('TokenInvalid')) {
      process.stderr.write(
        'papercord: Discord refused DISCORD_TOKEN; copy the bot token again from the developer portal.\n',
      );
      return 1;
    }
    throw error;
  }
  await stopped;
  return 0;
}

/**
 * With SHARDS set, this process only supervises: discord.js forks one process per shard, each running this same
 * file as a bot (it finds itself a shard from the environment the manager sets). Config was validated here, once.
 */
async function superviseShards(config: Config, logger: Logger): Promise<number> {
  const fleet = createShardFleet(config, logger, {
    shardFile: fileURLToPath(import.meta.url),
    execArgv: process.execArgv,
  });
  let stopping: Promise<number> | undefined;
  const stopped = new Promise<number>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'stopping shards');
        stopping ??= fleet.stop();
        void stopping.then(resolve);
      });
    }
  });
  try {
    await fleet.start();
  } catch (error) {
    process.stderr.write(`papercord: the shards could not start: ${describeError(error)}\n`);
    return 1;
  }
  return stopped;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`papercord: could not start the bot: ${describeError(error)}\n`);
    process.exit(1);
  },
);
