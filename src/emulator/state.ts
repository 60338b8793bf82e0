/**
 * What the emulated Discord holds: its server, channels and messages, the interactions it dispatched, and the
 * records of everything the bot did. REST routes and the gateway read and change it; tests read it.
 */
import type { EventEmitter } from 'node:events';
import { textChannelPayload, userPayload, type EmulatedUser, type JsonObject } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import type {
  DiscordEmulatorOptions,
  EmulatedAttachmentInput,
  EmulatedMessage,
  InteractionRecord,
  RecordedGatewayPayload,
  RecordedReaction,
  RecordedRequest,
} from './types.js';

export const EPHEMERAL_FLAG = 64;
export const LOADING_FLAG = 128;

/** The shard a guild's events go to, as Discord assigns it: `(guild_id >> 22) % shard count`. */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

export interface StoredMessageMeta {
  type: number;
  flags?: number;
  webhookId?: string;
  ephemeral?: boolean;
}

export class EmulatorState {
  readonly bot: EmulatedUser;
  readonly applicationId = nextSnowflake();
  readonly guildId = nextSnowflake();
  readonly channelId = nextSnowflake();
  /** A default human who types commands. */
  readonly user: EmulatedUser = { id: nextSnowflake(), username: 'reader' };

  readonly requests: RecordedRequest[] = [];
  readonly gatewayPayloads: RecordedGatewayPayload[] = [];
  readonly interactions = new Map<string, InteractionRecord>();
  /** Commands registered by bulk overwrite: key `global` or the guild id. */
  readonly registeredCommands = new Map<string, JsonObject[]>();
  readonly channels = new Map<string, JsonObject>();
  /** Channels where the bot has lost Send Messages: a post there gets 403 Missing Permissions (50013). */
  readonly channelsWithoutSendPermission = new Set<string>();
  readonly messages = new Map<string, EmulatedMessage[]>();
  /** Reactions the bot added, in order. */
  readonly reactions: RecordedReaction[] = [];
  /** Attachment bytes served at `/attachments/<id>/<filename>`. */
  readonly attachmentFiles = new Map<string, { bytes: Uint8Array; contentType: string }>();
  /** Every guild the bot is in: the default one first, then those of `addGuild`. */
  readonly guildIds: string[] = [];
  readonly joinedAt = new Date().toISOString();
  /** Roles of the default server beyond @everyone (`DiscordEmulator.addRole`). */
  readonly roles: JsonObject[] = [];
  /** DM channel ids by recipient user id (`POST /users/@me/channels`). */
  readonly dmChannels = new Map<string, string>();
  /** Users whose DMs are closed to the bot: a message to their DM channel gets 403 (50007), as on Discord. */
  readonly closedDms = new Set<string>();
  /** Users the emulator has seen (they typed a command or clicked a button): DM channels name them. */
  readonly knownUsers = new Map<string, EmulatedUser>();
  /** Where the emulator listens once started: attachment URLs point at it. */
  origin = 'http://127.0.0.1:0';

  readonly #options: Required<DiscordEmulatorOptions>;
  readonly #events: EventEmitter;

  constructor(options: Required<DiscordEmulatorOptions>, events: EventEmitter) {
    this.#options = options;
    this.#events = events;
    this.bot = { id: nextSnowflake(), username: options.botUsername, bot: true };
    this.guildIds.push(this.guildId);
    this.addTextChannel(this.channelId, this.guildId);
  }

  addTextChannel(channelId: string, guildId: string): JsonObject {
    const channel = textChannelPayload(channelId, guildId);
    this.channels.set(channelId, channel);
    this.messages.set(channelId, []);
    return channel;
  }

  /** A guild id whose events Discord would send to shard `shardId` of `shardCount`. */
  addGuild(shardId: number, shardCount: number): { guildId: string; channelId: string } {
    let guildId = nextSnowflake();
    // The shard is decided by the timestamp bits: step back a millisecond at a time until it matches.
    for (let stepBack = 1; shardOfGuild(guildId, shardCount) !== shardId; stepBack += 1)
      guildId = nextSnowflake(Date.now() - stepBack);
    const channelId = nextSnowflake();
    this.guildIds.push(guildId);
    this.addTextChannel(channelId, guildId);
    return { guildId, channelId };
  }

  /** The user's DM channel with the bot, created on first use as Discord does. */
  openDm(userId: string): JsonObject {
    const existing = this.dmChannels.get(userId);
    if (existing) return this.channels.get(existing)!;
    const channelId = nextSnowflake();
    const recipient = this.knownUsers.get(userId) ?? { id: userId, username: `user${userId.slice(-4)}` };
    const channel: JsonObject = { id: channelId, type: 1, last_message_id: null, recipients: [userPayload(recipient)] };
    this.channels.set(channelId, channel);
    this.messages.set(channelId, []);
    this.dmChannels.set(userId, channelId);
    return channel;
  }

  /** The recipient of a DM channel; undefined for a server channel. */
  dmRecipientOf(channelId: string): string | undefined {
    const channel = this.channels.get(channelId);
    if (channel?.type !== 1) return undefined;
    return ((channel.recipients as JsonObject[])[0]?.id as string | undefined) ?? undefined;
  }

  /** The guild a channel (or thread) belongs to; the default guild for channels the emulator never saw. */
  guildOf(channelId: string): string {
    const guildId = this.channels.get(channelId)?.guild_id;
    return typeof guildId === 'string' ? guildId : this.guildId;
  }

  guildChannels(guildId: string): JsonObject[] {
    return [...this.channels.values()].filter((channel) => channel.type === 0 && channel.guild_id === guildId);
  }

  /** The guild's active threads: Discord lists them in GUILD_CREATE, so a restarted bot knows its threads. */
  guildThreads(guildId: string): JsonObject[] {
    return [...this.channels.values()].filter(
      (channel) =>
        channel.type === 11 &&
        channel.guild_id === guildId &&
        !(channel.thread_metadata as JsonObject | undefined)?.archived,
    );
  }

  findMessage(channelId: string, messageId: string): EmulatedMessage | undefined {
    return (this.messages.get(channelId) ?? []).find((message) => message.id === messageId);
  }

  interactionByToken(interactionToken: string): InteractionRecord | undefined {
    for (const record of this.interactions.values()) if (record.token === interactionToken) return record;
    return undefined;
  }

  /** Keeps the file's bytes for the CDN and returns the attachment object Discord would send. */
  hostAttachment(input: EmulatedAttachmentInput): JsonObject {
    const id = nextSnowflake();
    const contentType =
      input.contentType ??
      (input.filename.toLowerCase().endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream');
    this.attachmentFiles.set(id, { bytes: input.bytes, contentType });
    const url = `${this.origin}/attachments/${id}/${encodeURIComponent(input.filename)}`;
    return {
      id,
      filename: input.filename,
      size: input.bytes.byteLength,
      url,
      proxy_url: url,
      content_type: contentType,
    };
  }

  storeMessage(channelId: string, author: EmulatedUser, body: JsonObject, meta: StoredMessageMeta): EmulatedMessage {
    const content = typeof body.content === 'string' ? body.content : '';
    const mentionedIds = [...content.matchAll(/<@!?(\d+)>/g)].map((match) => match[1]!);
    const mentioned = [this.bot, this.user].filter((user) => mentionedIds.includes(user.id));
    const message: EmulatedMessage = {
      id: nextSnowflake(),
      channel_id: channelId,
      // A DM belongs to no server.
      ...(this.dmRecipientOf(channelId) === undefined ? { guild_id: this.guildOf(channelId) } : {}),
      author: userPayload(author),
      content,
      embeds: Array.isArray(body.embeds) ? (body.embeds as JsonObject[]) : [],
      components: Array.isArray(body.components) ? body.components : [],
      // Files the bot sent (multipart bodies): hosted, with their URLs.
      attachments: Array.isArray(body.attachments)
        ? (body.attachments as JsonObject[]).filter((attachment) => typeof attachment.url === 'string')
        : [],
      mentions: mentioned.map(userPayload),
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: meta.flags ?? Number(body.flags ?? 0),
      type: meta.type,
      ...(body.allowed_mentions ? { allowed_mentions: body.allowed_mentions } : {}),
      ...(meta.webhookId ? { webhook_id: meta.webhookId, application_id: this.applicationId } : {}),
    };
    // Ephemeral messages are seen only by the user, never stored in the channel's history.
    if (!meta.ephemeral) {
      const channelMessages = this.messages.get(channelId) ?? [];
      channelMessages.push(message);
      this.forgetBeyondLimit(channelMessages);
      this.messages.set(channelId, channelMessages);
      const channel = this.channels.get(channelId);
      if (channel) channel.last_message_id = message.id;
      this.#events.emit('message', message);
    }
    return message;
  }

  /** Tells listeners (the emulator's `interaction` event) that a record changed. */
  interactionChanged(record: InteractionRecord): void {
    this.#events.emit('interaction', record);
  }

  addInteraction(record: InteractionRecord): void {
    this.interactions.set(record.id, record);
    // A Map iterates in insertion order: the first keys are the oldest interactions.
    for (const id of this.interactions.keys()) {
      if (this.interactions.size <= this.#options.historyLimit) break;
      this.interactions.delete(id);
    }
  }

  forgetBeyondLimit(history: unknown[]): void {
    const excess = history.length - this.#options.historyLimit;
    if (excess > 0) history.splice(0, excess);
  }
}
