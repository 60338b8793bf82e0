import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { acquireIfModelRuns } from '../src/discord/limits.js';
import { autocompletePapers, declarePaperOption, paperOption } from '../src/discord/paperOptions.js';
import { renderPaper } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('paper')
  .setDescription('Show one paper: title, link, authors and a TL;DR')
  .addStringOption((option) => declarePaperOption(option, 'paper', 'Title or id (start typing for suggestions)', true));

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const paper = paperOption(interaction, services, 'paper', true);
  const slot = acquireIfModelRuns(services, interaction.user.id);
  try {
    await interaction.deferReply();
    const tldr = await services.answers.summarize(paper, { signal: AbortSignal.timeout(60_000) });
    const sections = services.fullText?.outline(paper.id);
    const source = services.fullText?.source(paper.id);
    const outline = sections && source ? { source, sections } : undefined;
    await interaction.editReply({ embeds: [renderPaper(paper, tldr, outline)], allowedMentions: NO_MENTIONS });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
