import { PermissionFlagsBits, type APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedUser, InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { nextSnowflake } from '../../src/emulator/snowflake.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import { createLogger } from '../../src/logger.js';
import { ArxivStandIn, SAMPLE_RECORDS } from '../helpers/arxivServer.js';

/**
 * Intake limits as a member meets them in Discord: the cap per request, the member's and the channel's allowance,
 * the queue, and questions still answered while a flood of links is being handled. The clock the allowances are
 * measured on is the test's, so the seconds the bot names are exact.
 */

const EPHEMERAL = 64;
const ORDINARY = 2248473465835073n;
const admin: EmulatedUser = {
  id: nextSnowflake(),
  username: 'admin',
  permissions: String(ORDINARY | PermissionFlagsBits.ManageGuild),
};
const newMember = (username: string): EmulatedUser => ({ id: nextSnowflake(), username });
const ids = (count: number, from: number) =>
  Array.from({ length: count }, (_, index) => `2502.${String(from + index).padStart(5, '0')}`);

let arxiv: ArxivStandIn;
let harness: BotHarness;
const clock = 1_000_000;
let readersRole: string;
/** A channel of its own for link pickup by role (the flood spends the default channel's allowance). */
let rolesChannel: string;

beforeAll(async () => {
  arxiv = await ArxivStandIn.start(SAMPLE_RECORDS);
  harness = await startBotHarness({
    env: {
      ARXIV_API_BASE: arxiv.baseUrl,
      HF_API_BASE: arxiv.baseUrl,
      ARXIV_REQUEST_INTERVAL_MS: '0',
      ADD_COOLDOWN_SECONDS: '30',
      LINK_PICKUP_BURST: '3',
      LINK_PICKUP_COOLDOWN_SECONDS: '600',
      INTAKE_QUEUE_MAX: '3',
    },
    now: () => clock,
    beforeConnect: (emulator) => {
      readersRole = emulator.addRole('readers');
      rolesChannel = emulator.addChannel({ name: 'reading-group' });
    },
    ...(process.env.DEBUG_LIMITS ? { logger: createLogger({ LOG_LEVEL: 'debug' }) } : {}),
  });
});
afterAll(async () => {
  await harness?.close();
  await arxiv?.close();
});

function replyOf(record: InteractionRecord): { content: string; embeds: APIEmbed[]; flags: number } {
  const body = (record.originalEdits.at(-1) ?? record.callbackBody?.data ?? {}) as {
    content?: string;
    embeds?: APIEmbed[];
    flags?: number;
  };
  return { content: body.content ?? '', embeds: body.embeds ?? [], flags: Number(body.flags ?? 0) };
}

const finalReply = (record: InteractionRecord) =>
  harness.emulator.waitForInteraction(
    record.id,
    (changed) =>
      changed.callbackType === 4 ||
      (changed.originalEdits.at(-1)?.embeds !== undefined &&
        !String(changed.originalEdits.at(-1)?.content ?? '').endsWith('…')),
    20_000,
  );

const privateReply = (record: InteractionRecord) =>
  harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);

/** Every id the bot asked the arXiv stand-in about, in order. */
const idsLookedUp = () => arxiv.apiRequests.flatMap((url) => url.searchParams.get('id_list')?.split(',') ?? []);

describe('/add limits', () => {
  const reader = newMember('reader');

  it('given 100 ids, it should look up only ADD_MAX_PAPERS of them and say which were left out and why', async () => {
    const before = idsLookedUp().length;

    const record = harness.emulator.dispatchCommand('add', {
      options: { papers: ids(100, 1).join(' ') },
      user: reader,
    });

    const { content } = replyOf(await finalReply(record));
    const [summary, leftOut] = content.split('\n');
    expect(summary).toBe('20 not found.');
    expect(leftOut).toBe(
      '⏭️ 80 not added (`2502.00021`, `2502.00022`, `2502.00023`, `2502.00024`, `2502.00025`, … and 75 more): ' +
        '/add takes at most 20 papers at once (ADD_MAX_PAPERS); add the rest in another request, or with `papercord add` on the server.',
    );
    expect(idsLookedUp().slice(before)).toEqual(ids(20, 1));
  });

  it('given a second /add by the same member within the cooldown, it should refuse it privately with the time to wait', async () => {
    const before = idsLookedUp().length;

    const record = harness.emulator.dispatchCommand('add', { options: { papers: '2502.00500' }, user: reader });

    expect(replyOf(await privateReply(record))).toEqual({
      content: 'You are adding papers too often: try again in 30 s.',
      embeds: [],
      flags: EPHEMERAL,
    });
    expect(idsLookedUp().length).toBe(before);
  });

  it('given /add in a direct message with the bot, it should refuse it privately and look nothing up', async () => {
    const before = idsLookedUp().length;

    const record = harness.emulator.dispatchCommand('add', {
      options: { papers: '2502.00600' },
      user: newMember('in-dm'),
      directMessage: true,
    });

    expect(replyOf(await privateReply(record))).toMatchObject({
      content: 'Papers are added from a server, not in direct messages.',
      flags: EPHEMERAL,
    });
    expect(idsLookedUp().length).toBe(before);
  });

  it('given 10,000 ids in /add, it should refuse the request privately, naming the length limit, and look nothing up', async () => {
    const before = idsLookedUp().length;
    const papers = ids(10_000, 1).join(' ');

    const record = harness.emulator.dispatchCommand('add', { options: { papers }, user: newMember('flooder') });

    expect(replyOf(await privateReply(record))).toMatchObject({
      content: `The list of papers is ${papers.length} characters long; the limit is 4000.`,
      flags: EPHEMERAL,
    });
    expect(idsLookedUp().length).toBe(before);
  });

  it('given a message with 10,000 arXiv links, the message command should add at most ADD_MAX_PAPERS and count the rest', async () => {
    const before = idsLookedUp().length;
    const message = harness.emulator.dispatchMessage(
      ids(10_000, 20_000)
        .map((id) => `https://arxiv.org/abs/${id}`)
        .join(' '),
      { author: newMember('poster') },
    );

    const record = harness.emulator.dispatchMessageCommand('Add papers to library', message, {
      user: newMember('clicker'),
    });

    const { content } = replyOf(await finalReply(record));
    expect(content).toMatch(
      /^20 not found\.\n⏭️ 9980 not added \(`2502\.20020`, .* and 9975 more\): Add papers to library takes at most 20/,
    );
    expect(idsLookedUp().length - before).toBe(20);
  });

  it('given the queue full of waiting additions, another member should be told the bot is busy and when to try again', async () => {
    const release = arxiv.hold();
    let queued: InteractionRecord[];
    try {
      // One runs (held at arXiv) and INTAKE_QUEUE_MAX (3) wait.
      queued = [0, 1, 2, 3].map((index) =>
        harness.emulator.dispatchCommand('add', {
          options: { papers: `2502.0070${index}` },
          user: newMember(`q${index}`),
        }),
      );
      for (const record of queued)
        await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 5);

      const refused = harness.emulator.dispatchCommand('add', {
        options: { papers: '2502.00799' },
        user: newMember('late'),
      });

      expect(replyOf(await privateReply(refused))).toMatchObject({
        content: expect.stringMatching(/^I am busy adding other papers: try again in \d+ s\.$/),
        flags: EPHEMERAL,
      });
    } finally {
      release();
    }
    // The queue empties once arXiv answers: every waiting member gets their reply.
    for (const record of queued) expect(replyOf(await finalReply(record)).content).toMatch(/^1 not found\.\n/);
  });
});

describe('link pickup under a flood', () => {
  it('given 200 linked papers posted in a switched-on channel, it should pick up only the channel allowance and keep answering /ask meanwhile', async () => {
    const on = harness.emulator.dispatchCommand('library', { subcommandGroup: 'links', subcommand: 'on', user: admin });
    await privateReply(on);
    const before = idsLookedUp().length;

    const release = arxiv.hold();
    let flood: Array<{ id: string }>;
    try {
      flood = ids(200, 40_000).map((id, index) =>
        harness.emulator.dispatchMessage(`look https://arxiv.org/abs/${id}`, { author: newMember(`spam${index % 7}`) }),
      );
      // Asked after the flood, answered while the picked-up papers still wait for arXiv.
      const ask = harness.emulator.dispatchCommand('ask', {
        options: { question: 'How do tokenizers change what a model can learn?' },
        user: newMember('asker'),
      });
      const answered = await harness.emulator.waitForInteraction(
        ask.id,
        (changed) => (changed.original?.embeds.length ?? 0) > 0 && changed.originalEdits.length > 0,
        20_000,
      );
      expect(answered.callbackType).toBe(5);
      expect(answered.original?.embeds[0]?.description).toBeTruthy();
      expect(idsLookedUp().length).toBe(before);
    } finally {
      release();
    }

    const picked = flood.slice(0, 3);
    for (const message of picked) expect((await harness.emulator.waitForReaction(message.id)).emoji).toBe('❓');
    // The messages after the allowance was spent were let go at once: a question dispatched after them is answered.
    const later = harness.emulator.dispatchCommand('library', { subcommand: 'status', user: admin });
    await harness.emulator.waitForInteraction(later.id, (changed) => (changed.original?.content ?? '').length > 0);
    expect(idsLookedUp().slice(before)).toEqual(ids(3, 40_000));
    const flooded = new Set(flood.map((message) => message.id));
    expect(harness.emulator.reactions.filter((reaction) => flooded.has(reaction.messageId))).toHaveLength(3);
  });
});

describe('/library adders', () => {
  const ordinary = (username: string, roles: string[] = []): EmulatedUser => ({
    ...newMember(username),
    permissions: String(ORDINARY & ~PermissionFlagsBits.ManageGuild),
    roles,
  });

  it('given a member without Manage Server, it should refuse to choose who may add papers', async () => {
    const record = harness.emulator.dispatchCommand('library', {
      subcommand: 'adders',
      roleOptions: { role: readersRole },
      user: ordinary('eager'),
    });

    expect(replyOf(await privateReply(record))).toMatchObject({
      content: 'You need the Manage Server permission to choose who may add papers.',
      flags: EPHEMERAL,
    });
  });

  it('given a role set by an admin, only members with it should add papers, by /add and by link pickup; unset, everyone again', async () => {
    const set = harness.emulator.dispatchCommand('library', {
      subcommand: 'adders',
      roleOptions: { role: readersRole },
      user: admin,
    });
    expect(replyOf(await privateReply(set)).content).toMatch(
      new RegExp(
        `^Only members with the <@&${readersRole}> role \\(and members with Manage Server\\) may add papers now`,
      ),
    );

    const refused = harness.emulator.dispatchCommand('add', {
      options: { papers: '2502.00900' },
      user: ordinary('outsider'),
    });
    expect(replyOf(await privateReply(refused))).toMatchObject({
      content: `Only members with the <@&${readersRole}> role may add papers in this server (\`/library adders\`).`,
      flags: EPHEMERAL,
    });
    const allowed = harness.emulator.dispatchCommand('add', {
      options: { papers: '2502.00901' },
      user: ordinary('reader', [readersRole]),
    });
    expect(replyOf(await finalReply(allowed)).content).toMatch(/^1 not found\./);

    const on = harness.emulator.dispatchCommand('library', {
      subcommandGroup: 'links',
      subcommand: 'on',
      user: admin,
      channelOptions: { channel: rolesChannel },
    });
    await privateReply(on);
    // Handled in order: once the second message has its reaction, the first was seen and left alone.
    const ignored = harness.emulator.dispatchMessage('https://arxiv.org/abs/2502.00902', {
      author: ordinary('outsider2'),
      channelId: rolesChannel,
    });
    const picked = harness.emulator.dispatchMessage('https://arxiv.org/abs/2502.00903', {
      author: ordinary('reader2', [readersRole]),
      channelId: rolesChannel,
    });
    expect((await harness.emulator.waitForReaction(picked.id)).emoji).toBe('❓');
    expect(harness.emulator.reactions.some((reaction) => reaction.messageId === ignored.id)).toBe(false);
    expect(idsLookedUp()).not.toContain('2502.00902');

    const unset = harness.emulator.dispatchCommand('library', { subcommand: 'adders', user: admin });
    expect(replyOf(await privateReply(unset)).content).toBe('Everyone may add papers now.');
    const again = harness.emulator.dispatchCommand('add', {
      options: { papers: '2502.00904' },
      user: ordinary('outsider3'),
    });
    expect(replyOf(await finalReply(again)).content).toMatch(/^1 not found\./);
  });
});
