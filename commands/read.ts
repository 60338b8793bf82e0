import {
  MessageFlags,
  type ButtonInteraction,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { MAX_SESSION_PAPERS } from '../src/answering/answerService.js';
import { checkLength } from '../src/discord/limits.js';
import {
  autocompletePaperList,
  PAPER_LIST_CHARS,
  resolvePaperList,
  splitPaperList,
} from '../src/discord/paperLists.js';
import { discussedPaperIds, openReadingThread, readingThreadParent } from '../src/discord/readingThreads.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('read')
  .setDescription('Open a thread about a few papers: every message in it is answered from those papers only')
  .addStringOption((option) =>
    option
      .setName('papers')
      .setDescription(`Up to ${MAX_SESSION_PAPERS} papers: ids, links or titles, separated by commas (start typing)`)
      .setRequired(true)
      .setAutocomplete(true)
      .setMaxLength(PAPER_LIST_CHARS),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const list = checkLength('list of papers', interaction.options.getString('papers', true), PAPER_LIST_CHARS);
  const names = splitPaperList(list, MAX_SESSION_PAPERS);
  const parent = await readingThreadParent(interaction.channel);
  // A thread is cheap, but a member opening them in a loop is not: it takes a question from their allowance.
  const slot = services.limiter.acquire(interaction.user.id);
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const papers = await resolvePaperList(services, names);
    const thread = await openReadingThread(parent, papers, interaction.user.id, services);
    await interaction.editReply({
      content: `Opened <#${thread.id}> on ${papers.length} paper${papers.length === 1 ? '' : 's'}: ask there.`,
      allowedMentions: NO_MENTIONS,
    });
  } finally {
    slot.release();
  }
}

/** "Discuss in a thread" under a /paper or /compare reply: a reading session on its papers. */
export async function button(interaction: ButtonInteraction, services: BotServices): Promise<void> {
  const ids = discussedPaperIds(interaction.customId).slice(0, MAX_SESSION_PAPERS);
  const parent = await readingThreadParent(interaction.channel);
  const slot = services.limiter.acquire(interaction.user.id);
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const papers = await resolvePaperList(services, ids);
    const thread = await openReadingThread(parent, papers, interaction.user.id, services);
    await interaction.editReply({ content: `Opened <#${thread.id}>: ask there.`, allowedMentions: NO_MENTIONS });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePaperList(interaction, services);
}
