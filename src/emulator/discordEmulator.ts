/**
 * A loopback Discord: the REST API and the gateway, good enough that discord.js 14 cannot tell it from the real
 * thing. It records every request the bot makes, so tests assert on what the bot really sent, and lets tests
 * dispatch interactions and messages, drop the gateway, ask for a reconnect, invalidate the session and answer 429.
 *
 * Reusable outside tests (a local playground): construct, `start()`, point `DISCORD_API_BASE` at `apiBase`,
 * listen to `request` / `interaction` events, `close()`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  guildPayload,
  invalidFormBody,
  memberPayload,
  messageBodyProblems,
  textChannelPayload,
  userPayload,
  type EmulatedUser,
  type JsonObject,
} from './payloads.js';
import { nextSnowflake } from './snowflake.js';

export type { EmulatedUser, JsonObject };

export interface DiscordEmulatorOptions {
  /** The token the bot must present (REST `Authorization: Bot …`, gateway IDENTIFY). */
  token: string;
  /** Gateway heartbeat interval sent in HELLO; Discord uses ~41 s, tests want it short. */
  heartbeatIntervalMs?: number;
  /** Discord answers 404 Unknown interaction to a callback that comes later than this. */
  interactionAckTimeoutMs?: number;
  botUsername?: string;
  /** Whether the application may use privileged intents (MessageContent…); Discord closes with 4014 otherwise. */
  privilegedIntents?: boolean;
  /** The shard count `/gateway/bot` recommends. */
  shards?: number;
  /**
   * How many recorded requests, gateway payloads, interactions, messages per channel and replayable dispatches per
   * session are kept; older ones are forgotten. Unbounded by default (tests assert on the whole history); a soak
   * sets it so that memory measures the bot, not the emulator's records.
   */
  historyLimit?: number;
  /** The clock the acknowledgement deadline is measured on; a test passes its own to step past the deadline. */
  now?: () => number;
}

export const DEFAULT_EMULATOR_OPTIONS = {
  heartbeatIntervalMs: 41_250,
  interactionAckTimeoutMs: 3_000,
  botUsername: 'papercord',
  privilegedIntents: true,
  shards: 1,
  historyLimit: Number.POSITIVE_INFINITY,
  now: Date.now,
} as const;

/** One HTTP request the bot made, with what the emulator answered. */
export interface RecordedRequest {
  method: string;
  /** Path after `/api/v10`, percent-decoded: `/webhooks/1/tok/messages/@original`. */
  route: string;
  query: Record<string, string>;
  body: JsonObject | undefined;
  status: number;
  at: number;
}

/** A gateway payload the bot sent (IDENTIFY, RESUME, HEARTBEAT), token removed. */
export interface RecordedGatewayPayload {
  op: number;
  d: unknown;
  at: number;
}

export interface EmulatedMessage extends JsonObject {
  id: string;
  channel_id: string;
  content: string;
  embeds: JsonObject[];
  flags: number;
}

export type InteractionKind = 'command' | 'autocomplete';

/** What happened to one dispatched interaction, as the bot answered it. */
export interface InteractionRecord {
  id: string;
  token: string;
  kind: InteractionKind;
  commandName: string;
  channelId: string;
  /** The shard whose gateway session received it (0 for a bot that does not shard). */
  shardId?: number;
  dispatchedAt: number;
  acknowledgedAt?: number;
  /** 4 reply, 5 deferred reply, 8 autocomplete result. */
  callbackType?: number;
  callbackBody?: JsonObject;
  /** The reply message (after defer, its latest edit). */
  original?: EmulatedMessage;
  /** Every edit of the original, in order. */
  originalEdits: JsonObject[];
  followUps: EmulatedMessage[];
  /** The bot deleted its reply (as it does before an ephemeral error after a public defer). */
  originalDeleted?: boolean;
}

export type CommandOptionValue = string | number | boolean;

/** A file a user attaches; the emulator serves its bytes at the attachment's `url`, as Discord's CDN does. */
export interface EmulatedAttachmentInput {
  filename: string;
  bytes: Uint8Array;
  contentType?: string;
}

export interface DispatchCommandOptions {
  /** Option values by name; integers are sent as INTEGER options, other numbers as NUMBER. */
  options?: Record<string, CommandOptionValue>;
  /** ATTACHMENT options by name (resolved in `data.resolved.attachments`, as Discord sends them). */
  attachments?: Record<string, EmulatedAttachmentInput>;
  /** A subcommand group (`/library links on`): the subcommand is sent nested under it. */
  subcommandGroup?: string;
  /** CHANNEL options: channel ids by option name, sent with the channels resolved, as Discord does. */
  channelOptions?: Record<string, string>;
  /** A subcommand (`/trending now`): the options are sent nested under it, as Discord does. */
  subcommand?: string;
  user?: EmulatedUser;
  channelId?: string;
}

export interface DispatchAutocompleteOptions extends DispatchCommandOptions {
  /** The option the user is typing in. */
  focused: string;
}

export interface DispatchMessageOptions {
  author?: EmulatedUser;
  channelId?: string;
  attachments?: EmulatedAttachmentInput[];
}

/** A reaction the bot added to a message. */
export interface RecordedReaction {
  channelId: string;
  messageId: string;
  emoji: string;
}

export interface RateLimitRule {
  method: string;
  route: RegExp;
  /** How many matching requests get a 429 before requests pass again. */
  times: number;
  retryAfterSeconds: number;
}

interface GatewaySession {
  id: string;
  /** `[shard id, shard count]` from IDENTIFY; `[0, 1]` when the bot did not shard. */
  shard: readonly [number, number];
  sequence: number;
  /** Every dispatch of the session, for replay on RESUME. */
  sent: Array<{ s: number; t: string; d: unknown }>;
  socket: WebSocket | undefined;
}

interface RouteContext {
  params: string[];
  query: Record<string, string>;
  body: JsonObject | undefined;
  authorized: boolean;
}

interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type RouteHandler = (context: RouteContext) => RouteResult;

const GATEWAY = {
  dispatch: 0,
  heartbeat: 1,
  identify: 2,
  resume: 6,
  reconnect: 7,
  invalidSession: 9,
  hello: 10,
  heartbeatAck: 11,
};
/** The shard a guild's events go to, as Discord assigns it: `(guild_id >> 22) % shard count`. */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** GuildMembers, GuildPresences, MessageContent: the intents an application must be granted in the portal. */
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);
const EPHEMERAL_FLAG = 64;
const LOADING_FLAG = 128;

function discordError(status: number, code: number, message: string): RouteResult {
  return { status, body: { message, code } };
}

export class DiscordEmulator extends EventEmitter {
  readonly options: Required<DiscordEmulatorOptions>;
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
  readonly #attachmentFiles = new Map<string, { bytes: Uint8Array; contentType: string }>();

  #server: Server | undefined;
  #sockets: WebSocketServer | undefined;
  #port = 0;
  #sessions = new Map<string, GatewaySession>();
  #activeSession: GatewaySession | undefined;
  /** The connected session of each shard id, for bots that shard. */
  #shardSessions = new Map<number, GatewaySession>();
  /** Every guild the bot is in: the default one first, then those of `addGuild`. */
  #guildIds: string[] = [];
  #rateLimits: RateLimitRule[] = [];
  #routes: Array<{ method: string; pattern: RegExp; handler: RouteHandler }> = [];
  readonly #joinedAt = new Date().toISOString();

  constructor(options: DiscordEmulatorOptions) {
    super();
    // Every pending waitFor* is a listener; hundreds at once are normal in the burst benchmark.
    this.setMaxListeners(0);
    this.options = { ...DEFAULT_EMULATOR_OPTIONS, ...options };
    this.bot = { id: nextSnowflake(), username: this.options.botUsername, bot: true };
    this.#guildIds.push(this.guildId);
    this.channels.set(this.channelId, textChannelPayload(this.channelId, this.guildId));
    this.messages.set(this.channelId, []);
    this.#defineRoutes();
  }

  /** `http://127.0.0.1:<port>/api`: what `DISCORD_API_BASE` (discord.js `rest.api`) should be. */
  get apiBase(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => void this.#handleHttp(request, response));
    this.#sockets = new WebSocketServer({ server });
    this.#sockets.on('connection', (socket, request) => this.#handleSocket(socket, request));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
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
    return { identifies: count(GATEWAY.identify), resumes: count(GATEWAY.resume), connections: this.#connections };
  }

  #connections = 0;

  /** Closes the bot's gateway connection abnormally (code 4000): discord.js should reconnect and RESUME. */
  dropConnection(code = 4000): void {
    this.#activeSession?.socket?.close(code, 'emulated drop');
  }

  /** Sends op 7 RECONNECT: the bot should reconnect and RESUME. */
  requestReconnect(): void {
    this.#activeSession?.socket?.send(JSON.stringify({ op: GATEWAY.reconnect, d: null }));
  }

  /** Sends op 9 INVALID_SESSION; unless resumable, the session is forgotten and the bot must IDENTIFY again. */
  invalidateSession(resumable = false): void {
    const session = this.#activeSession;
    if (!session?.socket) return;
    if (!resumable) this.#sessions.delete(session.id);
    session.socket.send(JSON.stringify({ op: GATEWAY.invalidSession, d: resumable }));
  }

  /** Answers the next `times` matching requests with 429 and a `retry_after`. */
  rateLimit(rule: RateLimitRule): void {
    this.#rateLimits.push({ ...rule });
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
    const author = options.author ?? this.user;
    const channelId = options.channelId ?? this.channelId;
    const message = this.#storeMessage(channelId, author, { content }, { type: 0 });
    message.attachments = (options.attachments ?? []).map((attachment) => this.#hostAttachment(attachment));
    this.#dispatch(
      'MESSAGE_CREATE',
      {
        ...message,
        member: memberPayload(author, this.#joinedAt),
      },
      this.#guildOf(channelId),
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
   * Adds a text channel to the default server. `botDeny` is a permission overwrite denying the bot those bits in it,
   * as a server admin would set one. Add it before the bot connects, or it is announced with CHANNEL_CREATE.
   */
  addChannel(options: { name?: string; botDeny?: bigint } = {}): string {
    const channelId = nextSnowflake();
    const channel = textChannelPayload(channelId, this.guildId);
    if (options.name) channel.name = options.name;
    if (options.botDeny !== undefined)
      channel.permission_overwrites = [{ id: this.bot.id, type: 1, allow: '0', deny: String(options.botDeny) }];
    this.channels.set(channelId, channel);
    this.messages.set(channelId, []);
    if (this.#activeSession) this.#dispatch('CHANNEL_CREATE', channel, this.guildId);
    return channelId;
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

  #hostAttachment(input: EmulatedAttachmentInput): JsonObject {
    const id = nextSnowflake();
    const contentType =
      input.contentType ??
      (input.filename.toLowerCase().endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream');
    this.#attachmentFiles.set(id, { bytes: input.bytes, contentType });
    const url = `http://127.0.0.1:${this.#port}/attachments/${id}/${encodeURIComponent(input.filename)}`;
    return {
      id,
      filename: input.filename,
      size: input.bytes.byteLength,
      url,
      proxy_url: url,
      content_type: contentType,
    };
  }

  get botMention(): string {
    return `<@${this.bot.id}>`;
  }

  /**
   * Adds a server the bot is in, with one text channel. `onShard: [id, count]` picks a guild id whose events
   * Discord would send to that shard. Add guilds before the bot connects: READY lists the guilds of each shard.
   */
  addGuild(options: { onShard?: readonly [number, number] } = {}): { guildId: string; channelId: string } {
    const [shardId, shardCount] = options.onShard ?? [0, 1];
    let guildId = nextSnowflake();
    // The shard is decided by the timestamp bits: step back a millisecond at a time until it matches.
    for (let stepBack = 1; shardOfGuild(guildId, shardCount) !== shardId; stepBack += 1)
      guildId = nextSnowflake(Date.now() - stepBack);
    const channelId = nextSnowflake();
    this.#guildIds.push(guildId);
    this.channels.set(channelId, textChannelPayload(channelId, guildId));
    this.messages.set(channelId, []);
    return { guildId, channelId };
  }

  /** The `[shard id, shard count]` of every session identified so far, in order. */
  get identifiedShards(): Array<readonly [number, number]> {
    return this.gatewayPayloads
      .filter((payload) => payload.op === GATEWAY.identify)
      .map((payload) => shardPair((payload.d as JsonObject | null)?.shard));
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

  // ---- Gateway ---------------------------------------------------------------------------------------------------

  #handleSocket(socket: WebSocket, request: IncomingMessage): void {
    this.#connections += 1;
    const query = new URL(request.url ?? '/', 'http://emulator').searchParams;
    if (query.get('v') !== '10' || query.get('encoding') !== 'json' || query.has('compress')) {
      // The emulator speaks plain JSON over API v10 only, as papercord's client is configured.
      socket.close(4012, 'Invalid API version or encoding');
      return;
    }
    let session: GatewaySession | undefined;
    socket.on('message', (raw) => {
      const payload = JSON.parse(String(raw)) as { op: number; d: JsonObject | number | null };
      const recordedData = payload.d && typeof payload.d === 'object' ? { ...payload.d, token: undefined } : payload.d;
      this.gatewayPayloads.push({ op: payload.op, d: recordedData, at: Date.now() });
      this.#forgetBeyondLimit(this.gatewayPayloads);
      this.emit('gateway', payload.op);
      if (payload.op === GATEWAY.heartbeat) {
        socket.send(JSON.stringify({ op: GATEWAY.heartbeatAck, d: null }));
      } else if (payload.op === GATEWAY.identify) {
        session = this.#identify(socket, payload.d as JsonObject);
      } else if (payload.op === GATEWAY.resume) {
        session = this.#resume(socket, payload.d as JsonObject);
      }
    });
    socket.on('close', () => {
      if (session && session.socket === socket) session.socket = undefined;
    });
    socket.send(JSON.stringify({ op: GATEWAY.hello, d: { heartbeat_interval: this.options.heartbeatIntervalMs } }));
  }

  #identify(socket: WebSocket, data: JsonObject): GatewaySession | undefined {
    if (data.token !== this.options.token) {
      socket.close(4004, 'Authentication failed.');
      return undefined;
    }
    if (!this.options.privilegedIntents && (Number(data.intents) & PRIVILEGED_INTENTS) !== 0) {
      socket.close(4014, 'Disallowed intent(s).');
      return undefined;
    }
    const shard = shardPair(data.shard);
    const session: GatewaySession = { id: nextSnowflake(), shard, sequence: 0, sent: [], socket };
    this.#sessions.set(session.id, session);
    this.#activeSession = session;
    this.#shardSessions.set(shard[0], session);
    const guildIds = this.#guildIds.filter((guildId) => shardOfGuild(guildId, shard[1]) === shard[0]);
    this.#send(session, 'READY', {
      v: 10,
      user: userPayload(this.bot),
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.gatewayUrl,
      shard: data.shard ?? [0, 1],
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
    });
    for (const guildId of guildIds) {
      this.#send(
        session,
        'GUILD_CREATE',
        guildPayload(guildId, this.#guildChannels(guildId), this.bot, this.#joinedAt, this.#guildThreads(guildId)),
      );
    }
    return session;
  }

  #resume(socket: WebSocket, data: JsonObject): GatewaySession | undefined {
    const session = this.#sessions.get(String(data.session_id));
    if (!session || data.token !== this.options.token) {
      socket.send(JSON.stringify({ op: GATEWAY.invalidSession, d: false }));
      return undefined;
    }
    session.socket = socket;
    this.#activeSession = session;
    this.#shardSessions.set(session.shard[0], session);
    const since = Number(data.seq ?? 0);
    for (const event of session.sent.filter((sent) => sent.s > since)) {
      socket.send(JSON.stringify({ op: GATEWAY.dispatch, ...event }));
    }
    this.#send(session, 'RESUMED', {});
    return session;
  }

  #guildChannels(guildId: string): JsonObject[] {
    return [...this.channels.values()].filter((channel) => channel.type === 0 && channel.guild_id === guildId);
  }

  /** The guild's active threads: Discord lists them in GUILD_CREATE, so a restarted bot knows its threads. */
  #guildThreads(guildId: string): JsonObject[] {
    return [...this.channels.values()].filter(
      (channel) =>
        channel.type === 11 &&
        channel.guild_id === guildId &&
        !(channel.thread_metadata as JsonObject | undefined)?.archived,
    );
  }

  /** The guild a channel (or thread) belongs to; the default guild for channels the emulator never saw. */
  #guildOf(channelId: string): string {
    const guildId = this.channels.get(channelId)?.guild_id;
    return typeof guildId === 'string' ? guildId : this.guildId;
  }

  /**
   * Sends a guild's dispatch to the session of the shard that guild is on (the active session for a bot that does
   * not shard); while the bot is disconnected it is kept for replay on RESUME.
   */
  #dispatch(eventName: string, data: unknown, guildId = this.guildId): GatewaySession {
    const active = this.#activeSession;
    if (!active) throw new Error('emulator: no bot is connected to the gateway yet');
    const shardCount = active.shard[1];
    const session = shardCount === 1 ? active : this.#shardSessions.get(shardOfGuild(guildId, shardCount));
    if (!session)
      throw new Error(`emulator: shard ${shardOfGuild(guildId, shardCount)} of guild ${guildId} has not connected`);
    this.#send(session, eventName, data);
    return session;
  }

  #send(session: GatewaySession, eventName: string, data: unknown): void {
    session.sequence += 1;
    const event = { s: session.sequence, t: eventName, d: data };
    session.sent.push(event);
    this.#forgetBeyondLimit(session.sent);
    session.socket?.send(JSON.stringify({ op: GATEWAY.dispatch, ...event }));
  }

  #dispatchInteraction(
    kind: InteractionKind,
    commandName: string,
    options: DispatchCommandOptions,
    focused: string | undefined,
    targetMessage?: EmulatedMessage,
  ): InteractionRecord {
    const user = options.user ?? this.user;
    const channelId = options.channelId ?? this.channelId;
    const guildId = this.#guildOf(channelId);
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
    this.interactions.set(record.id, record);
    this.#forgetOldInteractions();
    const commandOptions = [
      ...Object.entries(options.options ?? {}).map(([name, value]) => ({
        name,
        type: typeof value === 'string' ? 3 : typeof value === 'boolean' ? 5 : Number.isInteger(value) ? 4 : 10,
        value,
        ...(name === focused ? { focused: true } : {}),
      })),
      ...Object.entries(options.channelOptions ?? {}).map(([name, value]) => ({ name, type: 7, value })),
    ];
    const resolvedChannels = Object.fromEntries(
      Object.values(options.channelOptions ?? {}).map((id) => [
        id,
        { permissions: '2248473465835073', ...(this.channels.get(id) ?? textChannelPayload(id, guildId)) },
      ]),
    );
    const resolvedAttachments: Record<string, JsonObject> = {};
    for (const [name, input] of Object.entries(options.attachments ?? {})) {
      const attachment = this.#hostAttachment(input);
      resolvedAttachments[String(attachment.id)] = attachment;
      commandOptions.push({ name, type: 11, value: String(attachment.id) });
    }
    const resolved = {
      ...(Object.keys(resolvedAttachments).length > 0 ? { attachments: resolvedAttachments } : {}),
      ...(Object.keys(resolvedChannels).length > 0 ? { channels: resolvedChannels } : {}),
    };
    const subcommandOptions = options.subcommand
      ? [{ name: options.subcommand, type: 1, options: commandOptions }]
      : commandOptions;
    const registered = [...this.registeredCommands.values()].flat().find((command) => command.name === commandName);
    const commandData: JsonObject = targetMessage
      ? {
          id: (registered?.id as string | undefined) ?? nextSnowflake(),
          name: commandName,
          type: 3,
          target_id: targetMessage.id,
          resolved: { messages: { [targetMessage.id]: targetMessage } },
        }
      : {
          id: (registered?.id as string | undefined) ?? nextSnowflake(),
          name: commandName,
          type: 1,
          options: options.subcommandGroup
            ? [{ name: options.subcommandGroup, type: 2, options: subcommandOptions }]
            : subcommandOptions,
          ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
        };
    const session = this.#dispatch(
      'INTERACTION_CREATE',
      {
        id: record.id,
        application_id: this.applicationId,
        type: kind === 'command' ? 2 : 4,
        token: record.token,
        version: 1,
        data: commandData,
        guild_id: guildId,
        channel_id: channelId,
        channel: this.channels.get(channelId) ?? textChannelPayload(channelId, guildId),
        member: memberPayload(user, this.#joinedAt),
        app_permissions: '2248473465835073',
        locale: 'en-US',
        guild_locale: 'en-US',
        entitlements: [],
        authorizing_integration_owners: { '0': guildId },
        context: 0,
        attachment_size_limit: 10_485_760,
      },
      guildId,
    );
    record.shardId = session.shard[0];
    return record;
  }

  // ---- REST ------------------------------------------------------------------------------------------------------

  async #handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const method = request.method ?? 'GET';
    const attachmentId = /^\/attachments\/(\d+)\//.exec(url.pathname)?.[1];
    if (attachmentId !== undefined) {
      // The CDN: no auth, raw bytes.
      const file = this.#attachmentFiles.get(attachmentId);
      if (!file) return void response.writeHead(404).end();
      return void response
        .writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.byteLength) })
        .end(Buffer.from(file.bytes));
    }
    const route = decodeURIComponent(url.pathname.replace(/^\/api(\/v\d+)?/, ''));
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: JsonObject | undefined;
    let result: RouteResult;
    try {
      body = raw ? (JSON.parse(raw) as JsonObject) : undefined;
      const authorized = request.headers.authorization === `Bot ${this.options.token}`;
      result = this.#rateLimited(method, route) ?? this.#route(method, route, { params: [], query, body, authorized });
    } catch (error) {
      result = discordError(400, 50109, `The request body contains invalid JSON: ${String(error)}`);
    }
    const recorded: RecordedRequest = { method, route, query, body, status: result.status, at: Date.now() };
    this.requests.push(recorded);
    this.#forgetBeyondLimit(this.requests);
    const headers: Record<string, string> = { ...result.headers };
    if (result.body === undefined) {
      response.writeHead(result.status, headers).end();
    } else {
      headers['content-type'] = 'application/json';
      response.writeHead(result.status, headers).end(JSON.stringify(result.body));
    }
    this.emit('request', recorded);
  }

  #rateLimited(method: string, route: string): RouteResult | undefined {
    const rule = this.#rateLimits.find(
      (candidate) => candidate.method === method && candidate.route.test(route) && candidate.times > 0,
    );
    if (!rule) return undefined;
    rule.times -= 1;
    const seconds = String(rule.retryAfterSeconds);
    return {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: rule.retryAfterSeconds, global: false },
      headers: {
        'retry-after': seconds,
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset-after': seconds,
        'x-ratelimit-bucket': 'emulated-bucket',
        'x-ratelimit-scope': 'user',
      },
    };
  }

  #route(method: string, route: string, context: RouteContext): RouteResult {
    for (const candidate of this.#routes) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(route);
      if (match) return candidate.handler({ ...context, params: match.slice(1) });
    }
    return discordError(404, 0, '404: Not Found');
  }

  #on(method: string, pattern: RegExp, handler: RouteHandler, options: { auth: boolean } = { auth: true }): void {
    this.#routes.push({
      method,
      pattern,
      handler: (context) =>
        options.auth && !context.authorized ? discordError(401, 0, '401: Unauthorized') : handler(context),
    });
  }

  #defineRoutes(): void {
    const id = '(\\d+)';
    const token = '([^/]+)';
    const gateway = () => ({
      status: 200,
      body: {
        url: this.gatewayUrl,
        shards: this.options.shards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      },
    });
    const application = () => ({
      status: 200,
      body: { id: this.applicationId, name: this.bot.username, flags: 0, bot_public: true, bot: userPayload(this.bot) },
    });
    this.#on('GET', /^\/gateway\/bot$/, gateway);
    this.#on('GET', /^\/gateway$/, gateway, { auth: false });
    this.#on('GET', /^\/users\/@me$/, () => ({ status: 200, body: userPayload(this.bot) }));
    this.#on('GET', /^\/(?:oauth2\/)?applications\/@me$/, application);
    this.#on('PUT', new RegExp(`^/applications/${id}/commands$`), ({ params, body }) =>
      this.#overwriteCommands(params[0]!, 'global', body),
    );
    this.#on('PUT', new RegExp(`^/applications/${id}/guilds/${id}/commands$`), ({ params, body }) =>
      this.#overwriteCommands(params[0]!, params[1]!, body),
    );
    this.#on('GET', new RegExp(`^/applications/${id}/commands$`), () => ({
      status: 200,
      body: this.registeredCommands.get('global') ?? [],
    }));
    this.#on(
      'POST',
      new RegExp(`^/interactions/${id}/${token}/callback$`),
      ({ params, query, body }) => this.#interactionCallback(params[0]!, params[1]!, query, body ?? {}),
      { auth: false },
    );
    this.#on(
      'PATCH',
      new RegExp(`^/webhooks/${id}/${token}/messages/@original$`),
      ({ params, body }) => this.#editOriginal(params[1]!, body ?? {}),
      {
        auth: false,
      },
    );
    this.#on(
      'GET',
      new RegExp(`^/webhooks/${id}/${token}/messages/@original$`),
      ({ params }) => {
        const original = this.#interactionByToken(params[1]!)?.original;
        return original ? { status: 200, body: original } : discordError(404, 10008, 'Unknown Message');
      },
      { auth: false },
    );
    this.#on(
      'DELETE',
      new RegExp(`^/webhooks/${id}/${token}/messages/@original$`),
      ({ params }) => {
        const record = this.#interactionByToken(params[1]!);
        if (!record?.original) return discordError(404, 10008, 'Unknown Message');
        const channelMessages = this.messages.get(record.channelId) ?? [];
        this.messages.set(
          record.channelId,
          channelMessages.filter((message) => message.id !== record.original!.id),
        );
        record.originalDeleted = true;
        this.emit('interaction', record);
        return { status: 204 };
      },
      { auth: false },
    );
    this.#on(
      'POST',
      new RegExp(`^/webhooks/${id}/${token}$`),
      ({ params, body }) => this.#followUp(params[1]!, body ?? {}),
      { auth: false },
    );
    this.#on(
      'PATCH',
      new RegExp(`^/webhooks/${id}/${token}/messages/${id}$`),
      ({ params, body }) => this.#editFollowUp(params[1]!, params[2]!, body ?? {}),
      {
        auth: false,
      },
    );
    this.#on('GET', new RegExp(`^/channels/${id}$`), ({ params }) => {
      const channel = this.channels.get(params[0]!);
      return channel ? { status: 200, body: channel } : discordError(404, 10003, 'Unknown Channel');
    });
    this.#on('POST', new RegExp(`^/channels/${id}/typing$`), () => ({ status: 204 }));
    this.#on('POST', new RegExp(`^/channels/${id}/messages$`), ({ params, body }) =>
      this.#createChannelMessage(params[0]!, body ?? {}),
    );
    this.#on('GET', new RegExp(`^/channels/${id}/messages$`), ({ params, query }) =>
      this.#listMessages(params[0]!, query),
    );
    this.#on('GET', new RegExp(`^/channels/${id}/messages/${id}$`), ({ params }) => {
      const message = (this.messages.get(params[0]!) ?? []).find((candidate) => candidate.id === params[1]);
      return message ? { status: 200, body: message } : discordError(404, 10008, 'Unknown Message');
    });
    this.#on('PUT', new RegExp(`^/channels/${id}/messages/${id}/reactions/([^/]+)/@me$`), ({ params }) => {
      const message = (this.messages.get(params[0]!) ?? []).find((candidate) => candidate.id === params[1]);
      if (!message) return discordError(404, 10008, 'Unknown Message');
      const reaction: RecordedReaction = { channelId: params[0]!, messageId: params[1]!, emoji: params[2]! };
      this.reactions.push(reaction);
      this.emit('reaction', reaction);
      return { status: 204 };
    });
    this.#on('POST', new RegExp(`^/channels/${id}/messages/${id}/threads$`), ({ params, body }) =>
      this.#startThread(params[0]!, params[1]!, body ?? {}),
    );
  }

  #overwriteCommands(applicationId: string, scope: string, body: unknown): RouteResult {
    if (applicationId !== this.applicationId) return discordError(404, 10002, 'Unknown Application');
    if (!Array.isArray(body)) return discordError(400, 50035, 'Invalid Form Body');
    const commands = (body as JsonObject[]).map((command) => ({
      ...command,
      id: nextSnowflake(),
      application_id: this.applicationId,
      version: nextSnowflake(),
      ...(scope === 'global' ? {} : { guild_id: scope }),
    }));
    this.registeredCommands.set(scope, commands);
    return { status: 200, body: commands };
  }

  #interactionByToken(interactionToken: string): InteractionRecord | undefined {
    for (const record of this.interactions.values()) if (record.token === interactionToken) return record;
    return undefined;
  }

  #interactionCallback(
    interactionId: string,
    interactionToken: string,
    query: Record<string, string>,
    body: JsonObject,
  ): RouteResult {
    const record = this.interactions.get(interactionId);
    if (!record || record.token !== interactionToken) return discordError(404, 10062, 'Unknown interaction');
    if (record.acknowledgedAt !== undefined)
      return discordError(400, 40060, 'Interaction has already been acknowledged.');
    if (this.options.now() - record.dispatchedAt > this.options.interactionAckTimeoutMs)
      return discordError(404, 10062, 'Unknown interaction');
    const type = Number(body.type);
    const data = (body.data ?? {}) as JsonObject;
    if (type === 4) {
      const problems = messageBodyProblems(data);
      if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
    }
    if (type === 8 && (!Array.isArray(data.choices) || data.choices.length > 25)) {
      return discordError(400, 50035, 'Invalid Form Body: choices must be 25 or fewer');
    }
    record.acknowledgedAt = this.options.now();
    record.callbackType = type;
    record.callbackBody = body;
    if (type === 4 || type === 5) {
      const flags = Number(data.flags ?? 0) | (type === 5 ? LOADING_FLAG : 0);
      record.original = this.#storeMessage(record.channelId, this.bot, type === 4 ? data : {}, {
        type: 20,
        flags,
        webhookId: this.applicationId,
        ephemeral: (flags & EPHEMERAL_FLAG) !== 0,
      });
    }
    this.emit('interaction', record);
    if (query.with_response !== 'true') return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: record.id,
          type: record.kind === 'command' ? 2 : 4,
          activity_instance_id: null,
          response_message_id: record.original?.id ?? null,
          response_message_loading: type === 5,
          response_message_ephemeral: record.original ? (record.original.flags & EPHEMERAL_FLAG) !== 0 : false,
        },
        resource: record.original ? { type, message: record.original } : { type },
      },
    };
  }

  #editOriginal(interactionToken: string, body: JsonObject): RouteResult {
    const record = this.#interactionByToken(interactionToken);
    if (!record?.original) return discordError(404, 10015, 'Unknown Webhook');
    const problems = messageBodyProblems({ ...record.original, ...body });
    if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
    Object.assign(record.original, body, {
      flags: record.original.flags & ~LOADING_FLAG,
      edited_timestamp: new Date().toISOString(),
    });
    record.originalEdits.push(body);
    this.emit('interaction', record);
    return { status: 200, body: record.original };
  }

  #followUp(interactionToken: string, body: JsonObject): RouteResult {
    const record = this.#interactionByToken(interactionToken);
    if (!record?.acknowledgedAt) return discordError(404, 10015, 'Unknown Webhook');
    const problems = messageBodyProblems(body);
    if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
    const flags = Number(body.flags ?? 0);
    const message = this.#storeMessage(record.channelId, this.bot, body, {
      type: 19,
      flags,
      webhookId: this.applicationId,
      ephemeral: (flags & EPHEMERAL_FLAG) !== 0,
    });
    record.followUps.push(message);
    this.emit('interaction', record);
    return { status: 200, body: message };
  }

  #editFollowUp(interactionToken: string, messageId: string, body: JsonObject): RouteResult {
    const message = this.#interactionByToken(interactionToken)?.followUps.find(
      (candidate) => candidate.id === messageId,
    );
    if (!message) return discordError(404, 10008, 'Unknown Message');
    const problems = messageBodyProblems({ ...message, ...body });
    if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
    Object.assign(message, body, { edited_timestamp: new Date().toISOString() });
    return { status: 200, body: message };
  }

  #createChannelMessage(channelId: string, body: JsonObject): RouteResult {
    if (!this.channels.has(channelId)) return discordError(404, 10003, 'Unknown Channel');
    if (this.channelsWithoutSendPermission.has(channelId)) return discordError(403, 50013, 'Missing Permissions');
    const problems = messageBodyProblems(body);
    if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
    if (!body.content && !(Array.isArray(body.embeds) && body.embeds.length > 0)) {
      return discordError(400, 50006, 'Cannot send an empty message');
    }
    const message = this.#storeMessage(channelId, this.bot, body, { type: body.message_reference ? 19 : 0 });
    // Discord echoes the bot's own messages on the gateway; a bot must not answer itself.
    this.#dispatch('MESSAGE_CREATE', message, this.#guildOf(channelId));
    return { status: 200, body: message };
  }

  #listMessages(channelId: string, query: Record<string, string>): RouteResult {
    if (!this.channels.has(channelId)) return discordError(404, 10003, 'Unknown Channel');
    const limit = Math.min(Number(query.limit ?? 50), 100);
    let newestFirst = [...(this.messages.get(channelId) ?? [])].reverse();
    if (query.before) newestFirst = newestFirst.filter((message) => BigInt(message.id) < BigInt(query.before!));
    return { status: 200, body: newestFirst.slice(0, limit) };
  }

  #startThread(channelId: string, messageId: string, body: JsonObject): RouteResult {
    const starter = (this.messages.get(channelId) ?? []).find((message) => message.id === messageId);
    if (!starter) return discordError(404, 10008, 'Unknown Message');
    if (this.channels.has(messageId))
      return discordError(400, 160004, 'A thread has already been created for this message');
    const name = String(body.name ?? '');
    if (name.length < 1 || name.length > 100)
      return discordError(400, 50035, 'Invalid Form Body: name must be 1 to 100 characters');
    // A thread started from a message takes the message's id, as on Discord.
    const thread: JsonObject = {
      id: messageId,
      type: 11,
      guild_id: this.#guildOf(channelId),
      parent_id: channelId,
      owner_id: this.bot.id,
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
    this.channels.set(messageId, thread);
    this.messages.set(messageId, []);
    starter.thread = thread;
    this.#dispatch('THREAD_CREATE', { ...thread, newly_created: true }, this.#guildOf(channelId));
    return { status: 201, body: thread };
  }

  #storeMessage(
    channelId: string,
    author: EmulatedUser,
    body: JsonObject,
    meta: { type: number; flags?: number; webhookId?: string; ephemeral?: boolean },
  ): EmulatedMessage {
    const content = typeof body.content === 'string' ? body.content : '';
    const mentionedIds = [...content.matchAll(/<@!?(\d+)>/g)].map((match) => match[1]!);
    const mentioned = [this.bot, this.user].filter((user) => mentionedIds.includes(user.id));
    const message: EmulatedMessage = {
      id: nextSnowflake(),
      channel_id: channelId,
      guild_id: this.#guildOf(channelId),
      author: userPayload(author),
      content,
      embeds: Array.isArray(body.embeds) ? (body.embeds as JsonObject[]) : [],
      components: Array.isArray(body.components) ? body.components : [],
      attachments: [],
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
      this.#forgetBeyondLimit(channelMessages);
      this.messages.set(channelId, channelMessages);
      const channel = this.channels.get(channelId);
      if (channel) channel.last_message_id = message.id;
      this.emit('message', message);
    }
    return message;
  }

  #forgetBeyondLimit(history: unknown[]): void {
    const excess = history.length - this.options.historyLimit;
    if (excess > 0) history.splice(0, excess);
  }

  #forgetOldInteractions(): void {
    // A Map iterates in insertion order: the first keys are the oldest interactions.
    for (const id of this.interactions.keys()) {
      if (this.interactions.size <= this.options.historyLimit) break;
      this.interactions.delete(id);
    }
  }
}

function shardPair(value: unknown): readonly [number, number] {
  return Array.isArray(value) && value.length === 2 ? [Number(value[0]), Number(value[1])] : [0, 1];
}
