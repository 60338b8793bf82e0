import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandModules } from '../../commands/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createBot, type Bot, type BotOptions } from '../../src/discord/bot.js';
import { loadCommands } from '../../src/discord/commandLoader.js';
import { openBotBackend, type BotBackend } from '../../src/discord/coreServices.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { PapercordMetrics } from '../../src/ops/metrics.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { createServices, type Services } from '../../src/services.js';
import { DiscordEmulator } from '../../src/emulator/discordEmulator.js';
import { DiscordFeedSender } from '../../src/discord/feedSender.js';
import { FeedRuntime } from '../../src/feed/runtime.js';

export const TEST_TOKEN = 'emulator-bot-token';

export interface BotHarness {
  emulator: DiscordEmulator;
  bot: Bot;
  /**
   * Services on the test's own thread, on the bot's DATA_DIR: what a test adds here is a commit by another thread,
   * which the bot's library workers take before their next read.
   */
  services: Services;
  /** What the bot runs on: library worker threads (WORKER_THREADS, 1 unless `env` says otherwise). */
  backend: BotBackend;
  /** The research feed as `npm start` runs it, delivering by DM every `feedTickMs`. */
  feed: FeedRuntime;
  config: Config;
  close(): Promise<void>;
}

export interface BotHarnessOptions {
  /** Environment overrides (LLM_PROVIDER, LLM_BASE_URL, ASK_COOLDOWN_SECONDS, …). */
  env?: Record<string, string>;
  logger?: Logger;
  /** Gateway heartbeat in ms; short so that drops and resumes happen quickly. */
  heartbeatIntervalMs?: number;
  /** Replaces the commands of `commands/index.ts`. */
  commands?: BotOptions['commands'];
  /** Bounds the emulator's records (a soak measures the bot's memory, not the emulator's); unbounded by default. */
  historyLimit?: number;
  /** Prometheus metrics the services report into, as in the bot's own process. */
  metrics?: PapercordMetrics;
  /** Shapes the emulated server before the bot connects (channels added here are in GUILD_CREATE). */
  beforeConnect?: (emulator: DiscordEmulator) => void;
  /** The clock the bot's cooldowns are measured on. */
  now?: BotOptions['now'];
  /** How long answers wait for other interactions' acknowledgements. */
  acknowledgements?: BotOptions['acknowledgements'];
  /** How often the feed looks for deliveries due (the bot's default is 10 s). */
  feedTickMs?: number;
}

/** A bot and the emulator it is connected to, on a library it was given. */
export type BotOnLibrary = Omit<BotHarness, 'services'>;

/**
 * A real bot on real services (seed library on a temp DATA_DIR, hashing embedder) connected to a started emulator.
 */
export async function startBotHarness(options: BotHarnessOptions = {}): Promise<BotHarness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-discord-'));
  let services: Services | undefined;
  let started: BotOnLibrary | undefined;
  const close = async () => {
    await started?.close();
    await services?.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent', ...options.env });
    services = await createServices(config, options.logger ?? silentLogger());
    await services.library.add(await loadPapersFromSource('seeds'));
    started = await startBotOnLibrary(dataDir, options);
    return { ...started, services, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A real bot, as `npm start` runs it, on the library already in `dataDir` (which is left as it is). */
export async function startBotOnLibrary(dataDir: string, options: BotHarnessOptions = {}): Promise<BotOnLibrary> {
  const emulator = new DiscordEmulator({
    token: TEST_TOKEN,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
    ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
  });
  let connected: ConnectedBot | undefined;
  const close = async () => {
    await connected?.close();
    await emulator.close();
  };
  try {
    await emulator.start();
    options.beforeConnect?.(emulator);
    connected = await connectBot(dataDir, emulator.apiBase, options);
    return { emulator, ...connected, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A bot connected to a Discord (an emulator) that runs elsewhere, such as in another process. */
export type ConnectedBot = Omit<BotOnLibrary, 'emulator'>;

/**
 * A real bot, as `npm start` runs it, on the library in `dataDir`, connected to the Discord API at `apiBase` with
 * `TEST_TOKEN`: an emulator started in this process or in another one.
 */
export async function connectBot(
  dataDir: string,
  apiBase: string,
  options: Omit<BotHarnessOptions, 'heartbeatIntervalMs' | 'historyLimit' | 'beforeConnect'> = {},
): Promise<ConnectedBot> {
  let backend: BotBackend | undefined;
  let bot: Bot | undefined;
  let feed: FeedRuntime | undefined;
  const close = async () => {
    // Commands still running may read the feed: it closes after the bot has stopped.
    await bot?.stop();
    await feed?.close();
    await backend?.close();
  };
  try {
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      // Full text stays off unless a test turns it on: no test may reach arxiv.org.
      FULL_TEXT: 'off',
      // Nothing listens on port 2: the paper graph fails at once (connection refused) unless a test points it at a stand-in.
      S2_API_BASE: 'http://127.0.0.1:2',
      OPENALEX_API_BASE: 'http://127.0.0.1:2',
      S2_REQUEST_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
      DISCORD_TOKEN: TEST_TOKEN,
      DISCORD_API_BASE: apiBase,
      // No allowances to spend unless a test sets one: tests run many commands from one user and channel.
      ASK_COOLDOWN_SECONDS: '0',
      ADD_COOLDOWN_SECONDS: '0',
      LINK_PICKUP_COOLDOWN_SECONDS: '0',
      MAX_CONCURRENT_ANSWERS: '16',
      LLM_PROVIDER: 'none',
      // The emulator serves attachments on loopback, where Discord's CDN would.
      DISCORD_ATTACHMENT_HOSTS: '127.0.0.1',
      ...options.env,
    });
    const logger = options.logger ?? silentLogger();
    backend = await openBotBackend(config, logger, options.metrics ? { metrics: options.metrics } : {});
    feed = FeedRuntime.open({
      dataDir,
      logger,
      ...(options.feedTickMs === undefined ? {} : { delivery: { tickMs: options.feedTickMs } }),
    });
    bot = createBot(backend.core, config, logger, {
      extraServices: { feed },
      commands: options.commands ?? loadCommands(commandModules),
      ...(options.now ? { now: options.now } : {}),
      ...(options.acknowledgements ? { acknowledgements: options.acknowledgements } : {}),
    });
    await bot.start();
    feed.start(new DiscordFeedSender(bot.client));
    return { bot, backend, feed, config, close };
  } catch (error) {
    await close();
    throw error;
  }
}
