import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { DEFAULT_ANSWER_K } from '../src/answering/answerService.js';
import { answerAsMessages } from '../src/discord/answerFlow.js';
import { checkLength, checkRange, INPUT_LIMITS } from '../src/discord/limits.js';
import { autocompletePapers, declarePaperOption, paperName } from '../src/discord/paperOptions.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('ask')
  .setDescription('Ask a question; answered from the paper library, with numbered sources')
  .addStringOption((option) =>
    option.setName('question').setDescription('Your question').setRequired(true).setMaxLength(INPUT_LIMITS.question),
  )
  .addIntegerOption((option) =>
    option.setName('k').setDescription('How many papers to draw on (1-10, default 5)').setMinValue(1).setMaxValue(10),
  )
  .addStringOption((option) =>
    declarePaperOption(
      option,
      'paper',
      'Answer from this one paper, its full text when available (start typing)',
      false,
    ),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const question = checkLength('question', interaction.options.getString('question', true), INPUT_LIMITS.question);
  const k = checkRange('k', interaction.options.getInteger('k') ?? DEFAULT_ANSWER_K, 1, 10);
  const paperNamed = interaction.options.getString('paper') === null ? undefined : paperName(interaction, 'paper');
  const slot = services.limiter.acquire(interaction.user.id);
  try {
    await interaction.deferReply();
    // Looked up after the acknowledgement (a library worker does it); an unknown title gets a private "did you mean".
    const paper = paperNamed === undefined ? undefined : await services.resolvePaper(paperNamed);
    const [first = [], ...rest] = await answerAsMessages(services, question, {
      k,
      ...(paper ? { paper: paper.id } : {}),
      showPartial: (embed) => interaction.editReply({ embeds: [embed], allowedMentions: NO_MENTIONS }),
    });
    await interaction.editReply({ embeds: first, allowedMentions: NO_MENTIONS });
    for (const embeds of rest) await interaction.followUp({ embeds, allowedMentions: NO_MENTIONS });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
