import {
  AttachmentBuilder,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { checkLength, INPUT_LIMITS } from '../src/discord/limits.js';
import {
  autocompletePaperList,
  PAPER_LIST_CHARS,
  resolvePaperList,
  splitPaperList,
} from '../src/discord/paperLists.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';
import { EXPORT_FORMAT_NAMES, exportPapers, isExportFormatName } from '../src/papers/export/formats.js';
import type { Paper } from '../src/papers/paper.js';

/** Papers one /export sends: a search's worth, and a file small enough for any reference manager's import dialog. */
export const MAX_EXPORT_PAPERS = 25;

export const data = new SlashCommandBuilder()
  .setName('export')
  .setDescription('Export papers for a reference manager, as a BibTeX, CSL-JSON or RIS file')
  .addStringOption((option) =>
    option
      .setName('format')
      .setDescription('File format')
      .setRequired(true)
      .addChoices(...EXPORT_FORMAT_NAMES.map((name) => ({ name, value: name }))),
  )
  .addStringOption((option) =>
    option
      .setName('query')
      .setDescription(`The papers a search finds (up to ${MAX_EXPORT_PAPERS})`)
      .setMaxLength(INPUT_LIMITS.searchQuery),
  )
  .addStringOption((option) =>
    option
      .setName('papers')
      .setDescription(`Ids, links or titles, separated by commas (up to ${MAX_EXPORT_PAPERS}; start typing)`)
      .setAutocomplete(true)
      .setMaxLength(PAPER_LIST_CHARS),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const format = interaction.options.getString('format', true);
  if (!isExportFormatName(format)) throw new UserError(`The format is one of ${EXPORT_FORMAT_NAMES.join(', ')}.`);
  const query = interaction.options.getString('query');
  const list = interaction.options.getString('papers');
  if (query !== null && list !== null) throw new UserError('Give either `query:` or `papers:`, not both.');
  // In a reading session's thread, the session's papers.
  const session = query === null && list === null ? services.readingSessions.get(interaction.channelId) : undefined;
  if (query === null && list === null && !session)
    throw new UserError(
      'Give `query:` (a search) or `papers:` (ids, links or titles), or use /export in a /read thread.',
    );
  const names =
    list === null
      ? undefined
      : splitPaperList(checkLength('list of papers', list, PAPER_LIST_CHARS), MAX_EXPORT_PAPERS);
  const search = query === null ? undefined : checkLength('search query', query, INPUT_LIMITS.searchQuery);
  const slot = services.limiter.acquire(interaction.user.id);
  try {
    await interaction.deferReply();
    let papers: Paper[];
    if (session) papers = await resolvePaperList(services, session.paperIds);
    else if (names) papers = await resolvePaperList(services, names);
    else {
      const { hits, abstained } = await services.retriever.retrieve(search!, { k: MAX_EXPORT_PAPERS });
      if (abstained || hits.length === 0)
        throw new UserError(`Nothing in the library matches “${search}”; nothing to export.`);
      papers = hits.map((hit) => hit.paper);
    }
    const file = exportPapers(papers, format);
    await interaction.editReply({
      content: `${papers.length} paper${papers.length === 1 ? '' : 's'} as ${format}.`,
      files: [new AttachmentBuilder(Buffer.from(file.text, 'utf8'), { name: file.fileName })],
      allowedMentions: NO_MENTIONS,
    });
  } finally {
    slot.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePaperList(interaction, services);
}
