import type { Message } from 'discord.js';
import { describeError } from '../errors.js';
import type { IntakeItem, IntakeOutcome } from '../intake/paperIntake.js';
import { findArxivLinks } from '../papers/arxivIds.js';
import { memberStanding, missingAdderRole, type IntakeTurn } from './intakeLimits.js';
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
 *
 * Each channel (a thread counts as its parent) has an allowance of papers (`LINK_PICKUP_BURST`, then one every
 * `LINK_PICKUP_COOLDOWN_SECONDS`) and pickup shares the process's intake queue: a flood of links is mostly ignored,
 * quietly (a reaction per message would flood Discord in turn), and logged once per spell.
 */
export function createLinkPickup(
  services: Pick<BotServices, 'addPapers' | 'linkChannels' | 'logger' | 'intakeLimits' | 'attachments'>,
) {
  const throttledChannels = new Set<string>();
  const skip = (channelId: string, messageId: string, why: string) => {
    if (throttledChannels.has(channelId)) return;
    throttledChannels.add(channelId);
    services.logger.warn({ channel: channelId, message: messageId }, `link pickup skips messages: ${why}`);
  };

  return async (message: Message): Promise<void> => {
    if (message.author.bot || message.system || !message.inGuild()) return;
    const channel = message.channel;
    const pickupChannelId = channel.isThread() && channel.parentId !== null ? channel.parentId : channel.id;
    const enabled =
      services.linkChannels.isEnabled(channel.id) ||
      (channel.isThread() && channel.parentId !== null && services.linkChannels.isEnabled(channel.parentId));
    if (!enabled) return;
    const links = findArxivLinks(message.content);
    const pdfs = [...message.attachments.values()].filter((attachment) => isPdfAttachment(attachment));
    if (links.length === 0 && pdfs.length === 0) return;
    const member = message.member;
    if (missingAdderRole(services.linkChannels, message.guildId, memberStanding(member, member?.permissions ?? null)))
      return;

    let turn: IntakeTurn;
    try {
      turn = services.intakeLimits.queue.enter();
    } catch (error) {
      skip(pickupChannelId, message.id, describeError(error));
      return;
    }
    let outcomes: IntakeOutcome[];
    try {
      const granted = services.intakeLimits.admitChannel(pickupChannelId, links.length + pdfs.length);
      if (granted === 0) {
        const wait = services.intakeLimits.channelWaitSeconds(pickupChannelId);
        skip(pickupChannelId, message.id, `the channel's allowance of papers is spent for ${wait} s`);
        return;
      }
      throttledChannels.delete(pickupChannelId);
      if (granted < links.length + pdfs.length)
        services.logger.info(
          { message: message.id, channel: channel.id, granted, posted: links.length + pdfs.length },
          "link pickup adds only the first papers of a message: the channel's allowance",
        );
      await turn.started;
      const entries: Array<IntakeItem | IntakeOutcome> = links
        .slice(0, granted)
        .map((id) => ({ kind: 'reference', input: id }));
      entries.push(
        ...(await pdfAttachmentItems(pdfs.slice(0, Math.max(0, granted - links.length)), services.attachments)),
      );
      outcomes = await addMixed(entries, (items) => services.addPapers(items));
    } catch (error) {
      services.logger.error({ err: error, message: message.id, channel: channel.id }, 'link pickup failed');
      outcomes = [{ input: message.id, id: null, title: null, status: 'error', message: describeError(error) }];
    } finally {
      turn.release();
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
