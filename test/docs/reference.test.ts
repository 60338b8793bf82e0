import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationCommandType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { commandModules } from '../../commands/index.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { configSchema } from '../../src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The first cell of each table row, e.g. "`DATA_DIR`" or "`/ask question [k] [paper]`". */
function firstCells(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) => line.split('|')[1]!.trim());
}

describe('the reference pages', () => {
  it('given the config schema, it should find a row for every environment variable in docs/configuration.md', () => {
    const documented = new Set(firstCells(read('docs/configuration.md')).map((cell) => cell.replace(/`/g, '')));
    const missing = Object.keys(configSchema.shape).filter((variable) => !documented.has(variable));
    expect(missing, 'variables of src/config.ts with no row in docs/configuration.md').toEqual([]);
  });

  it('given the limits in docs/configuration.md, it should find each variable in the Limits section of docs/discord-bot.md', () => {
    const section = (markdown: string, heading: string) =>
      markdown.split(/^## /m).find((part) => part.startsWith(`${heading}\n`)) ?? '';
    const configuration = read('docs/configuration.md');
    const limits = ['Limits', 'PDFs']
      .flatMap((heading) => firstCells(section(configuration, heading)))
      .map((cell) => cell.replace(/`/g, ''))
      .filter((cell) => /^[A-Z][A-Z0-9_]+$/.test(cell));
    expect(limits).toContain('PDF_MAX_PAGES');
    const listed = section(read('docs/discord-bot.md'), 'Limits');
    const missing = limits.filter((variable) => !listed.includes(`\`${variable}\``));
    expect(missing, 'limits missing from the Limits section of docs/discord-bot.md').toEqual([]);
  });

  it('given the slash and message commands the bot registers, it should find each in the README command table', () => {
    const cells = firstCells(read('README.md'));
    const missing = commandModules
      .map((command) => command.data.toJSON())
      .filter((command) =>
        command.type === ApplicationCommandType.Message
          ? !cells.some((cell) => cell.includes(`"${command.name}"`))
          : !cells.some((cell) => cell.includes(`\`/${command.name}`)),
      )
      .map((command) => command.name);
    expect(missing, 'commands with no row in the README').toEqual([]);
  });

  it('given the CLI commands, it should find each in the README command table', () => {
    const cells = firstCells(read('README.md'));
    const missing = COMMANDS.map((command) => command.name).filter(
      (name) => !cells.some((cell) => cell.startsWith(`\`papercord ${name}`)),
    );
    expect(missing, 'papercord commands with no row in the README').toEqual([]);
  });
});
