import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { admitIntake, memberStanding, missingAdderRole, withLeftOut } from '../src/discord/intakeLimits.js';
import {
  addMixed,
  isPdfAttachment,
  pdfAttachmentItems,
  renderIntakeReply,
  sendIntakeReply,
} from '../src/discord/paperIntake.js';
import type { BotServices } from '../src/discord/types.js';
import type { IntakeItem, IntakeOutcome } from '../src/intake/paperIntake.js';
import { findArxivLinks } from '../src/papers/arxivIds.js';

export const kind = 'message-menu';

/** Right-click a message → Apps → "Add papers to library": every paper it links, and its PDF attachments. */
export const data = new ContextMenuCommandBuilder()
  .setName('Add papers to library')
  .setType(ApplicationCommandType.Message)
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: MessageContextMenuCommandInteraction, services: BotServices): Promise<void> {
  const message = interaction.targetMessage;
  const links = findArxivLinks(message.content);
  const pdfs = message.attachments.filter((attachment) => isPdfAttachment(attachment));
  if (links.length === 0 && pdfs.size === 0) {
    throw new UserError('That message has no arXiv or Hugging Face paper links and no PDF attachment.');
  }
  const inputs = [...links, ...pdfs.map((attachment) => attachment.name)];
  const { admitted, leftOut, turn } = admitIntake(
    services.intakeLimits,
    {
      userId: interaction.user.id,
      inServer: interaction.inGuild(),
      command: 'Add papers to library',
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
    const entries: Array<IntakeItem | IntakeOutcome> = links
      .slice(0, admitted.length)
      .map((id) => ({ kind: 'reference', input: id }));
    entries.push(
      ...(await pdfAttachmentItems(
        [...pdfs.values()].slice(0, Math.max(0, admitted.length - links.length)),
        services.attachments,
      )),
    );
    const outcomes = await addMixed(entries, (items) => services.addPapers(items));
    await sendIntakeReply(interaction, withLeftOut(renderIntakeReply(outcomes), leftOut), outcomes);
  } finally {
    turn.release();
  }
}
