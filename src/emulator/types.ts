/** The emulator's public shapes: its options and the records tests read of what the bot did. */
import type { EmulatedUser, JsonObject } from './payloads.js';

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
  /** Files attached: a member's uploads, or the bot's (kept on the CDN, with their `url`). */
  attachments: JsonObject[];
  flags: number;
}

/** `component`: a click on a message's button. */
export type InteractionKind = 'command' | 'autocomplete' | 'component';

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
  /** ROLE options: role ids (from `addRole`) by option name, sent with the roles resolved, as Discord does. */
  roleOptions?: Record<string, string>;
  /** A subcommand (`/trending now`): the options are sent nested under it, as Discord does. */
  subcommand?: string;
  user?: EmulatedUser;
  channelId?: string;
  /** Sent in a direct message with the bot, as Discord does: no server, no member (the user instead), a DM channel. */
  directMessage?: boolean;
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
