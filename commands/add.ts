import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../src/errors.js';
import { admitIntake, memberStanding, missingAdderRole, withLeftOut } from '../src/discord/intakeLimits.js';
import {
  addMixed,
  describeProgress,
  isPdfAttachment,
  pdfAttachmentItems,
  renderIntakeReply,
  sendIntakeReply,
} from '../src/discord/paperIntake.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import { ThrottledEdits } from '../src/discord/throttledEdits.js';
import type { BotServices } from '../src/discord/types.js';
import type { IntakeItem, IntakeOutcome } from '../src/intake/paperIntake.js';
import { tooLarge } from '../src/papers/pdf.js';

const MAX_TEXT = 4000;
/** From this many inputs on, the reply shows progress while the papers are looked up. */
const PROGRESS_FROM = 4;

export const data = new SlashCommandBuilder()
  .setName('add')
  .setDescription('Add papers to the library by arXiv id or link, Hugging Face link, or PDF')
  .setContexts(InteractionContextType.Guild)
  .addStringOption((option) =>
    option
      .setName('papers')
      .setDescription('arXiv ids or links, Hugging Face paper links, arXiv DOIs, separated by spaces (up to 20)')
      .setMaxLength(MAX_TEXT),
  )
  .addAttachmentOption((option) => option.setName('pdf').setDescription('A paper PDF (up to 25 MB)'));

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const text = (interaction.options.getString('papers') ?? '').trim();
  // Discord enforces the option's length, but a bot must not trust the client: 10,000 ids stop here, unread.
  if (text.length > MAX_TEXT)
    throw new UserError(`The list of papers is ${text.length} characters long; the limit is ${MAX_TEXT}.`);
  const tokens = [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
  const attachment = interaction.options.getAttachment('pdf');
  if (tokens.length === 0 && !attachment)
    throw new UserError('Give me arXiv ids or paper links in `papers`, or attach a PDF.');
  if (attachment && !isPdfAttachment(attachment))
    throw new UserError(`${attachment.name} is not a PDF; attach the paper as a .pdf file.`);
  if (attachment && attachment.size > services.attachments.maxBytes)
    throw new UserError(tooLarge(attachment.name, attachment.size, services.attachments.maxBytes));

  const inputs = attachment ? [...tokens, attachment.name] : tokens;
  const { admitted, leftOut, turn } = admitIntake(
    services.intakeLimits,
    {
      userId: interaction.user.id,
      inServer: interaction.inGuild(),
      command: '/add',
      missingRole: missingAdderRole(
        services.linkChannels,
        interaction.guildId,
        memberStanding(interaction.member, interaction.memberPermissions),
      ),
    },
    inputs,
  );
  try {
    await interaction.deferReply();
    await turn.started;
    const entries: Array<IntakeItem | IntakeOutcome> = tokens
      .slice(0, admitted.length)
      .map((input) => ({ kind: 'reference', input }));
    if (attachment && admitted.length === inputs.length)
      entries.push(...(await pdfAttachmentItems([attachment], services.attachments)));
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
    await sendIntakeReply(interaction, withLeftOut(renderIntakeReply(outcomes), leftOut), outcomes);
  } finally {
    turn.release();
  }
}
