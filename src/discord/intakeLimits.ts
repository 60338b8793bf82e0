import {
  PermissionFlagsBits,
  type APIInteractionGuildMember,
  type GuildMember,
  type PermissionsBitField,
} from 'discord.js';
import type { Config } from '../config.js';
import type { LinkChannelStore } from '../intake/linkChannels.js';
import { UserError } from '../errors.js';
import { definedOnly } from '../util/options.js';
import { TokenBuckets } from '../util/tokenBuckets.js';

/**
 * Limits on bringing papers in, for every way a member can (`/add`, the message command, link pickup): a cap per
 * request, a per-member and a per-channel allowance of papers (token buckets: a burst, then a steady rate), and one
 * bounded queue per process so that intake runs a request or two at a time and never crowds out questions.
 */
export type IntakeLimitsConfig = Pick<
  Config,
  | 'ADD_MAX_PAPERS'
  | 'ADD_COOLDOWN_SECONDS'
  | 'ADD_BURST'
  | 'LINK_PICKUP_COOLDOWN_SECONDS'
  | 'LINK_PICKUP_BURST'
  | 'INTAKE_CONCURRENCY'
  | 'INTAKE_QUEUE_MAX'
>;

/** The inputs of a request that were not taken, and why (one reason for all of them). */
export interface LeftOut {
  inputs: string[];
  reason: string;
}

/** What a request may add now: `admitted` go ahead, `leftOut` are listed in the reply as not added. */
export interface Admission {
  admitted: string[];
  leftOut: LeftOut[];
}

export class IntakeLimits {
  readonly maxPapersPerRequest: number;
  private readonly members: TokenBuckets;
  private readonly channels: TokenBuckets;
  readonly queue: IntakeQueue;

  constructor(config: IntakeLimitsConfig, now?: () => number) {
    this.maxPapersPerRequest = config.ADD_MAX_PAPERS;
    this.members = new TokenBuckets({ burst: config.ADD_BURST, refillSeconds: config.ADD_COOLDOWN_SECONDS, now });
    this.channels = new TokenBuckets({
      burst: config.LINK_PICKUP_BURST,
      refillSeconds: config.LINK_PICKUP_COOLDOWN_SECONDS,
      now,
    });
    this.queue = new IntakeQueue({
      concurrency: config.INTAKE_CONCURRENCY,
      maxWaiting: config.INTAKE_QUEUE_MAX,
      ...(now ? { now } : {}),
    });
  }

  /**
   * The inputs one member's request may add: at most `ADD_MAX_PAPERS`, and no more than the member's allowance
   * holds. Throws a UserError saying when to try again when the allowance is spent.
   */
  admitMember(userId: string, inputs: readonly string[], command: string): Admission {
    const capped = inputs.slice(0, this.maxPapersPerRequest);
    const leftOut: LeftOut[] = [];
    if (inputs.length > capped.length) {
      leftOut.push({
        inputs: inputs.slice(capped.length),
        reason: `${command} takes at most ${this.maxPapersPerRequest} papers at once (ADD_MAX_PAPERS); add the rest in another request, or with \`papercord add\` on the server`,
      });
    }
    if (capped.length === 0) return { admitted: [], leftOut };
    const granted = this.members.takeUpTo(userId, capped.length);
    if (granted === 0) {
      throw new UserError(`You are adding papers too often: try again in ${this.members.waitSeconds(userId)} s.`);
    }
    if (granted < capped.length) {
      leftOut.unshift({
        inputs: capped.slice(granted),
        reason: `you may add ${granted} more paper${granted === 1 ? '' : 's'} for now; try the rest again in ${this.members.waitSeconds(userId, capped.length - granted)} s`,
      });
    }
    return { admitted: capped.slice(0, granted), leftOut };
  }

  /** How many of `wanted` papers posted in a channel link pickup may add now (0 when the channel's allowance is spent). */
  admitChannel(channelId: string, wanted: number): number {
    return this.channels.takeUpTo(channelId, Math.min(wanted, this.maxPapersPerRequest));
  }

  /** Seconds until link pickup in a channel may add a paper again. */
  channelWaitSeconds(channelId: string): number {
    return this.channels.waitSeconds(channelId);
  }
}

/** "2501.00021, 2501.00022, … and 78 more": the inputs left out, short enough for one line of a reply. */
export function describeLeftOut(leftOut: LeftOut, shown = 5): string {
  const listed = leftOut.inputs.slice(0, shown).map((input) => `\`${input.slice(0, 60).replaceAll('`', "'")}\``);
  const more = leftOut.inputs.length - listed.length;
  const count = leftOut.inputs.length;
  return `⏭️ ${count} not added (${listed.join(', ')}${more > 0 ? `, … and ${more} more` : ''}): ${leftOut.reason}.`;
}

export interface IntakeQueueOptions {
  /** Requests worked on at once (`INTAKE_CONCURRENCY`). */
  concurrency: number;
  /** Requests that may wait their turn (`INTAKE_QUEUE_MAX`); one more is refused as busy. */
  maxWaiting: number;
  now?: () => number;
  /** Assumed length of one intake request until some have been measured, for the "try again in N s" estimate. */
  initialRunSeconds?: number;
}

export const DEFAULT_INTAKE_QUEUE_OPTIONS = { now: () => Date.now(), initialRunSeconds: 10 } as const;

/** A place in the intake queue: wait for `started`, do the work, then `release()` (however the work ends). */
export interface IntakeTurn {
  /** Resolves when this request may run. */
  readonly started: Promise<void>;
  /** Requests ahead of this one when it entered (0: it runs at once). */
  readonly ahead: number;
  release(): void;
}

/**
 * One bounded queue per bot process for intake requests: `concurrency` run, `maxWaiting` wait, and one more is told
 * how long to wait instead of piling up (each waiting request holds a Discord interaction and, for PDFs, a download).
 */
export class IntakeQueue {
  private readonly options: Required<IntakeQueueOptions>;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Moving average of how long a request runs, in ms. */
  private typicalRunMs: number;

  constructor(options: IntakeQueueOptions) {
    this.options = { ...DEFAULT_INTAKE_QUEUE_OPTIONS, ...definedOnly(options) };
    this.typicalRunMs = this.options.initialRunSeconds * 1000;
  }

  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Takes a place, or throws a UserError ("busy, try again in N s") when the queue is full. */
  enter(): IntakeTurn {
    const ahead = this.running + this.waiting.length;
    if (this.running >= this.options.concurrency && this.waiting.length >= this.options.maxWaiting) {
      const turnsAhead = Math.ceil((this.waiting.length + 1) / this.options.concurrency);
      const waitSeconds = Math.max(1, Math.ceil((turnsAhead * this.typicalRunMs) / 1000));
      throw new UserError(`I am busy adding other papers: try again in ${waitSeconds} s.`);
    }
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let startedAt = 0;
    let start!: () => void;
    const started = new Promise<void>((resolve) => {
      start = () => {
        state = 'running';
        startedAt = this.options.now();
        resolve();
      };
    });
    if (this.running < this.options.concurrency) {
      this.running += 1;
      start();
    } else {
      this.waiting.push(start);
    }
    return {
      started,
      ahead,
      release: () => {
        if (state === 'done') return;
        if (state === 'waiting') {
          const index = this.waiting.indexOf(start);
          if (index >= 0) this.waiting.splice(index, 1);
        } else {
          this.typicalRunMs = 0.8 * this.typicalRunMs + 0.2 * (this.options.now() - startedAt);
          const next = this.waiting.shift();
          if (next) next();
          else this.running -= 1;
        }
        state = 'done';
      },
    };
  }
}

/** Where a request to add papers comes from, as the limits see it. */
export interface IntakeRequester {
  userId: string;
  /** False in direct messages: papers are added from servers only. */
  inServer: boolean;
  /** `/add` or the message command's name, for messages. */
  command: string;
  /** The role `/library adders` requires, when the member lacks it (see `missingAdderRole`). */
  missingRole?: string | undefined;
}

/** What `missingAdderRole` needs to know about a member. */
export interface MemberStanding {
  hasRole(roleId: string): boolean;
  /** Members with Manage Server may always add: they are the ones who set the role. */
  managesServer: boolean;
}

/**
 * The role a member needs to add papers in their server and lacks (undefined when they may add): everyone may,
 * unless `/library adders role:<role>` named one.
 */
export function missingAdderRole(
  store: Pick<LinkChannelStore, 'adderRole'>,
  guildId: string | null,
  member: MemberStanding,
): string | undefined {
  const roleId = guildId === null ? undefined : store.adderRole(guildId);
  return roleId === undefined || member.managesServer || member.hasRole(roleId) ? undefined : roleId;
}

/** A member's roles as an interaction or a message carries them (a cached member, or the raw one Discord sent). */
export function memberStanding(
  member: GuildMember | APIInteractionGuildMember | null,
  permissions: Readonly<PermissionsBitField> | null,
): MemberStanding {
  return {
    hasRole: (roleId) =>
      member === null
        ? false
        : Array.isArray(member.roles)
          ? member.roles.includes(roleId)
          : member.roles.cache.has(roleId),
    managesServer: permissions?.has(PermissionFlagsBits.ManageGuild) ?? false,
  };
}

/** A request that passed the limits: its turn in the queue and what it may add. */
export interface AdmittedIntake extends Admission {
  turn: IntakeTurn;
}

/**
 * Everything a member's request to add papers must pass before it is acknowledged, each refusal a UserError the
 * member sees privately: a server (not a DM), room in the queue, and the member's allowance.
 */
export function admitIntake(
  limits: IntakeLimits,
  requester: IntakeRequester,
  inputs: readonly string[],
): AdmittedIntake {
  if (!requester.inServer) throw new UserError('Papers are added from a server, not in direct messages.');
  if (requester.missingRole !== undefined)
    throw new UserError(
      `Only members with the <@&${requester.missingRole}> role may add papers in this server (\`/library adders\`).`,
    );
  const turn = limits.queue.enter();
  try {
    return { ...limits.admitMember(requester.userId, inputs, requester.command), turn };
  } catch (error) {
    turn.release();
    throw error;
  }
}

/** A reply with a line for each group of inputs left out, within Discord's 2,000 characters. */
export function withLeftOut<Reply extends { content: string }>(reply: Reply, leftOut: readonly LeftOut[]): Reply {
  if (leftOut.length === 0) return reply;
  // Right under the summary line, so that a long list of failures cannot push them out of the message.
  const [summary = '', ...rest] = reply.content.split('\n');
  const content = [summary, ...leftOut.map((group) => describeLeftOut(group)), ...rest].join('\n');
  return { ...reply, content: content.length > 2000 ? `${content.slice(0, 1999)}…` : content };
}
