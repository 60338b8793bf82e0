import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createBot, type Bot } from '../../src/discord/bot.js';
import { coreServicesFrom } from '../../src/discord/coreServices.js';
import { silentLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { TrendingRuntime } from '../../src/trending/runtime.js';
import { DiscordEmulator, type EmulatedUser } from '../../src/emulator/discordEmulator.js';
import { nextSnowflake } from '../../src/emulator/snowflake.js';
import { allCommands } from '../support/commands.js';

const TOKEN = 'trending-permissions-token';
const admin: EmulatedUser = {
  id: nextSnowflake(),
  username: 'admin',
  permissions: String(2248473465835073n | PermissionFlagsBits.ManageGuild),
};

let emulator: DiscordEmulator;
let dataDir: string;
let services: Services;
let runtime: TrendingRuntime;
let bot: Bot;
let mutedChannel: string;
let openChannel: string;

beforeAll(async () => {
  emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000 });
  await emulator.start();
  mutedChannel = emulator.addChannel({ name: 'muted', botDeny: PermissionFlagsBits.SendMessages });
  openChannel = emulator.addChannel({ name: 'open' });
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-trending-permissions-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    EMBEDDINGS: 'hashing',
    LOG_LEVEL: 'silent',
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_BASE: emulator.apiBase,
  });
  services = await createServices(config, silentLogger());
  runtime = TrendingRuntime.open({ service: services.trending, dataDir, graceHours: 6, logger: silentLogger() });
  bot = createBot(coreServicesFrom(services), config, silentLogger(), {
    commands: allCommands(),
    extraServices: { trending: runtime },
  });
  await bot.start();
});
afterAll(async () => {
  await runtime?.close();
  await bot?.stop();
  await services?.close();
  await emulator?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function subscribe(channelId: string) {
  return emulator.dispatchCommand('trending', {
    subcommand: 'subscribe',
    user: admin,
    options: { time: '09:00', timezone: 'Europe/Paris' },
    channelOptions: { channel: channelId },
  });
}

describe('/trending subscribe permission check', () => {
  it('given a channel where the bot may not send messages, it should name the missing permission and subscribe nothing', async () => {
    const record = subscribe(mutedChannel);

    const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect((answered.callbackBody?.data as { content?: string }).content).toBe(
      `I can't post the daily trending papers in <#${mutedChannel}>: I am missing the Send Messages permission there. ` +
        'Grant it to my role in the channel settings (Permissions), then try again.',
    );
    expect(runtime.status(emulator.guildId)).toEqual([]);
  });

  it('given a channel where the bot has what it needs, it should subscribe', async () => {
    const record = subscribe(openChannel);

    const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect((answered.callbackBody?.data as { content?: string }).content).toMatch(
      /^Subscribed\. <#\d+> · 09:00 Europe\/Paris/,
    );
    expect(runtime.status(emulator.guildId).map((status) => status.subscription.channelId)).toEqual([openChannel]);
  });
});
