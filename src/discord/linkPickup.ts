import type { Message } from 'discord.js';
import { describeError } from '../errors.js';
import type { IntakeItem, IntakeOutcome } from '../intake/paperIntake.js';
import { findArxivLinks } from '../papers/arxivIds.js';
import { addMixed, isPdfAttachment, pdfAttachmentItems } from './paperIntake.js';
import type { BotServices } from './types.js';

/** The reaction for each outcome: a busy channel gets reactions, never replies. */
export const PICKUP_REACTIONS: Record<IntakeOutcome['status'], string> = {
  added: '📚',
  present: '✅',
  not_found: '❓',
  error: '⚠️',
};

/**
 * In channels where `/library links on` was run, every member message with paper links (arXiv, Hugging Face, arXiv
 * DOIs, `arXiv:` ids) or PDF attachments has its papers added, and the bot reacts to it. Reading message text needs
 * the privileged MessageContent intent.
 */
export function createLinkPickup(services: Pick<BotServices, 'addPapers' | 'linkChannels' | 'logger'>) {
  return async (message: Message): Promise<void> => {
    if (message.author.bot || message.system || !message.inGuild()) return;
    const channel = message.channel;
    const enabled =
      services.linkChannels.isEnabled(channel.id) ||
      (channel.isThread() && channel.parentId !== null && services.linkChannels.isEnabled(channel.parentId));
    if (!enabled) return;
    const links = findArxivLinks(message.content);
    const hasPdf = message.attachments.some((attachment) => isPdfAttachment(attachment));
    if (links.length === 0 && !hasPdf) return;

    let outcomes: IntakeOutcome[];
    try {
      const entries: Array<IntakeItem | IntakeOutcome> = links.map((id) => ({ kind: 'reference', input: id }));
      entries.push(...(await pdfAttachmentItems(message.attachments.values())));
      outcomes = await addMixed(entries, (items) => services.addPapers(items));
    } catch (error) {
      services.logger.error({ err: error, message: message.id, channel: channel.id }, 'link pickup failed');
      outcomes = [{ input: message.id, id: null, title: null, status: 'error', message: describeError(error) }];
    }
    const failures = outcomes.filter((outcome) => outcome.status === 'not_found' || outcome.status === 'error');
    if (failures.length > 0)
      services.logger.info(
        { message: message.id, failures: failures.map((outcome) => `${outcome.input}: ${outcome.message}`) },
        'link pickup could not add some papers',
      );
    const statuses = (['added', 'present', 'not_found', 'error'] as const).filter((status) =>
      outcomes.some((outcome) => outcome.status === status),
    );
    for (const status of statuses) {
      await message
        .react(PICKUP_REACTIONS[status])
        .catch((error: unknown) =>
          services.logger.warn({ err: describeError(error), message: message.id }, 'could not react to a message'),
        );
    }
  };
}
