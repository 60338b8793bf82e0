import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  ThreadAutoArchiveDuration,
  type APIEmbed,
  type Channel,
  type NewsChannel,
  type TextChannel,
  type ThreadChannel,
} from 'discord.js';
import { UserError } from '../errors.js';
import type { Paper } from '../papers/paper.js';
import { BRAND_COLOR, paperLink, truncate } from './render.js';
import { NO_MENTIONS } from './router.js';
import type { BotServices } from './types.js';

const THREAD_NAME_CHARS = 100;
const TITLE_IN_NAME_CHARS = 40;

/**
 * The channel a reading thread opens in: the channel itself, or the parent of the thread the command was used in
 * (threads hold no threads). Direct messages and other channel types cannot hold one.
 */
export async function readingThreadParent(channel: Channel | null): Promise<TextChannel | NewsChannel> {
  const parent = channel?.isThread()
    ? (channel.parent ?? (await channel.guild.channels.fetch(channel.parentId!)))
    : channel;
  if (parent?.type === ChannelType.GuildText || parent?.type === ChannelType.GuildAnnouncement) return parent;
  throw new UserError('Reading sessions open as threads, in a server text channel; this channel cannot hold one.');
}

/**
 * Opens a thread on `papers` and records it as a reading session: every message in it is answered from these papers
 * only, until the thread is archived. The first message in it says so and lists the papers.
 */
export async function openReadingThread(
  parent: TextChannel | NewsChannel,
  papers: readonly Paper[],
  openedBy: string,
  services: Pick<BotServices, 'readingSessions'>,
): Promise<ThreadChannel> {
  const titles = papers.map((paper) => truncate(paper.title.replace(/\s+/g, ' '), TITLE_IN_NAME_CHARS));
  const thread = await parent.threads.create({
    name: truncate(`Reading: ${titles.join(' · ')}`, THREAD_NAME_CHARS),
    autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
    reason: `/read by ${openedBy}`,
  });
  services.readingSessions.open({
    threadId: thread.id,
    guildId: parent.guildId,
    paperIds: papers.map((paper) => paper.id),
    openedBy,
  });
  await thread.send({ embeds: [readingIntro(papers)], allowedMentions: NO_MENTIONS });
  return thread;
}

function readingIntro(papers: readonly Paper[]): APIEmbed {
  return {
    color: BRAND_COLOR,
    title: papers.length === 1 ? 'Reading one paper' : `Reading ${papers.length} papers`,
    description: [
      ...papers.map((paper, index) => `**${index + 1}.** ${paperLink(paper, 200)}`),
      '',
      'Ask anything here: answers come from these papers only (their full text when available, cited to the section),' +
        ' with this thread’s earlier messages as context. Ask “how do they differ?” to compare them; `/export` here' +
        ' exports them. The session ends when the thread is archived.',
    ].join('\n'),
  };
}

/** The customId of a "Discuss in a thread" button: `read:` and the papers' ids, comma-separated. */
const DISCUSS_PREFIX = 'read:';
/** Discord's limit on a customId. */
const CUSTOM_ID_CHARS = 100;

/**
 * A "Discuss in a thread" button opening a reading session on `papers` (the `/read` command handles it); none when
 * their ids do not fit in a button's 100-character customId.
 */
export function discussButtonRow(papers: readonly Pick<Paper, 'id'>[]): ActionRowBuilder<ButtonBuilder>[] {
  const customId = `${DISCUSS_PREFIX}${papers.map((paper) => paper.id).join(',')}`;
  if (customId.length > CUSTOM_ID_CHARS || papers.length === 0) return [];
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId(customId).setLabel('Discuss in a thread').setStyle(ButtonStyle.Secondary),
    ),
  ];
}

/** The paper ids a "Discuss in a thread" button carries. */
export function discussedPaperIds(customId: string): string[] {
  return customId.slice(DISCUSS_PREFIX.length).split(',').filter(Boolean);
}
