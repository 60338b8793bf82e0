/**
 * `npm start`: the one composition root of the Discord bot. Config, then logger, then services, then the bot;
 * SIGINT/SIGTERM stop the bot and close the services. Commands are registered by `npm run deploy-commands`,
 * never here.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { createBot, MISSING_TOKEN_MESSAGE } from './discord/bot.js';
import { coreServicesFrom } from './discord/coreServices.js';
import { describeError, isUserError } from './errors.js';
import { createLogger } from './logger.js';
import { createServices } from './services.js';

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
  if (!config.DISCORD_TOKEN) {
    process.stderr.write(`${MISSING_TOKEN_MESSAGE}\n`);
    return 1;
  }

  const logger = createLogger(config);
  const shutdown = new AbortController();
  const services = await createServices(config, logger, { signal: shutdown.signal });
  const bot = createBot(coreServicesFrom(services), config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    shutdown.abort();
    await bot.stop();
    await services.close();
  };

  let stopping: Promise<void> | undefined;
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stopping ??= stop(signal).finally(resolve);
      });
    }
  });

  try {
    if (services.library.size === 0) {
      logger.warn('the library is empty: answers will find nothing until you run `npm run cli -- ingest seeds`');
    }
    await bot.start();
  } catch (error) {
    await bot.stop();
    await services.close();
    if (isUserError(error)) {
      process.stderr.write(`papercord: ${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && error.name.includes('TokenInvalid')) {
      process.stderr.write('papercord: Discord refused DISCORD_TOKEN; copy the bot token again from the developer portal.\n');
      return 1;
    }
    throw error;
  }
  await stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`papercord: could not start the bot: ${describeError(error)}\n`);
    process.exit(1);
  },
);
