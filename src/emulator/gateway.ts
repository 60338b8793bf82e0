/**
 * The emulated gateway: HELLO, IDENTIFY (with shards and the privileged-intent check), READY and GUILD_CREATE,
 * heartbeats, RESUME with replay, and the controls a test uses to drop, reconnect or invalidate a session.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { guildPayload, userPayload, type JsonObject } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import { shardOfGuild, type EmulatorState } from './state.js';
import type { DiscordEmulatorOptions } from './types.js';

export const GATEWAY_OPCODES = {
  dispatch: 0,
  heartbeat: 1,
  identify: 2,
  resume: 6,
  reconnect: 7,
  invalidSession: 9,
  hello: 10,
  heartbeatAck: 11,
} as const;

/** GuildMembers, GuildPresences, MessageContent: the intents an application must be granted in the portal. */
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);

export interface GatewaySession {
  id: string;
  /** `[shard id, shard count]` from IDENTIFY; `[0, 1]` when the bot did not shard. */
  shard: readonly [number, number];
  sequence: number;
  /** Every dispatch of the session, for replay on RESUME. */
  sent: Array<{ s: number; t: string; d: unknown }>;
  socket: WebSocket | undefined;
}

export function shardPair(value: unknown): readonly [number, number] {
  return Array.isArray(value) && value.length === 2 ? [Number(value[0]), Number(value[1])] : [0, 1];
}

export class EmulatedGateway {
  /** How many WebSocket connections the bot opened. */
  connections = 0;
  readonly #state: EmulatorState;
  readonly #options: Required<DiscordEmulatorOptions>;
  readonly #events: EventEmitter;
  readonly #url: () => string;
  #sessions = new Map<string, GatewaySession>();
  #activeSession: GatewaySession | undefined;
  /** The connected session of each shard id, for bots that shard. */
  #shardSessions = new Map<number, GatewaySession>();

  constructor(
    state: EmulatorState,
    options: Required<DiscordEmulatorOptions>,
    events: EventEmitter,
    url: () => string,
  ) {
    this.#state = state;
    this.#options = options;
    this.#events = events;
    this.#url = url;
  }

  /** Whether a bot has identified (dispatches before that have nowhere to go). */
  get identified(): boolean {
    return this.#activeSession !== undefined;
  }

  handleSocket(socket: WebSocket, request: IncomingMessage): void {
    this.connections += 1;
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
      this.#state.gatewayPayloads.push({ op: payload.op, d: recordedData, at: Date.now() });
      this.#state.forgetBeyondLimit(this.#state.gatewayPayloads);
      this.#events.emit('gateway', payload.op);
      if (payload.op === GATEWAY_OPCODES.heartbeat) {
        socket.send(JSON.stringify({ op: GATEWAY_OPCODES.heartbeatAck, d: null }));
      } else if (payload.op === GATEWAY_OPCODES.identify) {
        session = this.#identify(socket, payload.d as JsonObject);
      } else if (payload.op === GATEWAY_OPCODES.resume) {
        session = this.#resume(socket, payload.d as JsonObject);
      }
    });
    socket.on('close', () => {
      if (session && session.socket === socket) session.socket = undefined;
    });
    socket.send(
      JSON.stringify({ op: GATEWAY_OPCODES.hello, d: { heartbeat_interval: this.#options.heartbeatIntervalMs } }),
    );
  }

  /** Closes the bot's gateway connection abnormally: discord.js should reconnect and RESUME. */
  dropConnection(code: number): void {
    this.#activeSession?.socket?.close(code, 'emulated drop');
  }

  requestReconnect(): void {
    this.#activeSession?.socket?.send(JSON.stringify({ op: GATEWAY_OPCODES.reconnect, d: null }));
  }

  invalidateSession(resumable: boolean): void {
    const session = this.#activeSession;
    if (!session?.socket) return;
    if (!resumable) this.#sessions.delete(session.id);
    session.socket.send(JSON.stringify({ op: GATEWAY_OPCODES.invalidSession, d: resumable }));
  }

  /**
   * Sends a guild's dispatch to the session of the shard that guild is on (the active session for a bot that does
   * not shard); while the bot is disconnected it is kept for replay on RESUME.
   */
  dispatch(eventName: string, data: unknown, guildId = this.#state.guildId): GatewaySession {
    const active = this.#activeSession;
    if (!active) throw new Error('emulator: no bot is connected to the gateway yet');
    const shardCount = active.shard[1];
    const session = shardCount === 1 ? active : this.#shardSessions.get(shardOfGuild(guildId, shardCount));
    if (!session)
      throw new Error(`emulator: shard ${shardOfGuild(guildId, shardCount)} of guild ${guildId} has not connected`);
    this.#send(session, eventName, data);
    return session;
  }

  #identify(socket: WebSocket, data: JsonObject): GatewaySession | undefined {
    if (data.token !== this.#options.token) {
      socket.close(4004, 'Authentication failed.');
      return undefined;
    }
    if (!this.#options.privilegedIntents && (Number(data.intents) & PRIVILEGED_INTENTS) !== 0) {
      socket.close(4014, 'Disallowed intent(s).');
      return undefined;
    }
    const state = this.#state;
    const shard = shardPair(data.shard);
    const session: GatewaySession = { id: nextSnowflake(), shard, sequence: 0, sent: [], socket };
    this.#sessions.set(session.id, session);
    this.#activeSession = session;
    this.#shardSessions.set(shard[0], session);
    const guildIds = state.guildIds.filter((guildId) => shardOfGuild(guildId, shard[1]) === shard[0]);
    this.#send(session, 'READY', {
      v: 10,
      user: userPayload(state.bot),
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.#url(),
      shard: data.shard ?? [0, 1],
      application: { id: state.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
    });
    for (const guildId of guildIds) {
      this.#send(
        session,
        'GUILD_CREATE',
        guildPayload(
          guildId,
          state.guildChannels(guildId),
          state.bot,
          state.joinedAt,
          state.guildThreads(guildId),
          guildId === state.guildId ? state.roles : [],
        ),
      );
    }
    return session;
  }

  #resume(socket: WebSocket, data: JsonObject): GatewaySession | undefined {
    const session = this.#sessions.get(String(data.session_id));
    if (!session || data.token !== this.#options.token) {
      socket.send(JSON.stringify({ op: GATEWAY_OPCODES.invalidSession, d: false }));
      return undefined;
    }
    session.socket = socket;
    this.#activeSession = session;
    this.#shardSessions.set(session.shard[0], session);
    const since = Number(data.seq ?? 0);
    for (const event of session.sent.filter((sent) => sent.s > since)) {
      socket.send(JSON.stringify({ op: GATEWAY_OPCODES.dispatch, ...event }));
    }
    this.#send(session, 'RESUMED', {});
    return session;
  }

  #send(session: GatewaySession, eventName: string, data: unknown): void {
    session.sequence += 1;
    const event = { s: session.sequence, t: eventName, d: data };
    session.sent.push(event);
    this.#state.forgetBeyondLimit(session.sent);
    session.socket?.send(JSON.stringify({ op: GATEWAY_OPCODES.dispatch, ...event }));
  }
}
