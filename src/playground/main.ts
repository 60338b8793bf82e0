/**
 * `npm run playground` (and `npm start` without DISCORD_TOKEN): config, services, `/healthz` when HEALTH_PORT is set,
 * the seed library when the library is empty, then the playground; SIGINT/SIGTERM close it all. Run directly, it is
 * a composition root: it passes the modules of `commands/` in, as `src/main.ts` does.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandModules } from '../../commands/index.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { loadCommands } from '../discord/commandLoader.js';
import { coreServicesFrom } from '../discord/coreServices.js';
import type { BotCommand, BotServices } from '../discord/types.js';
import { describeError, isUserError, UserError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { startHealthServer, type HealthServer } from '../ops/health.js';
import { instrumentCommands } from '../ops/instrument.js';
import { createMetrics } from '../ops/metrics.js';
import { loadPapersFromSource } from '../papers/ingest.js';
import { createServices, type Services } from '../services.js';
import { startPlayground, type Playground } from './server.js';

/** What `npm start` prints, as one line, when it starts the playground because there is no token. */
export const PLAYGROUND_NOTICE =
  'papercord: DISCORD_TOKEN is not set, so the local playground is starting (the real bot against a Discord stand-in on this machine). ' +
  'To run on Discord, create a bot at https://discord.com/developers/applications and put DISCORD_TOKEN=… in .env.';

const NOT_IN_PLAYGROUND =
  'Daily posts need a real Discord server: the playground only shows `/trending now`. Set DISCORD_TOKEN and run `npm start` to subscribe a channel.';

/**
 * `/trending now` works as on Discord; subscriptions are refused, since a subscription stored from the playground
 * would point the real bot at a channel that does not exist.
 */
export function playgroundTrending(services: Pick<Services, 'trending'>): NonNullable<BotServices['trending']> {
  const refuse = (): never => {
    throw new UserError(NOT_IN_PLAYGROUND);
  };
  return {
    digest: (request) => services.trending.digest(request),
    subscribe: refuse,
    unsubscribe: refuse,
    status: refuse,
  };
}

/** Seeds an empty library, so that a fresh clone has papers to answer from. */
async function ensurePapers(services: Services, logger: Logger): Promise<void> {
  if ((await services.library.count()) > 0) return;
  logger.info('the library is empty: adding the seed papers (as `npm run cli -- ingest` does)');
  await services.library.add(await loadPapersFromSource('seeds'));
}

/** Runs until SIGINT/SIGTERM; prints `papercord playground: <url>` on stdout once the page is served. */
export async function runPlayground(config: Config, commands: ReadonlyMap<string, BotCommand>): Promise<number> {
  // Someone at a terminal trying papercord out: readable lines rather than the bot's JSON log.
  const logger = createLogger(config, { human: true });
  const services = await createServices(config, logger);
  const metrics = createMetrics();
  let playground: Playground | undefined;
  let health: HealthServer | undefined;
  try {
    // The bot's /healthz, on the same port: an orchestrator (the image's HEALTHCHECK) needs no other check for this
    // mode. Up before the seed library is embedded, so that a first start reads "starting" (503), not nothing.
    if (config.HEALTH_PORT !== undefined) {
      health = await startHealthServer({
        port: config.HEALTH_PORT,
        host: config.HEALTH_HOST,
        registry: metrics.registry,
        checks: {
          gateway: () => playground?.bot.connected() ?? false,
          library: async () => {
            await services.library.ping();
            return true;
          },
        },
        paperCount: () => services.library.count(),
        logger,
      });
    }
    await ensurePapers(services, logger);
    playground = await startPlayground({
      services: coreServicesFrom(services),
      config,
      logger,
      port: config.PLAYGROUND_PORT,
      host: config.PLAYGROUND_HOST,
      commands: instrumentCommands(commands, metrics),
      extraServices: { trending: playgroundTrending(services) },
    });
  } catch (error) {
    await health?.close();
    await services.close();
    if (isUserError(error)) {
      process.stderr.write(`papercord: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  // As in the bot: papers arriving (trending in the playground) get their full text in the background.
  services.fullText.start();
  process.stdout.write(`papercord playground: ${playground.url}\n`);
  const started = playground;
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  logger.info('stopping the playground');
  await started.close();
  await health?.close();
  await services.close();
  return 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let config: Config | undefined;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`papercord: ${error.message}\n`);
    process.exit(1);
  }
  runPlayground(config, loadCommands(commandModules)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`papercord: could not start the playground: ${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
