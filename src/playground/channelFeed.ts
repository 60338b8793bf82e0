import { EventEmitter } from 'node:events';
import type {
  DiscordEmulator,
  EmulatedMessage,
  InteractionRecord,
  JsonObject,
  RecordedRequest,
} from '../emulator/discordEmulator.js';

const EPHEMERAL_FLAG = 64;
/** Set on a deferred reply until its first edit: Discord shows "<bot> is thinking…". */
const LOADING_FLAG = 128;

/** One message as the page shows it, built from what the bot sent over REST (and what the user typed). */
export interface PlaygroundMessage {
  id: string;
  channelId: string;
  author: { id: string; username: string; bot: boolean };
  content: string;
  /** Exactly the embeds the bot sent (Discord's wire shape); the page renders them. */
  embeds: JsonObject[];
  ephemeral: boolean;
  /** A deferred reply not edited yet. */
  loading: boolean;
  edited: boolean;
  timestamp: string;
  /** For replies to a slash command: who ran what, as Discord shows above the reply. */
  interaction?: { commandName: string; user: string; invocation?: string };
  /** The thread started on this message (a thread's id is its starter message's id). */
  thread?: { id: string; name: string };
}

export type FeedEvent =
  | { type: 'upsert'; message: PlaygroundMessage }
  | { type: 'remove'; id: string }
  | { type: 'typing'; channelId: string; username: string };

/**
 * The channel as the page sees it: every message the user posted and the bot sent (ephemeral ones included, since
 * the page's user is the only one who would see them), kept current from the emulator's records. Emits a
 * `FeedEvent` on each change, in order, so that the page can be a dumb renderer.
 */
export class ChannelFeed extends EventEmitter<{ event: [FeedEvent] }> {
  readonly #messages = new Map<string, PlaygroundMessage>();
  /** What the user typed for each interaction, shown above its reply. */
  readonly #invocations = new Map<string, string>();
  readonly #detach: () => void;

  constructor(private readonly emulator: DiscordEmulator) {
    super();
    this.setMaxListeners(0);
    const onMessage = (message: EmulatedMessage) => {
      // Interaction replies and follow-ups arrive through `interaction`, with who ran the command.
      if (message.webhook_id === undefined) this.#upsert(message);
    };
    const onInteraction = (record: InteractionRecord) => this.#updateInteraction(record);
    const onRequest = (request: RecordedRequest) => this.#noticeRequest(request);
    emulator.on('message', onMessage);
    emulator.on('interaction', onInteraction);
    emulator.on('request', onRequest);
    this.#detach = () => {
      emulator.off('message', onMessage);
      emulator.off('interaction', onInteraction);
      emulator.off('request', onRequest);
    };
  }

  /** Every message so far, oldest first. */
  snapshot(): PlaygroundMessage[] {
    return [...this.#messages.values()];
  }

  /** Remembers the command line the user typed, so the reply can show it. */
  noteInvocation(interactionId: string, invocation: string): void {
    this.#invocations.set(interactionId, invocation);
  }

  /** Whether the page may post in `channelId`: the channel itself or a thread the bot opened in it. */
  isKnownChannel(channelId: string): boolean {
    return this.emulator.channels.has(channelId);
  }

  close(): void {
    this.#detach();
    this.removeAllListeners();
  }

  #updateInteraction(record: InteractionRecord): void {
    if (record.kind !== 'command') return;
    const interaction = {
      commandName: record.commandName,
      user: this.emulator.user.username,
      invocation: this.#invocations.get(record.id),
    };
    if (record.original) {
      if (record.originalDeleted) this.#remove(record.original.id);
      else this.#upsert(record.original, interaction);
    }
    for (const followUp of record.followUps) this.#upsert(followUp, interaction);
  }

  #noticeRequest(request: RecordedRequest): void {
    if (request.status >= 300) return;
    const followUpEdit = /^\/webhooks\/\d+\/([^/]+)\/messages\/(\d+)$/.exec(request.route);
    if (request.method === 'PATCH' && followUpEdit) {
      // The emulator announces no event for an edited follow-up; its record already holds the edit.
      for (const record of this.emulator.interactions.values()) {
        if (record.token === followUpEdit[1]) this.#updateInteraction(record);
      }
      return;
    }
    const threadStart = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(request.route);
    if (request.method === 'POST' && threadStart) {
      const starter = this.emulator.messages.get(threadStart[1]!)?.find((message) => message.id === threadStart[2]);
      const known = starter && this.#messages.get(starter.id);
      if (starter && known) this.#upsert(starter, known.interaction);
      return;
    }
    const typing = /^\/channels\/(\d+)\/typing$/.exec(request.route);
    if (request.method === 'POST' && typing) {
      this.emit('event', { type: 'typing', channelId: typing[1]!, username: this.emulator.bot.username });
    }
  }

  #upsert(message: EmulatedMessage, interaction?: PlaygroundMessage['interaction']): void {
    const author = (message.author ?? {}) as JsonObject;
    const thread = message.thread as JsonObject | undefined;
    const flags = Number(message.flags ?? 0);
    const view: PlaygroundMessage = {
      id: message.id,
      channelId: message.channel_id,
      author: { id: String(author.id ?? ''), username: String(author.username ?? 'unknown'), bot: author.bot === true },
      content: message.content,
      embeds: message.embeds,
      ephemeral: (flags & EPHEMERAL_FLAG) !== 0,
      loading: (flags & LOADING_FLAG) !== 0,
      edited: Boolean(message.edited_timestamp),
      timestamp: String(message.timestamp ?? new Date().toISOString()),
      ...(interaction ? { interaction } : {}),
      ...(thread ? { thread: { id: String(thread.id), name: String(thread.name ?? '') } } : {}),
    };
    // Snapshots, not references: the emulator mutates its records in place on later edits.
    const copy = structuredClone(view);
    this.#messages.set(copy.id, copy);
    this.emit('event', { type: 'upsert', message: copy });
  }

  #remove(id: string): void {
    if (!this.#messages.delete(id)) return;
    this.emit('event', { type: 'remove', id });
  }
}
