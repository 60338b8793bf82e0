/**
 * A loopback Discord: the REST API and the gateway, good enough that discord.js 14 cannot tell it from the real
 * thing. It records every request the bot makes, so tests assert on what the bot really sent, and lets tests
 * dispatch interactions and messages, drop the gateway, ask for a reconnect, invalidate the session and answer 429.
 * The playground ships it: `npm start` without a token runs the real bot against it.
 *
 * Use: construct, `start()`, point `DISCORD_API_BASE` at `apiBase`, listen to `request` / `interaction` /
 * `message` / `reaction` events, `close()`. The state lives in `state.ts`, the gateway in `gateway.ts`, the REST
 * routes in `rest.ts` and its route modules; this class is what a test or the playground drives.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { EmulatedGateway, GATEWAY_OPCODES, shardPair } from './gateway.js';
import {
  memberPayload,
  MEMBER_PERMISSIONS,
  rolePayload,
  textChannelPayload,
  userPayload,
  type EmulatedUser,
  type JsonObject,
} from './payloads.js';
import { EmulatedRest } from './rest.js';
import { nextSnowflake } from './snowflake.js';
import { EmulatorState } from './state.js';
import {
  DEFAULT_EMULATOR_OPTIONS,
  type DiscordEmulatorOptions,
  type DispatchAutocompleteOptions,
  type DispatchCommandOptions,
  type DispatchMessageOptions,
  type EmulatedMessage,
  type InteractionKind,
  type InteractionRecord,
  type RateLimitRule,
  type RecordedGatewayPayload,
  type RecordedReaction,
  type RecordedRequest,
} from './types.js';

export { shardOfGuild } from './state.js';
export * from './types.js';

export class DiscordEmulator extends EventEmitter {
  readonly options: Required<DiscordEmulatorOptions>;
  readonly #state: EmulatorState;
  readonly #gateway: EmulatedGateway;
  readonly #rest: EmulatedRest;
  #server: Server | undefined;
  #sockets: WebSocketServer | undefined;
  #port = 0;

  constructor(options: DiscordEmulatorOptions) {
    super();
    // Every pending waitFor* is a listener; hundreds at once are normal in the burst benchmark.
    this.setMaxListeners(0);
    this.options = { ...DEFAULT_EMULATOR_OPTIONS, ...options };
    this.#state = new EmulatorState(this.options, this);
    this.#gateway = new EmulatedGateway(this.#state, this.options, this, () => this.gatewayUrl);
    this.#rest = new EmulatedRest(
      { state: this.#state, gateway: this.#gateway, options: this.options, events: this },
      () => this.gatewayUrl,
    );
  }

  // ---- What the emulated Discord holds, and what the bot did ----------------------------------------------------

  get bot(): EmulatedUser {
    return this.#state.bot;
  }
  get applicationId(): string {
    return this.#state.applicationId;
  }
  get guildId(): string {
    return this.#state.guildId;
  }
  get channelId(): string {
    return this.#state.channelId;
  }
  /** A default human who types commands. */
  get user(): EmulatedUser {
    return this.#state.user;
  }
  get requests(): RecordedRequest[] {
    return this.#state.requests;
  }
  get gatewayPayloads(): RecordedGatewayPayload[] {
    return this.#state.gatewayPayloads;
  }
  get interactions(): Map<string, InteractionRecord> {
    return this.#state.interactions;
  }
  /** Commands registered by bulk overwrite: key `global` or the guild id. */
  get registeredCommands(): Map<string, JsonObject[]> {
    return this.#state.registeredCommands;
  }
  get channels(): Map<string, JsonObject> {
    return this.#state.channels;
  }
  /** Channels where the bot has lost Send Messages: a post there gets 403 Missing Permissions (50013). */
  get channelsWithoutSendPermission(): Set<string> {
    return this.#state.channelsWithoutSendPermission;
  }
  get messages(): Map<string, EmulatedMessage[]> {
    return this.#state.messages;
  }
  /** Reactions the bot added, in order. */
  get reactions(): RecordedReaction[] {
    return this.#state.reactions;
  }

  get botMention(): string {
    return `<@${this.bot.id}>`;
  }

  /** `http://127.0.0.1:<port>/api`: what `DISCORD_API_BASE` (discord.js `rest.api`) should be. */
  get apiBase(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => void this.#rest.handle(request, response));
    this.#sockets = new WebSocketServer({ server });
    this.#sockets.on('connection', (socket, request) => this.#gateway.handleSocket(socket, request));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    this.#state.origin = `http://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => (this.#sockets ? this.#sockets.close(() => resolve()) : resolve()));
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#server = undefined;
  }

  // ---- Gateway controls ------------------------------------------------------------------------------------------

  /** Sessions identified so far, and how many RESUMEs the bot sent. */
  get gatewayStats(): { identifies: number; resumes: number; connections: number } {
    const count = (op: number) => this.gatewayPayloads.filter((payload) => payload.op === op).length;
    return {
      identifies: count(GATEWAY_OPCODES.identify),
      resumes: count(GATEWAY_OPCODES.resume),
      connections: this.#gateway.connections,
    };
  }

  /** The `[shard id, shard count]` of every session identified so far, in order. */
  get identifiedShards(): Array<readonly [number, number]> {
    return this.gatewayPayloads
      .filter((payload) => payload.op === GATEWAY_OPCODES.identify)
      .map((payload) => shardPair((payload.d as JsonObject | null)?.shard));
  }

  /** Closes the bot's gateway connection abnormally (code 4000): discord.js should reconnect and RESUME. */
  dropConnection(code = 4000): void {
    this.#gateway.dropConnection(code);
  }

  /** Sends op 7 RECONNECT: the bot should reconnect and RESUME. */
  requestReconnect(): void {
    this.#gateway.requestReconnect();
  }

  /** Sends op 9 INVALID_SESSION; unless resumable, the session is forgotten and the bot must IDENTIFY again. */
  invalidateSession(resumable = false): void {
    this.#gateway.invalidateSession(resumable);
  }

  /** Answers the next `times` matching requests with 429 and a `retry_after`. */
  rateLimit(rule: RateLimitRule): void {
    this.#rest.rateLimit(rule);
  }

  // ---- Shaping the server ----------------------------------------------------------------------------------------

  /** Adds a role to the default server (before the bot connects: it arrives with GUILD_CREATE); returns its id. */
  addRole(name: string): string {
    const roleId = nextSnowflake();
    this.#state.roles.push(rolePayload(roleId, name, this.#state.roles.length + 1));
    return roleId;
  }

  /**
   * Adds a text channel to the default server. `botDeny` is a permission overwrite denying the bot those bits in it,
   * as a server admin would set one. Add it before the bot connects, or it is announced with CHANNEL_CREATE.
   */
  addChannel(options: { name?: string; botDeny?: bigint } = {}): string {
    const channelId = nextSnowflake();
    const channel = this.#state.addTextChannel(channelId, this.guildId);
    if (options.name) channel.name = options.name;
    if (options.botDeny !== undefined)
      channel.permission_overwrites = [{ id: this.bot.id, type: 1, allow: '0', deny: String(options.botDeny) }];
    if (this.#gateway.identified) this.#gateway.dispatch('CHANNEL_CREATE', channel, this.guildId);
    return channelId;
  }

  /**
   * Adds a server the bot is in, with one text channel. `onShard: [id, count]` picks a guild id whose events
   * Discord would send to that shard. Add guilds before the bot connects: READY lists the guilds of each shard.
   */
  /** Archives a thread, as Discord does after its auto-archive duration or when a moderator closes it (THREAD_UPDATE). */
  archiveThread(threadId: string): void {
    const thread = this.#state.channels.get(threadId);
    const metadata = thread?.thread_metadata as JsonObject | undefined;
    if (!thread || !metadata) throw new Error(`no thread ${threadId}`);
    metadata.archived = true;
    metadata.archive_timestamp = new Date().toISOString();
    this.#gateway.dispatch('THREAD_UPDATE', thread, this.#state.guildOf(threadId));
  }

  addGuild(options: { onShard?: readonly [number, number] } = {}): { guildId: string; channelId: string } {
    const [shardId, shardCount] = options.onShard ?? [0, 1];
    return this.#state.addGuild(shardId, shardCount);
  }

  // ---- Dispatching what users do ---------------------------------------------------------------------------------

  dispatchCommand(commandName: string, options: DispatchCommandOptions = {}): InteractionRecord {
    return this.#dispatchInteraction('command', commandName, options, undefined);
  }

  dispatchAutocomplete(commandName: string, options: DispatchAutocompleteOptions): InteractionRecord {
    return this.#dispatchInteraction('autocomplete', commandName, options, options.focused);
  }

  /** A user posts a message; `<@botId>` in the content mentions the bot (see `botMention`). */
  dispatchMessage(content: string, options: DispatchMessageOptions = {}): EmulatedMessage {
    const state = this.#state;
    const author = options.author ?? this.user;
    const channelId = options.channelId ?? this.channelId;
    const message = state.storeMessage(channelId, author, { content }, { type: 0 });
    message.attachments = (options.attachments ?? []).map((attachment) => state.hostAttachment(attachment));
    this.#gateway.dispatch(
      'MESSAGE_CREATE',
      { ...message, member: memberPayload(author, state.joinedAt) },
      state.guildOf(channelId),
    );
    return message;
  }

  /** A user picks a message command (right-click → Apps → `commandName`) on `target`, a message the emulator holds. */
  dispatchMessageCommand(
    commandName: string,
    target: EmulatedMessage,
    options: { user?: EmulatedUser } = {},
  ): InteractionRecord {
    return this.#dispatchInteraction(
      'command',
      commandName,
      { channelId: target.channel_id, ...(options.user ? { user: options.user } : {}) },
      undefined,
      target,
    );
  }

  /**
   * A user clicks the button `customId` on a message the bot sent (in a server channel or the user's DM). The
   * interaction carries the message, as Discord's MESSAGE_COMPONENT interactions do.
   */
  dispatchButton(message: EmulatedMessage, customId: string, options: { user?: EmulatedUser } = {}): InteractionRecord {
    const directMessage = this.#state.dmRecipientOf(message.channel_id) !== undefined;
    return this.#dispatchInteraction(
      'component',
      customId,
      { channelId: message.channel_id, directMessage, ...(options.user ? { user: options.user } : {}) },
      undefined,
      message,
    );
  }

  /** Closes (or reopens) a user's DMs to the bot: messages to them then get 403 Cannot send messages (50007). */
  setDmsClosed(userId: string, closed = true): void {
    if (closed) this.#state.closedDms.add(userId);
    else this.#state.closedDms.delete(userId);
  }

  /** The bot's messages in its DM channel with `userId`, oldest first; empty when it never wrote to them. */
  directMessagesTo(userId: string): EmulatedMessage[] {
    const channelId = this.#state.dmChannels.get(userId);
    return channelId ? [...(this.messages.get(channelId) ?? [])] : [];
  }

  /** Resolves with the first DM (past or future) the bot sends to `userId` matching `predicate`. */
  waitForDirectMessage(
    userId: string,
    predicate: (message: EmulatedMessage) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<EmulatedMessage> {
    const toUser = (message: EmulatedMessage) =>
      this.#state.dmRecipientOf(message.channel_id) === userId &&
      (message.author as JsonObject).id === this.bot.id &&
      predicate(message);
    const seen = this.directMessagesTo(userId).find(toUser);
    if (seen) return Promise.resolve(seen);
    return this.#waitForEvent('message', toUser, timeoutMs, `a DM to ${userId}`);
  }

  #dispatchInteraction(
    kind: InteractionKind,
    commandName: string,
    options: DispatchCommandOptions,
    focused: string | undefined,
    targetMessage?: EmulatedMessage,
  ): InteractionRecord {
    const state = this.#state;
    const user = options.user ?? this.user;
    state.knownUsers.set(user.id, user);
    const channelId = options.directMessage
      ? (options.channelId ?? (state.openDm(user.id).id as string))
      : (options.channelId ?? this.channelId);
    const guildId = state.guildOf(channelId);
    const record: InteractionRecord = {
      id: nextSnowflake(),
      token: `interaction-token-${nextSnowflake()}`,
      kind,
      commandName,
      channelId,
      dispatchedAt: this.options.now(),
      originalEdits: [],
      followUps: [],
    };
    state.addInteraction(record);
    const session = this.#gateway.dispatch(
      'INTERACTION_CREATE',
      {
        id: record.id,
        application_id: this.applicationId,
        type: kind === 'command' ? 2 : kind === 'component' ? 3 : 4,
        token: record.token,
        version: 1,
        data:
          kind === 'component'
            ? { custom_id: commandName, component_type: 2 }
            : this.#commandData(commandName, options, focused, guildId, targetMessage),
        ...(kind === 'component' && targetMessage ? { message: targetMessage } : {}),
        channel_id: channelId,
        ...(options.directMessage
          ? {
              channel: this.channels.get(channelId) ?? {
                id: channelId,
                type: 1,
                last_message_id: null,
                recipients: [userPayload(user)],
              },
              user: userPayload(user),
              authorizing_integration_owners: { '0': guildId },
              context: 1,
            }
          : {
              guild_id: guildId,
              channel: this.channels.get(channelId) ?? textChannelPayload(channelId, guildId),
              member: memberPayload(user, state.joinedAt),
              guild_locale: 'en-US',
              authorizing_integration_owners: { '0': guildId },
              context: 0,
            }),
        app_permissions: MEMBER_PERMISSIONS,
        locale: 'en-US',
        entitlements: [],
        attachment_size_limit: 10_485_760,
      },
      guildId,
    );
    record.shardId = session.shard[0];
    return record;
  }

  /** An interaction's `data`: the command, its options (nested under a subcommand and group) and what they resolve. */
  #commandData(
    commandName: string,
    options: DispatchCommandOptions,
    focused: string | undefined,
    guildId: string,
    targetMessage: EmulatedMessage | undefined,
  ): JsonObject {
    const registered = [...this.registeredCommands.values()].flat().find((command) => command.name === commandName);
    const id = (registered?.id as string | undefined) ?? nextSnowflake();
    if (targetMessage) {
      return {
        id,
        name: commandName,
        type: 3,
        target_id: targetMessage.id,
        resolved: { messages: { [targetMessage.id]: targetMessage } },
      };
    }
    const commandOptions = [
      ...Object.entries(options.options ?? {}).map(([name, value]) => ({
        name,
        type: typeof value === 'string' ? 3 : typeof value === 'boolean' ? 5 : Number.isInteger(value) ? 4 : 10,
        value,
        ...(name === focused ? { focused: true } : {}),
      })),
      ...Object.entries(options.channelOptions ?? {}).map(([name, value]) => ({ name, type: 7, value })),
      ...Object.entries(options.roleOptions ?? {}).map(([name, value]) => ({ name, type: 8, value })),
    ];
    const resolvedRoles = Object.fromEntries(
      Object.values(options.roleOptions ?? {}).map((roleId) => [
        roleId,
        this.#state.roles.find((role) => role.id === roleId) ?? rolePayload(roleId, 'unknown role', 1),
      ]),
    );
    const resolvedChannels = Object.fromEntries(
      Object.values(options.channelOptions ?? {}).map((channelId) => [
        channelId,
        {
          permissions: MEMBER_PERMISSIONS,
          ...(this.channels.get(channelId) ?? textChannelPayload(channelId, guildId)),
        },
      ]),
    );
    const resolvedAttachments: Record<string, JsonObject> = {};
    for (const [name, input] of Object.entries(options.attachments ?? {})) {
      const attachment = this.#state.hostAttachment(input);
      resolvedAttachments[String(attachment.id)] = attachment;
      commandOptions.push({ name, type: 11, value: String(attachment.id) });
    }
    const resolved = {
      ...(Object.keys(resolvedAttachments).length > 0 ? { attachments: resolvedAttachments } : {}),
      ...(Object.keys(resolvedChannels).length > 0 ? { channels: resolvedChannels } : {}),
      ...(Object.keys(resolvedRoles).length > 0 ? { roles: resolvedRoles } : {}),
    };
    const subcommandOptions = options.subcommand
      ? [{ name: options.subcommand, type: 1, options: commandOptions }]
      : commandOptions;
    return {
      id,
      name: commandName,
      type: 1,
      options: options.subcommandGroup
        ? [{ name: options.subcommandGroup, type: 2, options: subcommandOptions }]
        : subcommandOptions,
      ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
    };
  }

  // ---- Waiting for the bot ---------------------------------------------------------------------------------------

  /** Resolves with the first recorded request (past or future) matching `predicate`. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = 10_000): Promise<RecordedRequest> {
    const seen = this.requests.find(predicate);
    if (seen) return Promise.resolve(seen);
    return this.#waitForEvent('request', predicate, timeoutMs, 'request');
  }

  /** Resolves once the interaction's record satisfies `predicate` (checked after every change). */
  waitForInteraction(
    interactionId: string,
    predicate: (record: InteractionRecord) => boolean,
    timeoutMs = 10_000,
  ): Promise<InteractionRecord> {
    const record = this.interactions.get(interactionId);
    if (!record) return Promise.reject(new Error(`no interaction ${interactionId} was dispatched`));
    if (predicate(record)) return Promise.resolve(record);
    return this.#waitForEvent(
      'interaction',
      (changed: InteractionRecord) => changed.id === interactionId && predicate(changed),
      timeoutMs,
      `interaction ${record.commandName}`,
    );
  }

  /** Resolves with the first message (past or future) the bot posts in `channelId` matching `predicate`. */
  waitForBotMessage(
    channelId: string,
    predicate: (message: EmulatedMessage) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<EmulatedMessage> {
    const fromBot = (message: EmulatedMessage) =>
      message.channel_id === channelId && (message.author as JsonObject).id === this.bot.id && predicate(message);
    const seen = (this.messages.get(channelId) ?? []).find(fromBot);
    if (seen) return Promise.resolve(seen);
    return this.#waitForEvent('message', fromBot, timeoutMs, `bot message in ${channelId}`);
  }

  /** Resolves with the first reaction (past or future) the bot adds to `messageId`. */
  waitForReaction(messageId: string, timeoutMs = 10_000): Promise<RecordedReaction> {
    const seen = this.reactions.find((reaction) => reaction.messageId === messageId);
    if (seen) return Promise.resolve(seen);
    return this.#waitForEvent(
      'reaction',
      (reaction: RecordedReaction) => reaction.messageId === messageId,
      timeoutMs,
      `a reaction on ${messageId}`,
    );
  }

  #waitForEvent<T>(event: string, predicate: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const listener = (value: T) => {
        if (!predicate(value)) return;
        clearTimeout(timer);
        this.off(event, listener);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.off(event, listener);
        reject(new Error(`emulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.on(event, listener);
    });
  }
}
