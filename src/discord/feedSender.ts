import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  DiscordAPIError,
  EmbedBuilder,
  RESTJSONErrorCodes,
  type APIEmbed,
  type Client,
} from 'discord.js';
import { DmsClosedError, type FeedMessage, type FeedSender } from '../feed/delivery.js';
import type { PendingMatch } from '../feed/store.js';
import { paperLinkUrl } from '../papers/paper.js';
import { truncate } from './render.js';
import { NO_MENTIONS } from './router.js';

/** Custom ids of the feedback buttons: `feed:like:<paper id>`, `feed:dislike:<paper id>` (handled by `/feed`). */
export const FEEDBACK_BUTTON = { like: 'feed:like:', dislike: 'feed:dislike:' } as const;

/**
 * Characters one paper may take: Discord allows 6,000 over all the embeds of a message, and a delivery shows up to
 * 10 papers.
 */
const PAPER_BUDGET = { title: 200, authors: 90, tldr: 200, why: 110 } as const;

/** One embed per paper: the title links to it, then authors, the TL;DR and why it was sent. */
export function feedPaperEmbed(match: PendingMatch, index: number): APIEmbed {
  const { paper } = match;
  const authors =
    paper.authors.length === 0
      ? undefined
      : paper.authors.length > 3
        ? `${paper.authors.slice(0, 3).join(', ')} et al.`
        : paper.authors.join(', ');
  const lines = [
    authors ? `*${truncate(authors, PAPER_BUDGET.authors)}*` : undefined,
    paper.tldr ? `**TL;DR** ${truncate(paper.tldr, PAPER_BUDGET.tldr)}` : undefined,
    `**Why** ${truncate(match.why, PAPER_BUDGET.why)}`,
  ].filter((line): line is string => line !== undefined);
  return new EmbedBuilder()
    .setTitle(truncate(`${index + 1}. ${paper.title}`, PAPER_BUDGET.title))
    .setURL(paperLinkUrl(paper))
    .setDescription(lines.join('\n'))
    .toJSON();
}

/** 👍/👎 per paper, numbered like the embeds; five buttons a row, as Discord allows. */
export function feedbackButtons(papers: readonly { paper: { id: string } }[]): ActionRowBuilder<ButtonBuilder>[] {
  const buttons = papers.flatMap(({ paper }, index) => [
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_BUTTON.like}${paper.id}`.slice(0, 100))
      .setLabel(`${index + 1} 👍`)
      .setStyle(ButtonStyle.Secondary),
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_BUTTON.dislike}${paper.id}`.slice(0, 100))
      .setLabel(`${index + 1} 👎`)
      .setStyle(ButtonStyle.Secondary),
  ]);
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let start = 0; start < buttons.length; start += 5)
    rows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(buttons.slice(start, start + 5)));
  return rows;
}

/** The message of one delivery, for a DM or for `/feed now`. */
export function feedMessageBody(message: FeedMessage): {
  content: string;
  embeds: APIEmbed[];
  components: ActionRowBuilder<ButtonBuilder>[];
} {
  const count = message.papers.length + message.more;
  const header = `New for you: ${count} paper${count === 1 ? '' : 's'} matching what you follow.`;
  const more = message.more > 0 ? `\nand ${message.more} more: /feed now` : '';
  return {
    content: `${header}${more}`,
    embeds: message.papers.map(feedPaperEmbed),
    components: feedbackButtons(message.papers),
  };
}

/** Delivers by DM with discord.js: the DM channel is opened (`POST /users/@me/channels`), then one message. */
export class DiscordFeedSender implements FeedSender {
  constructor(private readonly client: Client) {}

  async send(userId: string, message: FeedMessage, nonce: string): Promise<{ messageId: string }> {
    try {
      const sent = await this.client.users.send(userId, {
        ...feedMessageBody(message),
        allowedMentions: NO_MENTIONS,
        nonce,
        enforceNonce: true,
      });
      return { messageId: sent.id };
    } catch (error) {
      if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.CannotSendMessagesToThisUser)
        throw new DmsClosedError(`Discord refused a DM to ${userId}: ${error.message}`, { cause: error });
      throw error;
    }
  }
}
