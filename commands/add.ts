import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../src/errors.js';
import {
  addMixed,
  describeProgress,
  isPdfAttachment,
  pdfAttachmentItems,
  renderIntakeReply,
} from '../src/discord/paperIntake.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import { ThrottledEdits } from '../src/discord/throttledEdits.js';
import type { BotServices } from '../src/discord/types.js';
import type { IntakeItem, IntakeOutcome } from '../src/intake/paperIntake.js';

/** Ids and links one `/add` takes; a longer list belongs in `papercord add` or a BibTeX import. */
export const MAX_ADD_INPUTS = 50;
const MAX_TEXT = 4000;
/** From this many inputs on, the reply shows progress while the papers are looked up. */
const PROGRESS_FROM = 4;

export const data = new SlashCommandBuilder()
  .setName('add')
  .setDescription('Add papers to the library by arXiv id or link, Hugging Face link, or PDF')
  .addStringOption((option) =>
    option
      .setName('papers')
      .setDescription('arXiv ids or links, Hugging Face paper links, arXiv DOIs: any number, separated by spaces')
      .setMaxLength(MAX_TEXT),
  )
  .addAttachmentOption((option) => option.setName('pdf').setDescription('A paper PDF (up to 25 MB)'));

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const text = (interaction.options.getString('papers') ?? '').trim();
  const tokens = [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
  const attachment = interaction.options.getAttachment('pdf');
  if (tokens.length === 0 && !attachment)
    throw new UserError('Give me arXiv ids or paper links in `papers`, or attach a PDF.');
  if (tokens.length > MAX_ADD_INPUTS) {
    throw new UserError(
      `That is ${tokens.length} papers; /add takes at most ${MAX_ADD_INPUTS} at once (a BibTeX file or \`papercord add\` takes any number).`,
    );
  }
  if (attachment && !isPdfAttachment(attachment))
    throw new UserError(`${attachment.name} is not a PDF; attach the paper as a .pdf file.`);

  await interaction.deferReply();
  const entries: Array<IntakeItem | IntakeOutcome> = tokens.map((input) => ({ kind: 'reference', input }));
  if (attachment) entries.push(...(await pdfAttachmentItems([attachment])));
  const progress =
    entries.length >= PROGRESS_FROM
      ? new ThrottledEdits(
          (content) => interaction.editReply({ content, allowedMentions: NO_MENTIONS }),
          services.logger,
        )
      : undefined;
  let outcomes: IntakeOutcome[];
  try {
    outcomes = await addMixed(entries, (items) =>
      services.addPapers(items, { onProgress: (step) => progress?.push(describeProgress(step)) }),
    );
  } finally {
    await progress?.finish();
  }
  await interaction.editReply({ ...renderIntakeReply(outcomes), allowedMentions: NO_MENTIONS });
}
