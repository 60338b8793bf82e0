import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { acquireIfModelRuns } from '../src/discord/limits.js';
import { autocompletePapers, declarePaperOption, paperName, paperOption } from '../src/discord/paperOptions.js';
import { discussButtonRow } from '../src/discord/readingThreads.js';
import { renderPaper } from '../src/discord/render.js';
import { graphOrReason, withGraph } from '../src/discord/renderGraph.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('paper')
  .setDescription('Show one paper: title, link, authors, a TL;DR, its references and citations')
  .addStringOption((option) => declarePaperOption(option, 'paper', 'Title or id (start typing for suggestions)', true));

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  paperName(interaction, 'paper');
  const slot = acquireIfModelRuns(services, interaction.user.id);
  try {
    await interaction.deferReply();
    const paper = await paperOption(interaction, services, 'paper');
    const graph = graphOrReason(services, paper);
    const tldr = await services.answers.summarize(paper, { signal: AbortSignal.timeout(60_000) });
    const outline = await services.paperOutline?.(paper.id);
    const embed = renderPaper(paper, tldr, outline);
    const known = await graph;
    await interaction.editReply({
      embeds: [known === undefined ? embed : withGraph(embed, known, paper)],
      components: discussButtonRow([paper]),
      allowedMentions: NO_MENTIONS,
    });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
