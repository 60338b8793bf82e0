import { commandModules } from '../../commands/index.js';
import { loadCommands } from '../../src/discord/commandLoader.js';
import type { BotCommand } from '../../src/discord/types.js';

/** Every command the bot has, by name, as the composition root (`src/main.ts`) passes them in. */
export function allCommands(): Map<string, BotCommand> {
  return loadCommands(commandModules);
}
