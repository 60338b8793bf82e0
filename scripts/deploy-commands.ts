/**
 * `npm run deploy-commands`: registers the slash commands with Discord (bulk overwrite). To DISCORD_GUILD_ID when
 * set (immediate, for one server), else globally. Run it after changing a command's options; the bot never does.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REST, Routes, type APIApplication, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { commandModules } from '../commands/index.js';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { commandPayloads, loadCommands } from '../src/discord/commandLoader.js';
import { MISSING_TOKEN_MESSAGE } from '../src/discord/bot.js';
import type { BotCommand } from '../src/discord/types.js';

export type DeployConfig = Pick<Config, 'DISCORD_TOKEN' | 'DISCORD_GUILD_ID' | 'DISCORD_API_BASE'>;

export interface DeployResult {
  applicationId: string;
  /** `global` or the guild id. */
  scope: string;
  names: string[];
  /** As printed: slash command names, and message commands' labels in quotes. */
  labels: string[];
}

export async function deployCommands(
  config: DeployConfig & { DISCORD_TOKEN: string },
  commands: ReadonlyMap<string, BotCommand> = loadCommands(commandModules),
): Promise<DeployResult> {
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const application = (await rest.get(Routes.oauth2CurrentApplication())) as APIApplication;
  const route = config.DISCORD_GUILD_ID
    ? Routes.applicationGuildCommands(application.id, config.DISCORD_GUILD_ID)
    : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, {
    body: commandPayloads(commands),
  })) as RESTPutAPIApplicationCommandsResult;
  // Slash commands read `/name`; a message command (type 3) is shown by its menu label in quotes.
  const names = registered.map((command) => (command.type === 3 ? `"${command.name}"` : command.name));
  return {
    applicationId: application.id,
    scope: config.DISCORD_GUILD_ID ?? 'global',
    names: registered.map((command) => command.name),
    labels: names,
  };
}

async function run(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`papercord: ${error.message}\n`);
    return 1;
  }
  const token = config.DISCORD_TOKEN;
  if (!token) {
    process.stderr.write(`${MISSING_TOKEN_MESSAGE}\n`);
    return 1;
  }
  const result = await deployCommands({ ...config, DISCORD_TOKEN: token });
  const where = result.scope === 'global' ? 'globally (every server the bot is in)' : `to server ${result.scope}`;
  process.stdout.write(
    `Registered ${result.names.length} commands ${where}: ${result.labels.map((label) => (label.startsWith('"') ? `${label} (message menu)` : `/${label}`)).join(', ')}\n`,
  );
  return 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `papercord: could not register commands: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
