import { DiscordAPIError, RESTJSONErrorCodes, ThreadAutoArchiveDuration, type Client, type Message } from 'discord.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatDigestEmbed } from '../trending/format.js';
import {
  postMarker,
  PostTargetGoneError,
  type PostedMessage,
  type PostRequest,
  type TrendingPoster,
} from '../trending/poster.js';
import { feedbackButtons } from './feedSender.js';
import { NO_MENTIONS } from './router.js';

/** Discord errors that retrying will not fix: the subscription is disabled instead. */
const GONE_CODES = new Map<number, string>([
  [RESTJSONErrorCodes.UnknownChannel, 'the channel was deleted'],
  [RESTJSONErrorCodes.MissingAccess, 'the bot cannot see the channel'],
  [RESTJSONErrorCodes.MissingPermissions, 'the bot may not post embeds in the channel'],
  [RESTJSONErrorCodes.UnknownGuild, 'the bot is no longer in the server'],
]);

function asGone(error: unknown, channelId: string): PostTargetGoneError | undefined {
  if (!(error instanceof DiscordAPIError)) return undefined;
  const known = typeof error.code === 'number' ? GONE_CODES.get(error.code) : undefined;
  if (!known && error.status !== 403 && error.status !== 404) return undefined;
  return new PostTargetGoneError(`${error.message} in channel ${channelId}: ${known ?? `HTTP ${error.status}`}`, {
    cause: error,
  });
}

/** How many recent messages a resumed post searches for the day's post. */
const RESUME_SEARCH_LIMIT = 50;

/**
 * Posts trending digests with discord.js: one embed, no mentions, the day's nonce with `enforce_nonce` (Discord then
 * returns the first message instead of creating a second if the same nonce is sent again), and an optional
 * discussion thread on the post.
 */
export class DiscordTrendingPoster implements TrendingPoster {
  constructor(
    private readonly client: Client,
    private readonly logger: Logger,
  ) {}

  async post(request: PostRequest): Promise<PostedMessage> {
    const { channelId, digest, nonce } = request;
    const channel = await this.client.channels.fetch(channelId).catch((error: unknown) => {
      throw asGone(error, channelId) ?? error;
    });
    if (!channel || !channel.isSendable() || channel.isDMBased()) {
      throw new PostTargetGoneError(`channel ${channelId} is not a server text channel the bot can post in`);
    }
    const marker = postMarker(digest.date, nonce);
    const earlier = request.resumed
      ? await channel.messages
          .fetch({ limit: RESUME_SEARCH_LIMIT })
          .then((recent) => recent.find((message) => this.isPost(message, marker)))
          .catch((error: unknown) => {
            this.logger.warn(
              { channelId, error: describeError(error) },
              'could not read the channel history; relying on the nonce',
            );
            return undefined;
          })
      : undefined;
    if (earlier) {
      this.logger.info(
        { channelId, messageId: earlier.id },
        'found the post of an interrupted attempt; not posting again',
      );
      return { messageId: earlier.id };
    }
    let message: Message;
    try {
      message = await channel.send({
        embeds: [formatDigestEmbed(digest, marker)],
        // 👍/👎 per paper, numbered as in the post: clicks train the channel's ranking (`/feed`'s buttons).
        components: feedbackButtons(digest.papers.map((paper) => ({ paper }))),
        allowedMentions: NO_MENTIONS,
        nonce,
        enforceNonce: true,
      });
    } catch (error) {
      throw asGone(error, channelId) ?? error;
    }
    if (!request.openThread) return { messageId: message.id };
    try {
      const thread = await message.startThread({
        name: `Trending papers ${digest.date}`,
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
      });
      return { messageId: message.id, threadId: thread.id };
    } catch (error) {
      // The digest is out; a thread that could not be opened is not worth failing (and re-posting) the day.
      this.logger.warn(
        { channelId, messageId: message.id, error: describeError(error) },
        'could not open the discussion thread',
      );
      return { messageId: message.id };
    }
  }

  /** The bot's own trending post carrying `marker` in its footer. */
  private isPost(message: Message, marker: string): boolean {
    return message.author.id === this.client.user?.id && message.embeds.some((embed) => embed.footer?.text === marker);
  }
}
