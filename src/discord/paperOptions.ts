import type { AutocompleteInteraction, ChatInputCommandInteraction, SlashCommandStringOption } from 'discord.js';
import type { Paper } from '../papers/paper.js';
import { checkLength, INPUT_LIMITS } from './limits.js';
import { truncate } from './render.js';
import type { BotServices } from './types.js';

/** Discord shows at most 25 choices, each name and value at most 100 characters. */
const MAX_CHOICES = 25;
const CHOICE_TEXT = 100;

/** Suggests library titles for the paper option being typed; the value is the paper id, so the choice is exact. */
export async function autocompletePapers(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  const typed = interaction.options.getFocused().slice(0, INPUT_LIMITS.paperName);
  const choices = (await services.suggestPapers(typed, MAX_CHOICES)).map((paper) => ({
    name: truncate(paper.title, CHOICE_TEXT),
    value: paper.id.length <= CHOICE_TEXT ? paper.id : truncate(paper.title, CHOICE_TEXT),
  }));
  await interaction.respond(choices.slice(0, MAX_CHOICES));
}

/** Declares a string option naming one paper: autocompleted from the library, no longer than `paperOption` accepts. */
export function declarePaperOption(
  option: SlashCommandStringOption,
  name: string,
  description: string,
  required: boolean,
): SlashCommandStringOption {
  return option
    .setName(name)
    .setDescription(description)
    .setRequired(required)
    .setAutocomplete(true)
    .setMaxLength(INPUT_LIMITS.paperName);
}

/**
 * The paper named by a string option (an id from autocomplete, or a title typed freely). Looking it up may wait
 * for a worker, so commands acknowledge the interaction first.
 */
export function paperOption(
  interaction: ChatInputCommandInteraction,
  services: BotServices,
  name: string,
): Promise<Paper> {
  return services.resolvePaper(paperName(interaction, name));
}

/** The option's text, checked: a too-long name is refused at once, before the interaction is acknowledged. */
export function paperName(interaction: ChatInputCommandInteraction, name: string): string {
  return checkLength(`paper name in "${name}"`, interaction.options.getString(name, true), INPUT_LIMITS.paperName);
}
