import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../../src/config.js';
import { createBot, type Bot, type BotOptions } from '../../../src/discord/bot.js';
import { coreServicesFrom } from '../../../src/discord/coreServices.js';
import { silentLogger, type Logger } from '../../../src/logger.js';
import type { PapercordMetrics } from '../../../src/ops/metrics.js';
import { loadPapersFromSource } from '../../../src/papers/ingest.js';
import { createServices, type Services } from '../../../src/services.js';
import { DiscordEmulator } from '../emulator/discordEmulator.js';

export const TEST_TOKEN = 'emulator-bot-token';

export interface BotHarness {
  emulator: DiscordEmulator;
  bot: Bot;
  services: Services;
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
}

/**
 * A real bot on real services (seed library on a temp DATA_DIR, hashing embedder) connected to a started emulator.
 */
export async function startBotHarness(options: BotHarnessOptions = {}): Promise<BotHarness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-discord-'));
  const emulator = new DiscordEmulator({
    token: TEST_TOKEN,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
    ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
  });
  let services: Services | undefined;
  let bot: Bot | undefined;
  const close = async () => {
    await bot?.stop();
    await services?.close();
    await emulator.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await emulator.start();
    options.beforeConnect?.(emulator);
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      // Full text stays off unless a test turns it on: no test may reach arxiv.org.
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      DISCORD_TOKEN: TEST_TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      ASK_COOLDOWN_SECONDS: '0',
      MAX_CONCURRENT_ANSWERS: '16',
      LLM_PROVIDER: 'none',
      ...options.env,
    });
    const logger = options.logger ?? silentLogger();
    services = await createServices(config, logger, options.metrics ? { metrics: options.metrics } : {});
    await services.library.add(await loadPapersFromSource('seeds'));
    bot = createBot(coreServicesFrom(services), config, logger, {
      ...(options.commands ? { commands: options.commands } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    await bot.start();
    return { emulator, bot, services, config, close };
  } catch (error) {
    await close();
    throw error;
  }
}
