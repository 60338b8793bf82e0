import { DiscordAPIError, RESTJSONErrorCodes, type AnyThreadChannel, type Client, type Message } from 'discord.js';
import type { ChatTurn } from '../answering/answerService.js';
import { describeError, isUserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { answerAsMessages } from './answerFlow.js';
import { checkLength, INPUT_LIMITS } from './limits.js';
import { truncate } from './render.js';
import { APOLOGY, NO_MENTIONS } from './router.js';
import type { BotServices } from './types.js';

export interface ThreadHistoryOptions {
  /** Messages read back from the thread. */
  maxMessages: number;
  /** Turns handed to the answer service, newest kept. */
  maxTurns: number;
  /** Characters per turn; long answers are cut so the prompt stays small. */
  maxTurnChars: number;
}

export const DEFAULT_THREAD_HISTORY: ThreadHistoryOptions = { maxMessages: 30, maxTurns: 8, maxTurnChars: 800 };

const THREAD_NAME_CHARS = 100;

/**
 * Answers questions asked by mentioning the bot: the answer goes to a new thread on the question, and later
 * messages in that thread are answered with the thread's earlier turns as context. In the bot's other threads (the
 * discussion thread of a daily trending post) members talk among themselves: only a mention is answered there.
 * Needs the MessageContent intent for follow-ups that do not mention the bot.
 */
export function createMentionHandler(
  client: Client,
  services: BotServices,
  history: ThreadHistoryOptions = DEFAULT_THREAD_HISTORY,
) {
  const threadKinds = new ThreadKinds(services.logger);
  return async (message: Message): Promise<void> => {
    if (message.author.bot || message.system || !client.user || !message.inGuild()) return;
    const channel = message.channel;
    const inOwnThread = channel.isThread() && channel.ownerId === client.user.id;
    const mentioned = message.mentions.users.has(client.user.id);
    if (!inOwnThread && !mentioned) return;
    // In its own thread the bot reads every message: a picture or a sticker alone asks nothing, so it gets no reply.
    if (!mentioned && !stripBotMention(message.content, client.user.id)) return;
    // A reading session (`/read`) answers every message from its papers only, with the thread's turns as context.
    const session = inOwnThread ? services.readingSessions.get(channel.id) : undefined;
    const inConversation =
      inOwnThread && (session !== undefined || (await threadKinds.isConversation(channel, client.user.id)));
    if (!mentioned && !inConversation) return;

    let thread: AnyThreadChannel | undefined = inOwnThread ? channel : undefined;
    try {
      const question = checkLength('question', stripBotMention(message.content, client.user.id), INPUT_LIMITS.question);
      const slot = services.limiter.acquire(message.author.id);
      try {
        if (!thread) {
          thread = channel.isThread()
            ? channel
            : await message.startThread({ name: truncate(question.replace(/\s+/g, ' '), THREAD_NAME_CHARS) });
        }
        await thread.sendTyping().catch(() => undefined);
        // Chatter in a discussion thread was not addressed to the bot: only a conversation's turns are context.
        const turns = inConversation ? await threadHistory(thread, message, client.user.id, history) : [];
        const messages = await answerAsMessages(services, question, {
          history: turns,
          ...(session ? { papers: session.paperIds } : {}),
        });
        for (const embeds of messages) await thread.send({ embeds, allowedMentions: NO_MENTIONS });
      } finally {
        slot.release();
      }
    } catch (error) {
      if (!isUserError(error))
        services.logger.error({ err: error, message: message.id, channel: channel.id }, 'mention answer failed');
      const content = isUserError(error) ? error.message : APOLOGY;
      // A message has no ephemeral reply; answer where the question was, pinging nobody.
      await (thread ?? channel)
        .send({ content, allowedMentions: NO_MENTIONS })
        .catch((sendError: unknown) =>
          services.logger.warn({ err: describeError(sendError) }, 'could not report a mention error'),
        );
    }
  };
}

/** Threads looked up so far; beyond this many the oldest are forgotten (and looked up again if they come back). */
const KNOWN_THREADS_LIMIT = 1_000;

/**
 * Tells the bot's two kinds of threads apart: a conversation, opened on a member's message that mentioned the bot,
 * and a discussion thread opened on the bot's own post. Both are owned by the bot; the author of the thread's
 * starter message differs, and it is still on Discord after a restart. Each thread costs one request per process.
 * A thread whose starter is gone (deleted) counts as a discussion: the bot then answers only when mentioned.
 */
export class ThreadKinds {
  private readonly conversations = new Map<string, Promise<boolean>>();

  constructor(private readonly logger: Logger) {}

  isConversation(thread: AnyThreadChannel, botId: string): Promise<boolean> {
    let known = this.conversations.get(thread.id);
    if (!known) {
      known = this.lookUp(thread, botId);
      this.conversations.set(thread.id, known);
      if (this.conversations.size > KNOWN_THREADS_LIMIT)
        this.conversations.delete(this.conversations.keys().next().value!);
    }
    return known;
  }

  private async lookUp(thread: AnyThreadChannel, botId: string): Promise<boolean> {
    try {
      // The starter lives in the parent channel, which discord.js must know to fetch it.
      if (!thread.parent && thread.parentId) await thread.guild.channels.fetch(thread.parentId);
      const starter = await thread.fetchStarterMessage();
      return starter !== null && starter.author.id !== botId;
    } catch (error) {
      if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage) return false;
      // Not known for sure: ask again on the thread's next message.
      this.conversations.delete(thread.id);
      this.logger.warn(
        { err: describeError(error), thread: thread.id },
        'could not read the starter message of a thread; answering mentions only',
      );
      return false;
    }
  }
}

/** The message text without the `<@bot>` mention that summoned the bot. */
export function stripBotMention(content: string, botId: string): string {
  return content
    .replace(new RegExp(`<@!?${botId}>`, 'g'), ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Earlier turns of the thread, oldest first: the question that opened it, then user messages and bot answers. */
async function threadHistory(
  thread: AnyThreadChannel,
  current: Message,
  botId: string,
  options: ThreadHistoryOptions,
): Promise<ChatTurn[]> {
  const fetched = await thread.messages.fetch({ limit: options.maxMessages, before: current.id });
  const earlier = [...fetched.values()].sort((a, b) => a.createdTimestamp - b.createdTimestamp);
  const starter = await thread.fetchStarterMessage().catch(() => null);
  const turns: ChatTurn[] = [];
  for (const message of starter ? [starter, ...earlier] : earlier) {
    const fromBot = message.author.id === botId;
    const text = fromBot
      ? message.embeds.map((embed) => embed.description ?? '').join('\n')
      : stripBotMention(message.content, botId);
    if (text.trim())
      turns.push({ role: fromBot ? 'assistant' : 'user', content: truncate(text.trim(), options.maxTurnChars) });
  }
  return turns.slice(-options.maxTurns);
}
