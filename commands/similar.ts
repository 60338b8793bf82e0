import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { checkRange } from '../src/discord/limits.js';
import { autocompletePapers, declarePaperOption, paperName, paperOption } from '../src/discord/paperOptions.js';
import { renderPaperList } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('similar')
  .setDescription('Papers in the library most like a given one')
  .addStringOption((option) => declarePaperOption(option, 'paper', 'Title or id (start typing for suggestions)', true))
  .addIntegerOption((option) =>
    option.setName('k').setDescription('How many papers (1-10, default 5)').setMinValue(1).setMaxValue(10),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  paperName(interaction, 'paper');
  const k = checkRange('k', interaction.options.getInteger('k') ?? 5, 1, 10);
  await interaction.deferReply();
  const paper = await paperOption(interaction, services, 'paper');
  // The paper itself is the best match for its own text: ask for one more and leave it out.
  const { hits } = await services.retriever.retrieve(`${paper.title}\n\n${paper.abstract}`, { k: k + 1 });
  const similar = hits.filter((hit) => hit.paper.id !== paper.id).slice(0, k);
  const embed = renderPaperList(
    `Papers like “${paper.title}”`,
    similar,
    'No other paper in the library is close to this one.',
  );
  await interaction.editReply({ embeds: [embed], allowedMentions: NO_MENTIONS });
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
