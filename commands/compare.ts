import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { checkLength, INPUT_LIMITS } from '../src/discord/limits.js';
import { autocompletePapers, declarePaperOption } from '../src/discord/paperOptions.js';
import { discussButtonRow } from '../src/discord/readingThreads.js';
import { renderComparison } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

const PAPER_OPTIONS = ['paper_a', 'paper_b', 'paper_c', 'paper_d'] as const;

export const data = new SlashCommandBuilder()
  .setName('compare')
  .setDescription('Compare two to four papers side by side');
PAPER_OPTIONS.forEach((name, index) =>
  data.addStringOption((option) =>
    declarePaperOption(
      option,
      name,
      index < 2 ? 'A paper (start typing for suggestions)' : 'Another paper (optional)',
      index < 2,
    ),
  ),
);

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const names = PAPER_OPTIONS.map((name) => interaction.options.getString(name))
    .filter((value): value is string => value !== null)
    .map((value) => checkLength('paper name', value, INPUT_LIMITS.paperName));
  await interaction.deferReply();
  // Resolved before taking a slot: an unknown title gets its "did you mean" (to this user only) and costs no cooldown.
  const papers = await Promise.all(names.map((name) => services.resolvePaper(name)));
  const slot = services.limiter.acquire(interaction.user.id);
  try {
    const comparison = await services.answers.compare(
      papers.map((paper) => paper.id),
      { signal: AbortSignal.timeout(14 * 60 * 1000) },
    );
    const [first = [], ...rest] = renderComparison(comparison);
    await interaction.editReply({ embeds: first, components: discussButtonRow(papers), allowedMentions: NO_MENTIONS });
    for (const embeds of rest) await interaction.followUp({ embeds, allowedMentions: NO_MENTIONS });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
