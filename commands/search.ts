import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { checkLength, checkRange, INPUT_LIMITS } from '../src/discord/limits.js';
import { renderPaperList } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';
import { missingLead } from '../src/retrieval/keyConcepts.js';
import { LOW_CONFIDENCE_LEAD } from '../src/retrieval/types.js';

export const data = new SlashCommandBuilder()
  .setName('search')
  .setDescription('Find papers in the library')
  .addStringOption((option) =>
    option.setName('query').setDescription('What to look for').setRequired(true).setMaxLength(INPUT_LIMITS.searchQuery),
  )
  .addIntegerOption((option) =>
    option.setName('k').setDescription('How many papers (1-10, default 5)').setMinValue(1).setMaxValue(10),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const query = checkLength('search query', interaction.options.getString('query', true), INPUT_LIMITS.searchQuery);
  const k = checkRange('k', interaction.options.getInteger('k') ?? 5, 1, 10);
  await interaction.deferReply();
  const { hits, confidence, missing = [] } = await services.retriever.retrieve(query, { k });
  // What the library lacks comes first, before any paper: "No paper in the library mentions federated learning."
  const lead =
    missing.length > 0
      ? `${missingLead(query, missing)}:`
      : confidence === 'low'
        ? `${LOW_CONFIDENCE_LEAD}:`
        : undefined;
  const embed = renderPaperList(
    `Papers for “${query}”`,
    hits,
    'Nothing in the library matches that. Try other words.',
    { lead },
  );
  await interaction.editReply({ embeds: [embed], allowedMentions: NO_MENTIONS });
}
