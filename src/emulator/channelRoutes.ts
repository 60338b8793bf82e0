/**
 * The REST routes of channels: reading a channel, posting and listing messages (with Discord's permission and
 * body checks), reactions, typing, and threads, started from a message or on their own.
 */
import { invalidFormBody, messageBodyProblems, type JsonObject } from './payloads.js';
import { discordError, ID, type EmulatorParts, type RouteResult, type RouteTable } from './routeTable.js';
import { nextSnowflake } from './snowflake.js';
import type { RecordedReaction } from './types.js';

export function addChannelRoutes(routes: RouteTable, parts: EmulatorParts): void {
  const { state, events } = parts;
  routes.on('GET', new RegExp(`^/channels/${ID}$`), ({ params }) => {
    const channel = state.channels.get(params[0]!);
    return channel ? { status: 200, body: channel } : discordError(404, 10003, 'Unknown Channel');
  });
  routes.on('POST', new RegExp(`^/channels/${ID}/typing$`), () => ({ status: 204 }));
  // Opening a DM always works on Discord; closed DMs show when a message is sent (50007).
  routes.on('POST', /^\/users\/@me\/channels$/, ({ body }) => {
    const recipientId = body?.recipient_id;
    if (typeof recipientId !== 'string' || !/^\d+$/.test(recipientId))
      return discordError(400, 50035, 'Invalid Form Body: recipient_id');
    return { status: 200, body: state.openDm(recipientId) };
  });
  routes.on('POST', new RegExp(`^/channels/${ID}/messages$`), ({ params, body }) =>
    createChannelMessage(parts, params[0]!, body ?? {}),
  );
  routes.on('GET', new RegExp(`^/channels/${ID}/messages$`), ({ params, query }) =>
    listMessages(parts, params[0]!, query),
  );
  routes.on('GET', new RegExp(`^/channels/${ID}/messages/${ID}$`), ({ params }) => {
    const message = state.findMessage(params[0]!, params[1]!);
    return message ? { status: 200, body: message } : discordError(404, 10008, 'Unknown Message');
  });
  routes.on('PUT', new RegExp(`^/channels/${ID}/messages/${ID}/reactions/([^/]+)/@me$`), ({ params }) => {
    if (!state.findMessage(params[0]!, params[1]!)) return discordError(404, 10008, 'Unknown Message');
    const reaction: RecordedReaction = { channelId: params[0]!, messageId: params[1]!, emoji: params[2]! };
    state.reactions.push(reaction);
    events.emit('reaction', reaction);
    return { status: 204 };
  });
  routes.on('POST', new RegExp(`^/channels/${ID}/messages/${ID}/threads$`), ({ params, body }) =>
    startThread(parts, params[0]!, params[1]!, body ?? {}),
  );
  routes.on('POST', new RegExp(`^/channels/${ID}/threads$`), ({ params, body }) =>
    startThread(parts, params[0]!, undefined, body ?? {}),
  );
}

function createChannelMessage({ state, gateway }: EmulatorParts, channelId: string, body: JsonObject): RouteResult {
  if (!state.channels.has(channelId)) return discordError(404, 10003, 'Unknown Channel');
  if (state.channelsWithoutSendPermission.has(channelId)) return discordError(403, 50013, 'Missing Permissions');
  const recipient = state.dmRecipientOf(channelId);
  if (recipient !== undefined && state.closedDms.has(recipient))
    return discordError(403, 50007, 'Cannot send messages to this user');
  const problems = messageBodyProblems(body);
  if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
  const hasFiles = Array.isArray(body.attachments) && body.attachments.length > 0;
  if (!body.content && !(Array.isArray(body.embeds) && body.embeds.length > 0) && !hasFiles) {
    return discordError(400, 50006, 'Cannot send an empty message');
  }
  const message = state.storeMessage(channelId, state.bot, body, { type: body.message_reference ? 19 : 0 });
  // Discord echoes the bot's own messages on the gateway; a bot must not answer itself. DMs need the DirectMessages
  // intent, which papercord does not ask for.
  if (recipient === undefined) gateway.dispatch('MESSAGE_CREATE', message, state.guildOf(channelId));
  return { status: 200, body: message };
}

function listMessages({ state }: EmulatorParts, channelId: string, query: Record<string, string>): RouteResult {
  if (!state.channels.has(channelId)) return discordError(404, 10003, 'Unknown Channel');
  const limit = Math.min(Number(query.limit ?? 50), 100);
  let newestFirst = [...(state.messages.get(channelId) ?? [])].reverse();
  const before = query.before;
  if (before) newestFirst = newestFirst.filter((message) => BigInt(message.id) < BigInt(before));
  return { status: 200, body: newestFirst.slice(0, limit) };
}

/** A thread on a message (`messageId`), or one without a starter message (`POST /channels/:id/threads`). */
function startThread(
  { state, gateway }: EmulatorParts,
  channelId: string,
  messageId: string | undefined,
  body: JsonObject,
): RouteResult {
  const parent = state.channels.get(channelId);
  if (!parent) return discordError(404, 10003, 'Unknown Channel');
  if (parent.thread_metadata) return discordError(400, 50024, 'Cannot execute action on this channel type');
  const starter = messageId === undefined ? undefined : state.findMessage(channelId, messageId);
  if (messageId !== undefined && !starter) return discordError(404, 10008, 'Unknown Message');
  if (messageId !== undefined && state.channels.has(messageId))
    return discordError(400, 160004, 'A thread has already been created for this message');
  const name = String(body.name ?? '');
  if (name.length < 1 || name.length > 100)
    return discordError(400, 50035, 'Invalid Form Body: name must be 1 to 100 characters');
  // A thread started from a message takes the message's id, as on Discord; one without a starter gets its own.
  const threadId = messageId ?? nextSnowflake();
  const thread: JsonObject = {
    id: threadId,
    type: messageId === undefined ? Number(body.type ?? 11) : 11,
    guild_id: state.guildOf(channelId),
    parent_id: channelId,
    owner_id: state.bot.id,
    name,
    last_message_id: null,
    rate_limit_per_user: 0,
    message_count: 0,
    member_count: 1,
    total_message_sent: 0,
    flags: 0,
    thread_metadata: {
      archived: false,
      auto_archive_duration: Number(body.auto_archive_duration ?? 1440),
      archive_timestamp: new Date().toISOString(),
      locked: false,
      create_timestamp: new Date().toISOString(),
    },
  };
  state.channels.set(threadId, thread);
  state.messages.set(threadId, []);
  if (starter) starter.thread = thread;
  gateway.dispatch('THREAD_CREATE', { ...thread, newly_created: true }, state.guildOf(channelId));
  return { status: 201, body: thread };
}
