import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIEmbed } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { deployCommands } from '../../scripts/deploy-commands.js';
import { loadConfig } from '../../src/config.js';
import { createBot } from '../../src/discord/bot.js';
import { coreServicesFrom } from '../../src/discord/coreServices.js';
import { UserError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { createServices } from '../../src/services.js';
import { allCommands } from '../support/commands.js';
import { RUN_TS, cleanupsAfterEach, seededDataDir, startProcess, type StartedProcess } from '../support/processes.js';
import { DiscordEmulator } from '../../src/emulator/discordEmulator.js';

const TOKEN = 'startup-test-token';

const cleanups = cleanupsAfterEach();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'papercord-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startedEmulator(): Promise<DiscordEmulator> {
  const emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1000 });
  await emulator.start();
  cleanups.push(() => emulator.close());
  return emulator;
}

function npmStart(env: Record<string, string>): StartedProcess {
  return startProcess(process.execPath, [...RUN_TS, 'src/main.ts'], { env, cleanups, stopSignal: 'SIGKILL' });
}

describe('npm start and npm run deploy-commands', () => {
  // Without a token, npm start now serves the playground (issue 8): test/playground/startup.e2e.test.ts.

  it('given a token and DISCORD_API_BASE on 127.0.0.1, the started bot should defer /ask, then edit @original citing [1] with no pings', async () => {
    const { dataDir } = await seededDataDir('papercord-start-', cleanups);
    const emulator = await startedEmulator();

    const { child, exited } = npmStart({
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      // Full text stays off unless a test turns it on: no test may reach arxiv.org.
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      LLM_PROVIDER: 'none',
    });
    await new Promise<void>((resolve) => emulator.on('gateway', (op: number) => op === 2 && resolve()));
    const record = emulator.dispatchCommand('ask', {
      options: { question: 'How do byte-level models avoid very long sequences?' },
    });
    await emulator.waitForInteraction(record.id, (changed) => (changed.original?.embeds.length ?? 0) > 0, 20_000);

    expect(record.callbackType).toBe(5);
    // The emulator, like Discord, refuses an acknowledgement that comes after 3 s (10062): accepted means in time.
    expect(record.acknowledgedAt).toBeDefined();
    expect((record.original!.embeds[0] as APIEmbed).description).toMatch(/\[1\]/);
    const edit = emulator.requests.find(
      (request) => request.method === 'PATCH' && request.route.endsWith('/messages/@original'),
    );
    expect(edit?.body?.allowed_mentions).toEqual({ parse: [] });
    expect(emulator.registeredCommands.size).toBe(0);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it("given DISCORD_GUILD_ID, deploy-commands should overwrite that server's commands; without it, the global ones", async () => {
    const emulator = await startedEmulator();
    const base = { DISCORD_TOKEN: TOKEN, DISCORD_API_BASE: emulator.apiBase, DISCORD_GUILD_ID: undefined };

    const toGuild = await deployCommands({ ...base, DISCORD_GUILD_ID: emulator.guildId });
    const globally = await deployCommands(base);

    const names = [...allCommands().keys()];
    expect(names).toEqual(expect.arrayContaining(['ask', 'search', 'paper', 'similar', 'compare', 'about']));
    expect(toGuild).toMatchObject({ applicationId: emulator.applicationId, scope: emulator.guildId, names });
    expect(globally.scope).toBe('global');
    const ask = emulator.registeredCommands.get('global')!.find((command) => command.name === 'ask')!;
    expect(ask.options).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'question', required: true, max_length: 500 })]),
    );
    const compare = emulator.registeredCommands.get(emulator.guildId)!.find((command) => command.name === 'compare')!;
    expect((compare.options as Array<{ autocomplete?: boolean }>).every((option) => option.autocomplete)).toBe(true);
  });
});

describe('logging in', () => {
  async function startAgainst(server: DiscordEmulator, token: string): Promise<unknown> {
    const dataDir = await tempDir();
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      DISCORD_TOKEN: token,
      DISCORD_API_BASE: server.apiBase,
    });
    const services = await createServices(config, silentLogger());
    cleanups.push(() => services.close());
    const bot = createBot(coreServicesFrom(services), config, silentLogger(), { commands: allCommands() });
    cleanups.push(() => bot.stop());
    return bot.start().then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('given an application without the Message Content intent, start should fail with one line on enabling it', async () => {
    const server = new DiscordEmulator({ token: TOKEN, privilegedIntents: false });
    await server.start();
    cleanups.push(() => server.close());

    const error = await startAgainst(server, TOKEN);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('Privileged Gateway Intents → Message Content Intent');
  });

  it('given a token Discord refuses, start should fail with one line on copying it again', async () => {
    const server = await startedEmulator();

    const error = await startAgainst(server, 'not-the-token');
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('Discord refused DISCORD_TOKEN');
  });
});
