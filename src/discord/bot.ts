import { Client, Events, GatewayIntentBits, MessageFlags, Options, Status } from 'discord.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { AcknowledgementGate, type AcknowledgementGateOptions } from './ackFirst.js';
import { IntakeLimits, type IntakeLimitsConfig } from './intakeLimits.js';
import { AnswerLimiter } from './limits.js';
import { createLinkPickup } from './linkPickup.js';
import { createMentionHandler } from './mentions.js';
import { attachmentPolicy } from './paperIntake.js';
import { createInteractionRouter, NO_MENTIONS } from './router.js';
import type { BotCommand, BotServices, CoreServices } from './types.js';

/** What `npm start` and `npm run deploy-commands` print, as one line, when there is no token. */
export const MISSING_TOKEN_MESSAGE =
  'papercord: DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications (Bot → Reset Token) ' +
  'and put DISCORD_TOKEN=… in .env; to try papercord without Discord, use the CLI: npm run cli -- ask "your question"';

export type BotConfig = Pick<
  Config,
  | 'DISCORD_TOKEN'
  | 'DISCORD_API_BASE'
  | 'ASK_COOLDOWN_SECONDS'
  | 'ASK_BURST'
  | 'MAX_CONCURRENT_ANSWERS'
  | 'DISCORD_ATTACHMENT_HOSTS'
  | 'PDF_MAX_BYTES'
> &
  IntakeLimitsConfig;

export interface BotOptions {
  /** The commands by name (`loadCommands(commandModules)` in the composition root). */
  commands: ReadonlyMap<string, BotCommand>;
  /** Services a command needs beyond the core (e.g. `trending`), passed through to what commands receive. */
  extraServices?: Omit<
    Partial<BotServices>,
    keyof CoreServices | 'limiter' | 'intakeLimits' | 'logger' | 'startedAt' | 'acknowledgements'
  >;
  /** On stop, how long answers already running may take to finish before the connection closes anyway. */
  drainTimeoutMs?: number;
  /** The clock the /ask and intake allowances are measured on; a test passes its own so the "try again in N s" it reads is exact. */
  now?: () => number;
  /** How long answers wait for other interactions' acknowledgements (see `AcknowledgementGate`). */
  acknowledgements?: AcknowledgementGateOptions;
}

export const DEFAULT_BOT_OPTIONS = { drainTimeoutMs: 20_000 } as const;

/** What users are told when they ask while the bot is shutting down. */
export const STOPPING_MESSAGE = 'The bot is restarting; please try again in a minute.';

export interface Bot {
  readonly client: Client;
  readonly services: BotServices;
  /** Logs in and resolves once the gateway session is ready. */
  start(): Promise<void>;
  /**
   * Whether the gateway is connected now: the client stays "ready" through a reconnect, its shards say whether they
   * are. What `/healthz` reports as `gateway`, for Discord and for the playground's stand-in alike.
   */
  connected(): boolean;
  /**
   * Refuses new work, lets answers already running finish (up to `drainTimeoutMs`), then closes the gateway
   * connection; safe to call twice.
   */
  stop(): Promise<void>;
}

/**
 * The Discord front end: a discord.js client whose commands and mentions run over the core services.
 * Intents: Guilds (slash commands), GuildMessages and MessageContent (privileged; for answering mentions and
 * follow-ups in the bot's threads, and for reading paper links in channels with link pickup on). Nothing it sends can ping: `allowedMentions: { parse: [] }` is the client
 * default and is repeated on every send.
 */
export function createBot(core: CoreServices, config: BotConfig, logger: Logger, options: BotOptions): Bot {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    allowedMentions: NO_MENTIONS,
    rest: { api: config.DISCORD_API_BASE },
    // Bounded for a bot that runs for months: by default every user and member who ever typed a command, and every
    // message seen in a thread, stays in memory. Interactions carry their user and member, so nothing needs them cached.
    makeCache: Options.cacheWithLimits({
      ...Options.DefaultMakeCacheSettings,
      UserManager: { maxSize: 1_000, keepOverLimit: (user) => user.id === user.client.user.id },
      GuildMemberManager: { maxSize: 200, keepOverLimit: (member) => member.id === member.client.user.id },
    }),
    sweepers: { ...Options.DefaultSweeperSettings, messages: { interval: 3_600, lifetime: 1_800 } },
  });
  const acknowledgements = new AcknowledgementGate(options.acknowledgements);
  const services: BotServices = {
    ...core,
    ...options.extraServices,
    limiter: new AnswerLimiter({
      cooldownSeconds: config.ASK_COOLDOWN_SECONDS,
      burst: config.ASK_BURST,
      maxConcurrent: config.MAX_CONCURRENT_ANSWERS,
      now: options.now,
    }),
    intakeLimits: new IntakeLimits(config, options.now),
    logger,
    attachments: attachmentPolicy(config),
    startedAt: new Date(),
    acknowledgements,
  };
  const { commands } = options;
  const route = createInteractionRouter(commands, services);
  const answerMention = createMentionHandler(client, services);
  const pickUpLinks = createLinkPickup(services);

  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_BOT_OPTIONS.drainTimeoutMs;
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand() || interaction.isMessageContextMenuCommand() || interaction.isAutocomplete())
      acknowledgements.received(interaction);
    if (!stopping) track(route(interaction));
    else if (interaction.isChatInputCommand() || interaction.isMessageContextMenuCommand()) {
      void interaction
        .reply({ content: STOPPING_MESSAGE, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
        .catch(() => undefined);
    } else if (interaction.isAutocomplete()) void interaction.respond([]).catch(() => undefined);
  });
  // A reading session ends with its thread: a member reopening it by posting gets ordinary thread behaviour.
  client.on(Events.ThreadUpdate, (_before, thread) => {
    if (thread.archived) services.readingSessions.end(thread.id);
  });
  client.on(Events.ThreadDelete, (thread) => void services.readingSessions.end(thread.id));
  client.on(Events.MessageCreate, (message) => {
    if (stopping) return;
    track(answerMention(message));
    track(pickUpLinks(message));
  });
  client.on(Events.ShardDisconnect, (event, shardId) =>
    logger.warn({ code: event.code, shardId }, 'gateway disconnected for good'),
  );
  client.on(Events.ShardResume, (shardId, replayed) => logger.info({ shardId, replayed }, 'gateway session resumed'));
  client.on(Events.ShardError, (error, shardId) => logger.warn({ err: error.message, shardId }, 'gateway error'));
  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));

  let stopped: Promise<void> | undefined;
  return {
    client,
    services,
    async start() {
      if (!config.DISCORD_TOKEN) {
        throw new UserError('DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications.');
      }
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      try {
        await client.login(config.DISCORD_TOKEN);
      } catch (error) {
        throw explainLoginError(error);
      }
      await ready;
      logger.info(
        { user: client.user?.tag, guilds: client.guilds.cache.size, commands: commands.size },
        'discord bot ready',
      );
    },
    connected: () => client.isReady() && client.ws.shards.every((shard) => shard.status === Status.Ready),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (inFlight.size > 0) {
          logger.info(
            { inFlight: inFlight.size, drainTimeoutMs },
            'letting running answers finish before disconnecting',
          );
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<'timeout'>(
            (resolve) => (timer = setTimeout(() => resolve('timeout'), drainTimeoutMs)),
          );
          const outcome = await Promise.race([Promise.allSettled([...inFlight]), timedOut]);
          clearTimeout(timer);
          if (outcome === 'timeout')
            logger.warn({ inFlight: inFlight.size }, 'answers still running at shutdown were cut off');
        }
        await client.destroy();
      })();
      return stopped;
    },
  };
}

/** Login failures a server owner can fix, as one line saying how; anything else unchanged. */
function explainLoginError(error: unknown): unknown {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (name.includes('TokenInvalid') || message === 'Authentication failed') {
    return new UserError(
      'Discord refused DISCORD_TOKEN: copy the bot token again from the Developer Portal (Bot → Reset Token).',
      { cause: error },
    );
  }
  if (message === 'Used disallowed intents') {
    return new UserError(
      'Discord refused the Message Content intent: enable it in the Developer Portal (your application → Bot → Privileged Gateway Intents → Message Content Intent); papercord needs it to answer mentions.',
      { cause: error },
    );
  }
  return error;
}
