/**
 * The local playground: the real bot, unchanged, logged in to the loopback Discord emulator, and a web page on
 * 127.0.0.1 that looks like a Discord text channel. What the page types becomes INTERACTION_CREATE or
 * MESSAGE_CREATE; what the page shows is built from the REST requests the bot really made.
 */
import { definedOnly } from '../util/options.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ApplicationCommandType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { DiscordEmulator } from '../emulator/discordEmulator.js';
import { createBot, type Bot, type BotConfig, type BotOptions } from '../discord/bot.js';
import { commandPayloads } from '../discord/commandLoader.js';
import type { CoreServices } from '../discord/types.js';
import { describeError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ChannelFeed, type FeedEvent } from './channelFeed.js';
import { commandInputSchema, resolveCommand } from './commandInput.js';

/** The token the bot presents to the emulator; never a real one (a real DISCORD_TOKEN is not used here). */
export const PLAYGROUND_TOKEN = 'papercord-playground-token';

export type PlaygroundConfig = Omit<BotConfig, 'DISCORD_TOKEN' | 'DISCORD_API_BASE' | 'ASK_COOLDOWN_SECONDS'>;

export interface PlaygroundOptions {
  services: CoreServices;
  config: PlaygroundConfig;
  logger: Logger;
  /** `PLAYGROUND_PORT`; 0 picks a free port (tests). */
  port: number;
  /** `PLAYGROUND_HOST`: the address the page listens on; loopback by default, `0.0.0.0` to serve it from a container. */
  host?: string;
  /** The commands by name (`loadCommands(commandModules)` in the composition root). */
  commands: BotOptions['commands'];
  /** Passed to the bot as it is by `npm start` (e.g. `trending`). */
  extraServices?: BotOptions['extraServices'];
  /** How long an autocomplete request waits for the bot's choices. */
  autocompleteTimeoutMs?: number;
}

export const DEFAULT_PLAYGROUND_OPTIONS = { autocompleteTimeoutMs: 5_000, host: '127.0.0.1' } as const;

export interface Playground {
  /** `http://<host>:<port>` (the page is at its root); `127.0.0.1` when listening on every address. */
  readonly url: string;
  readonly emulator: DiscordEmulator;
  readonly bot: Bot;
  close(): Promise<void>;
}

/** Whether `host` can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || (isIP(bare) === 4 && bare.startsWith('127.')) || bare === '::1';
}

/** The Host header names this machine by a name no DNS can rebind: `localhost` or an address literal. */
function namesAddress(hostHeader: string): boolean {
  const hostname = /^\[(.+)\](?::\d+)?$/.exec(hostHeader)?.[1] ?? hostHeader.replace(/:\d+$/, '');
  return hostname === 'localhost' || isIP(hostname) !== 0;
}
const MAX_BODY_BYTES = 64 * 1024;
const KEEPALIVE_MS = 15_000;

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/markdown.js': { file: 'markdown.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Nothing but the page's own files; message text can never bring in a script, a frame or a remote image. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const messageInputSchema = z.object({
  content: z.string().max(4000),
  channelId: z.string().regex(/^\d+$/).optional(),
});

const autocompleteQuerySchema = z.object({
  command: z.string().min(1),
  subcommand: z.string().min(1).optional(),
  focused: z.string().min(1),
  options: z
    .string()
    .default('{}')
    .transform((raw, context) => {
      try {
        return z.record(z.string()).parse(JSON.parse(raw));
      } catch {
        context.addIssue({ code: 'custom', message: 'options must be a JSON object of strings' });
        return z.NEVER;
      }
    }),
});

/** The page's files, from `src/playground` or `dist/src/playground` (tsc does not copy them). */
export function publicDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'public'), path.resolve(here, '../../../src/playground/public')];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

/** Starts the emulator, logs the real bot in to it, then serves the page; `close()` stops all three. */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const { services, config, logger, port, host, commands, extraServices, autocompleteTimeoutMs } = {
    ...DEFAULT_PLAYGROUND_OPTIONS,
    ...definedOnly(options),
  };
  const emulator = new DiscordEmulator({ token: PLAYGROUND_TOKEN });
  await emulator.start();
  const feed = new ChannelFeed(emulator);
  const bot = createBot(
    services,
    // One local person asks: no allowance of questions to spend (intake limits stay, they protect the library).
    // Files typed into the playground are served by its own emulator, on loopback.
    {
      ...config,
      ASK_COOLDOWN_SECONDS: 0,
      DISCORD_TOKEN: PLAYGROUND_TOKEN,
      DISCORD_API_BASE: emulator.apiBase,
      DISCORD_ATTACHMENT_HOSTS: ['127.0.0.1'],
    },
    logger,
    { commands, ...(extraServices ? { extraServices } : {}) },
  );
  // The playground types slash commands; context-menu commands (no text form) are left out of its list.
  const definitions = commandPayloads(commands).filter(
    (definition): definition is RESTPostAPIChatInputApplicationCommandsJSONBody =>
      definition.type === undefined || definition.type === ApplicationCommandType.ChatInput,
  );
  const streams = new Set<ServerResponse>();
  let server: Server | undefined;

  const close = async () => {
    for (const stream of streams) stream.end();
    streams.clear();
    if (server) {
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
    feed.close();
    await bot.stop();
    await emulator.close();
  };

  try {
    await bot.start();
    const handlers: Record<string, (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>> = {
      'GET /api/commands': async (_request, response) =>
        sendJson(response, 200, {
          commands: definitions,
          bot: { id: emulator.bot.id, username: emulator.bot.username },
          user: { id: emulator.user.id, username: emulator.user.username },
          channel: {
            id: emulator.channelId,
            name: String(emulator.channels.get(emulator.channelId)?.name ?? 'papers'),
          },
        }),
      'GET /api/events': async (_request, response) => {
        response.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/event-stream; charset=utf-8',
          connection: 'keep-alive',
        });
        writeEvent(response, 'snapshot', feed.snapshot());
        const forward = (event: FeedEvent) =>
          writeEvent(response, event.type, event.type === 'upsert' ? event.message : event);
        feed.on('event', forward);
        streams.add(response);
        const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEPALIVE_MS).unref();
        // The response, not the request: a GET request counts as closed once read, long before the page leaves.
        response.on('close', () => {
          clearInterval(keepAlive);
          feed.off('event', forward);
          streams.delete(response);
        });
      },
      'POST /api/command': async (request, response) => {
        const input = commandInputSchema.parse(await readJson(request));
        const command = resolveCommand(definitions, input);
        const record = emulator.dispatchCommand(command.name, {
          options: command.options,
          ...(command.subcommand ? { subcommand: command.subcommand } : {}),
        });
        feed.noteInvocation(record.id, input.text ?? `/${command.name}`);
        sendJson(response, 202, { interactionId: record.id });
      },
      'GET /api/autocomplete': async (_request, response, url) => {
        const query = autocompleteQuerySchema.parse(Object.fromEntries(url.searchParams));
        const command = resolveCommand(definitions, {
          name: query.command,
          options: query.options,
          ...(query.subcommand ? { subcommand: query.subcommand } : {}),
        });
        const record = emulator.dispatchAutocomplete(command.name, {
          options: command.options,
          focused: query.focused,
          ...(command.subcommand ? { subcommand: command.subcommand } : {}),
        });
        const answered = await emulator.waitForInteraction(
          record.id,
          (changed) => changed.callbackType === 8,
          autocompleteTimeoutMs,
        );
        const data = (answered.callbackBody?.data ?? {}) as { choices?: unknown };
        sendJson(response, 200, { choices: Array.isArray(data.choices) ? data.choices : [] });
      },
      'POST /api/message': async (request, response) => {
        const input = messageInputSchema.parse(await readJson(request));
        const channelId = input.channelId ?? emulator.channelId;
        if (!feed.isKnownChannel(channelId)) throw new UserError('That thread does not exist (any more).');
        if (!input.content.trim()) throw new UserError('Type a message first.');
        // What a Discord client does when you pick @papercord from the mention list.
        const content = input.content.replace(
          new RegExp(`@${escapeRegExp(emulator.bot.username)}\\b`, 'gi'),
          emulator.botMention,
        );
        const message = emulator.dispatchMessage(content, { channelId });
        sendJson(response, 202, { messageId: message.id });
      },
    };

    server = createServer((request, response) => {
      void handle(request, response).catch((error: unknown) => {
        if (error instanceof UserError || error instanceof z.ZodError) {
          const message =
            error instanceof z.ZodError ? `bad request: ${error.issues[0]?.message ?? 'invalid input'}` : error.message;
          sendJson(response, 400, { error: message });
          return;
        }
        logger.error({ err: error, url: request.url }, 'playground request failed');
        if (!response.headersSent)
          sendJson(response, 500, { error: 'The playground failed; see the terminal for details.' });
        else response.end();
      });
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new UserError(
                `PLAYGROUND_PORT ${port} is already in use on ${host}; set PLAYGROUND_PORT to a free port (e.g. ${port + 1}).`,
                { cause: error },
              )
            : error,
        ),
      );
      listening.listen(port, host, () => resolve());
    });
    const actualPort = (listening.address() as AddressInfo).port;
    const loopback = isLoopbackHost(host);

    async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
      // Another web site must not drive the bot: only this origin, by name (no DNS rebinding) and with JSON bodies.
      // Served beyond loopback (a container), the port seen by the browser may be a published one: any port then,
      // but still only an address or localhost, never a name a DNS server could point here.
      const hostHeader = request.headers.host ?? '';
      const allowed = loopback
        ? [`${host}:${actualPort}`, `127.0.0.1:${actualPort}`, `localhost:${actualPort}`].includes(hostHeader)
        : namesAddress(hostHeader);
      if (!allowed) {
        sendJson(response, 421, { error: 'unknown host' });
        return;
      }
      const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
      const method = request.method ?? 'GET';
      const staticFile = method === 'GET' ? STATIC_FILES[url.pathname] : undefined;
      if (staticFile) {
        const body = await readFile(path.join(publicDirectory(), staticFile.file));
        response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': staticFile.type }).end(body);
        return;
      }
      const handler = handlers[`${method} ${url.pathname}`];
      if (!handler) {
        sendJson(response, 404, { error: `no ${method} ${url.pathname}` });
        return;
      }
      if (method === 'POST' && !String(request.headers['content-type'] ?? '').startsWith('application/json')) {
        sendJson(response, 415, { error: 'send application/json' });
        return;
      }
      await handler(request, response, url);
    }

    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host;
    const url = `http://${shownHost}:${actualPort}`;
    if (!loopback) {
      logger.warn(
        { host, port: actualPort },
        `PLAYGROUND_HOST=${host} is not a loopback address: anyone who can reach port ${actualPort} can use the playground, which has no login`,
      );
    }
    logger.info({ url, commands: definitions.length }, 'playground ready');
    return { url, emulator, bot, close };
  } catch (error) {
    await close().catch((closeError: unknown) =>
      logger.warn({ err: describeError(closeError) }, 'playground cleanup failed'),
    );
    throw error;
  }
}

function writeEvent(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new UserError(`The request is over ${MAX_BODY_BYTES / 1024} KiB.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new UserError('The request body is not JSON.');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
