import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import type { IntakeItem, IntakeOutcome, IntakeRunOptions } from '../intake/paperIntake.js';
import type { LinkChannelStore } from '../intake/linkChannels.js';
import type { AnswerService } from '../answering/answerService.js';
import type { ReadingSessionStore } from '../answering/readingSessions.js';
import type { PaperGraph } from '../graph/paperGraph.js';
import type { FeedRuntime } from '../feed/runtime.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { PaperRetriever } from '../retrieval/types.js';
import type { TrendingRuntime } from '../trending/runtime.js';
import type { AcknowledgementGate } from './ackFirst.js';
import type { IntakeLimits } from './intakeLimits.js';
import type { AnswerLimiter } from './limits.js';
import type { PaperOutline } from './render.js';

/** Where PDF attachments may come from and how much of one is read (`DISCORD_ATTACHMENT_HOSTS`, `PDF_MAX_BYTES`). */
export interface AttachmentPolicy {
  /** Host names (no port) downloads may reach: Discord's CDN, or 127.0.0.1 for the emulator. */
  hosts: readonly string[];
  maxBytes: number;
}

/**
 * What the bot needs from the core, and nothing more: commands depend on this port, `src/main.ts` fills it from
 * the real services, so the core never imports discord.js and the bot never builds a service.
 */
export interface CoreServices {
  retriever: PaperRetriever;
  answers: Pick<AnswerService, 'ask' | 'compare' | 'summarize' | 'modelLabel'>;
  /** Titles for autocomplete: best matches for what the user has typed so far. */
  suggestPapers(query: string, limit: number): Promise<Paper[]>;
  /** A paper by id or (fuzzy) title; rejects with a UserError naming the closest titles when none matches. */
  resolvePaper(nameOrId: string): Promise<Paper>;
  /** For /about and /library status: papers in the library and the embedder that indexed them. */
  describeLibrary(): Promise<{ papers: number; embedderDescription: string }>;
  /** A stored full text's outline (for /paper); absent when the bot runs without full text, undefined for a paper without one. */
  paperOutline?(paperId: string): Promise<PaperOutline | undefined>;
  /**
   * A paper's references and citations, marked when in the library (for /paper and /related); rejects with a
   * UserError when the sources are down and nothing is cached. Absent when the bot runs without the graph.
   */
  paperGraph?(paper: Paper): Promise<PaperGraph>;
  /** Papers brought in by id, link or PDF: `/add`, the context menu, links posted in a switched-on channel. */
  addPapers(items: readonly IntakeItem[], options?: IntakeRunOptions): Promise<IntakeOutcome[]>;
  /** The newest papers of the library, newest first, for `/library status`. */
  recentPapers(limit: number): Promise<Paper[]>;
  /** Channels where posted paper links are picked up (`/library links`) and the role that may add papers (`/library adders`): a small store the bot's own thread keeps. */
  linkChannels: Pick<LinkChannelStore, 'enable' | 'disable' | 'isEnabled' | 'list' | 'adderRole' | 'setAdderRole'>;
  /** Threads opened by `/read` and their papers: a small store the bot's own thread keeps, like the link channels. */
  readingSessions: Pick<ReadingSessionStore, 'open' | 'get' | 'end'>;
}

/** What every command's `execute` receives: the core, plus what the bot itself owns. */
export interface BotServices extends CoreServices {
  /** Per-user cooldown and global concurrency for the expensive commands (/ask, /compare, mentions; /paper and /trending now with an LLM). */
  limiter: AnswerLimiter;
  /** Per-request cap, member and channel allowances, and the queue for bringing papers in. */
  intakeLimits: IntakeLimits;
  logger: Logger;
  /** Where PDF attachments are downloaded from and how much of one is read. */
  attachments: AttachmentPolicy;
  /** When the bot started, for /about. */
  startedAt: Date;
  /** Work that can wait (answers) lets every pending acknowledgement go first. */
  acknowledgements: Pick<AcknowledgementGate, 'yieldToAcknowledgements'>;
  /** `/trending`: digests and subscriptions (`TrendingRuntime`); absent when the bot runs without trending. */
  trending?: Pick<TrendingRuntime, 'digest' | 'subscribe' | 'unsubscribe' | 'status'>;
  /** `/follow` and `/feed`: the member's research feed (`FeedRuntime`); absent when the bot runs without it. */
  feed?: FeedPort;
}

/** What the commands use of the research feed. */
export type FeedPort = Pick<
  FeedRuntime,
  | 'follow'
  | 'follows'
  | 'unfollow'
  | 'settings'
  | 'updateSettings'
  | 'takeUnseen'
  | 'recordFeedback'
  | 'resetFeedback'
  | 'forget'
  | 'takeDmsClosedNotice'
>;

/** One slash command: a module in `commands/` exporting these, listed in `commands/index.ts`. */
export interface SlashCommand {
  readonly kind?: 'slash';
  data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, services: BotServices): Promise<void>;
  /** Buttons the command put on its replies: their customId starts with `<command name>:`, which routes them here. */
  button?(interaction: ButtonInteraction, services: BotServices): Promise<void>;
}

/** A message context-menu command (right-click a message → Apps → …), also a module listed in `commands/index.ts`. */
export interface MessageMenuCommand {
  readonly kind: 'message-menu';
  data: { readonly name: string; toJSON(): RESTPostAPIContextMenuApplicationCommandsJSONBody };
  execute(interaction: MessageContextMenuCommandInteraction, services: BotServices): Promise<void>;
}

export type BotCommand = SlashCommand | MessageMenuCommand;

export function isMessageMenuCommand(command: BotCommand): command is MessageMenuCommand {
  return command.kind === 'message-menu';
}
