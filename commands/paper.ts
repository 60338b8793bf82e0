import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { INPUT_LIMITS } from '../src/discord/limits.js';
import { autocompletePapers, paperOption } from '../src/discord/paperOptions.js';
import { renderPaper } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('paper')
  .setDescription('Show one paper: title, link, authors and a TL;DR')
  .addStringOption((option) =>
    option
      .setName('paper')
      .setDescription('Title or id (start typing for suggestions)')
      .setRequired(true)
      .setAutocomplete(true)
      .setMaxLength(INPUT_LIMITS.paperName),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const paper = paperOption(interaction, services, 'paper', true);
  await interaction.deferReply();
  const tldr = await services.answers.summarize(paper, { signal: AbortSignal.timeout(60_000) });
  await interaction.editReply({ embeds: [renderPaper(paper, tldr)], allowedMentions: NO_MENTIONS });
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
