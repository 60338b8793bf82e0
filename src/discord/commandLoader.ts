import type { BotCommand } from './types.js';

/**
 * The commands by name, from the modules the composition root passes in (`commands/index.ts` lists them; no
 * scanning of directories: what the bot can do is one readable list). Refuses a module without `data`/`execute`
 * or a name used twice.
 */
export function loadCommands(modules: readonly BotCommand[]): Map<string, BotCommand> {
  const commands = new Map<string, BotCommand>();
  for (const module of modules) {
    if (!module?.data?.name || typeof module.execute !== 'function') {
      throw new Error('a command module must export `data` (a SlashCommandBuilder) and `execute`');
    }
    if (commands.has(module.data.name)) throw new Error(`two command modules are named /${module.data.name}`);
    commands.set(module.data.name, module);
  }
  return commands;
}

/** The JSON Discord's bulk overwrite expects, for `npm run deploy-commands`. */
export function commandPayloads(commands: ReadonlyMap<string, BotCommand>) {
  return [...commands.values()].map((command) => command.data.toJSON());
}
