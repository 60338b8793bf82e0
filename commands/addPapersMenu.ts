import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { addMixed, pdfAttachmentItems, renderIntakeReply } from '../src/discord/paperIntake.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';
import type { IntakeItem, IntakeOutcome } from '../src/intake/paperIntake.js';
import { findArxivLinks } from '../src/papers/arxivIds.js';

export const kind = 'message-menu';

/** Right-click a message → Apps → "Add papers to library": every paper it links, and its PDF attachments. */
export const data = new ContextMenuCommandBuilder()
  .setName('Add papers to library')
  .setType(ApplicationCommandType.Message);

export async function execute(interaction: MessageContextMenuCommandInteraction, services: BotServices): Promise<void> {
  const message = interaction.targetMessage;
  const links = findArxivLinks(message.content);
  const hasPdf = message.attachments.some(
    (attachment) => attachment.contentType === 'application/pdf' || /\.pdf$/i.test(attachment.name),
  );
  if (links.length === 0 && !hasPdf) {
    throw new UserError('That message has no arXiv or Hugging Face paper links and no PDF attachment.');
  }
  await interaction.deferReply();
  const entries: Array<IntakeItem | IntakeOutcome> = links.map((id) => ({ kind: 'reference', input: id }));
  entries.push(...(await pdfAttachmentItems(message.attachments.values())));
  const outcomes = await addMixed(entries, (items) => services.addPapers(items));
  await interaction.editReply({ ...renderIntakeReply(outcomes), allowedMentions: NO_MENTIONS });
}
