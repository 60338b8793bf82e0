import type { AutocompleteInteraction } from 'discord.js';
import { UserError } from '../errors.js';
import type { Paper } from '../papers/paper.js';
import { INPUT_LIMITS } from './limits.js';
import { truncate } from './render.js';
import type { BotServices } from './types.js';

/** Discord shows at most 25 choices, each name and value at most 100 characters. */
const MAX_CHOICES = 25;
const CHOICE_TEXT = 100;

/** Characters a list of papers may take in one option (ids, links or titles, separated by commas). */
export const PAPER_LIST_CHARS = 2_000;

/**
 * The names in a list of papers typed into one option: separated by commas, semicolons or new lines (titles have
 * spaces), each checked for length; more than `max` is refused with both numbers.
 */
export function splitPaperList(text: string, max: number): string[] {
  const names = [...new Set(text.split(/[,;\n]/).map((name) => name.trim()))].filter(Boolean);
  if (names.length === 0) throw new UserError('Name at least one paper: ids, links or titles, separated by commas.');
  if (names.length > max)
    throw new UserError(`That is ${names.length} papers; at most ${max} at once. Please name fewer.`);
  const long = names.find((name) => name.length > INPUT_LIMITS.paperName);
  if (long)
    throw new UserError(
      `The paper name “${truncate(long, 40)}” is ${long.length} characters long; the limit is ${INPUT_LIMITS.paperName}.`,
    );
  return names;
}

/** Each named paper from the library, once (an id and its link are one paper); an unknown one gets its "did you mean". */
export async function resolvePaperList(services: Pick<BotServices, 'resolvePaper'>, names: readonly string[]) {
  const papers = await Promise.all(names.map((name) => services.resolvePaper(name)));
  return [...new Map(papers.map((paper): [string, Paper] => [paper.id, paper])).values()];
}

/**
 * Autocomplete for a list option: suggestions for the name being typed after the last comma, each choice the
 * whole list so far with that paper's id in its place.
 */
export async function autocompletePaperList(
  interaction: AutocompleteInteraction,
  services: Pick<BotServices, 'suggestPapers'>,
): Promise<void> {
  const typed = interaction.options.getFocused().slice(0, PAPER_LIST_CHARS);
  const cut = Math.max(typed.lastIndexOf(','), typed.lastIndexOf(';'));
  const before = cut < 0 ? '' : `${typed.slice(0, cut + 1).trimEnd()} `;
  const current = typed
    .slice(cut + 1)
    .trim()
    .slice(0, INPUT_LIMITS.paperName);
  const papers = await services.suggestPapers(current, MAX_CHOICES);
  const choices = papers
    .map((paper) => ({ name: truncate(paper.title, CHOICE_TEXT), value: `${before}${paper.id}` }))
    .filter((choice) => choice.value.length <= CHOICE_TEXT);
  await interaction.respond(choices.slice(0, MAX_CHOICES));
}
