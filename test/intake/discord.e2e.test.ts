import { PermissionFlagsBits, type APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import type { EmulatedUser, InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { nextSnowflake } from '../../src/emulator/snowflake.js';
import { ArxivStandIn, SAMPLE_RECORDS } from '../helpers/arxivServer.js';
import { makePaperPdf, SAMPLE_PAPER } from '../../bench/support/pdfFixtures.js';

let arxiv: ArxivStandIn;
let harness: BotHarness;

/** The library as committed now: the bot's library workers add the papers, and the test's reader takes their commits. */
async function committed(): Promise<PaperLibrary> {
  const library = harness.services.library;
  if (!(library instanceof PaperLibrary)) throw new Error('the intake tests run on the local library');
  await library.refresh();
  return library;
}
/** A channel whose permission overwrite denies the bot Read Message History and Add Reactions. */
let lockedChannel: string;
/** A second channel, link pickup never switched on there. */
let quietChannel: string;

const ORDINARY = 2248473465835073n;
const admin: EmulatedUser = {
  id: nextSnowflake(),
  username: 'admin',
  permissions: String(ORDINARY | PermissionFlagsBits.ManageGuild),
};
const member: EmulatedUser = {
  id: nextSnowflake(),
  username: 'member',
  permissions: String(ORDINARY & ~PermissionFlagsBits.ManageGuild),
};

beforeAll(async () => {
  arxiv = await ArxivStandIn.start([
    ...SAMPLE_RECORDS,
    {
      id: '2501.00003',
      title: 'Picked Up From a Channel',
      abstract: 'A paper somebody linked in chat and the bot added quietly.',
      authors: ['Chatty Person'],
      published: '2025-01-02T00:00:00Z',
    },
    {
      id: '2501.00004',
      title: 'Shared Where Nobody Listens',
      abstract: 'A paper linked in a channel without link pickup.',
      authors: ['Quiet Person'],
      published: '2025-01-03T00:00:00Z',
    },
    {
      id: '2501.00006',
      title: 'Token Budgets for Reading Groups',
      abstract: 'We measure how many tokens a reading group can afford per paper and propose a budgeted summarizer.',
      authors: ['Ada Lovelace', 'Grace Hopper'],
      published: '2025-01-05T00:00:00Z',
      hf: { upvotes: 7, ai_summary: 'A budgeted summarizer for reading groups.' },
    },
    {
      id: '2501.00005',
      title: 'Added From the Context Menu',
      abstract: 'A paper added by right-clicking the message that linked it.',
      authors: ['Clicky Person'],
      published: '2025-01-04T00:00:00Z',
    },
  ]);
  harness = await startBotHarness({
    env: { ARXIV_API_BASE: arxiv.baseUrl, HF_API_BASE: arxiv.baseUrl, ARXIV_REQUEST_INTERVAL_MS: '0' },
    beforeConnect: (emulator) => {
      lockedChannel = emulator.addChannel({
        name: 'locked',
        botDeny: PermissionFlagsBits.ReadMessageHistory | PermissionFlagsBits.AddReactions,
      });
      quietChannel = emulator.addChannel({ name: 'quiet' });
    },
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

describe('/add', () => {
  it('given two links and a PDF attachment, it should add all three and reply with a card for each', async () => {
    const pdf = await makePaperPdf(SAMPLE_PAPER);

    const record = harness.emulator.dispatchCommand('add', {
      options: { papers: 'https://arxiv.org/abs/2501.00006v2 https://huggingface.co/papers/2507.10524' },
      attachments: { pdf: { filename: 'routers.pdf', bytes: pdf } },
    });

    const reply = replyOf(await finalReply(record));
    expect(reply.content).toBe('3 added.');
    expect(reply.embeds.map((embed) => embed.title)).toEqual([
      'Token Budgets for Reading Groups',
      SAMPLE_RECORDS[1]!.title,
      SAMPLE_PAPER.title,
    ]);
    expect(reply.embeds[0]).toMatchObject({ url: 'https://arxiv.org/abs/2501.00006v1' });
    expect(reply.embeds[0]!.description).toContain('*Ada Lovelace, Grace Hopper*');
    // Hugging Face's AI summary is the TL;DR when it has one; else the abstract's first sentence.
    expect(reply.embeds[0]!.description).toContain('**TL;DR** A budgeted summarizer for reading groups.');
    expect(reply.embeds[0]!.footer?.text).toBe('Added to the library · arxiv:2501.00006');
    expect((await committed()).get('arxiv:2501.00006')?.upvotes).toBe(7);
    expect((await committed()).get('arxiv:2507.10524')).toBeDefined();
    expect((await committed()).all().some((paper) => paper.title === SAMPLE_PAPER.title)).toBe(true);
  });

  it('given a paper added before, a seed paper by its arXiv id and an unknown id, it should say present twice and not found', async () => {
    const record = harness.emulator.dispatchCommand('add', {
      options: { papers: 'arXiv:2501.00006 2410.20771 2401.99999' },
    });

    const reply = replyOf(await finalReply(record));
    expect(reply.content).toBe(
      '2 already in the library, 1 not found.\n❓ `2401.99999`: arXiv has no paper 2401.99999',
    );
    expect(reply.embeds[0]!.footer?.text).toBe('Already in the library · arxiv:2501.00006');
    // The seed page has MrT5 without its arXiv id: the arXiv record is recognised by title, not added twice.
    expect(reply.embeds[1]!.title).toBe(SAMPLE_RECORDS[0]!.title);
    expect(reply.embeds[1]!.footer?.text).toMatch(/^Already in the library · t:[0-9a-f]{16}$/);
  });

  it('given many papers, it should show progress in the reply while it looks them up, then the result', async () => {
    const release = arxiv.hold();
    const record = harness.emulator.dispatchCommand('add', {
      options: { papers: '2401.90001 2401.90002 2401.90003 2401.90004 2401.90005' },
    });

    await harness.emulator.waitForInteraction(record.id, (changed) =>
      changed.originalEdits.some((edit) => edit.content === 'Looking up papers on arXiv: 0 of 5…'),
    );
    release();

    const reply = replyOf(await finalReply(record));
    expect(reply.content).toMatch(/^5 not found\./);
  });

  it('given nothing to add, it should tell the user privately', async () => {
    const record = harness.emulator.dispatchCommand('add', {});

    const answered = await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect(replyOf(answered)).toMatchObject({
      content: 'Give me arXiv ids or paper links in `papers`, or attach a PDF.',
      flags: 64,
    });
  });
});

describe('the "Add papers to library" message command', () => {
  it('given a message with a link, it should add the linked paper', async () => {
    const message = harness.emulator.dispatchMessage(
      'this one is great https://arxiv.org/pdf/2501.00005v1 (via a friend)',
      { author: member },
    );

    const record = harness.emulator.dispatchMessageCommand('Add papers to library', message);

    const reply = replyOf(await finalReply(record));
    expect(reply.content).toBe('1 added.');
    expect(reply.embeds[0]!.title).toBe('Added From the Context Menu');
    expect((await committed()).get('arxiv:2501.00005')).toBeDefined();
  });

  it('given a message without links, it should say so privately', async () => {
    const message = harness.emulator.dispatchMessage('no papers here, just chat', { author: member });

    const record = harness.emulator.dispatchMessageCommand('Add papers to library', message);

    const answered = await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect(replyOf(answered)).toMatchObject({
      content: 'That message has no arXiv or Hugging Face paper links and no PDF attachment.',
      flags: 64,
    });
  });
});

describe('link pickup', () => {
  it('given a member without Manage Server, /library links on should refuse and leave pickup off', async () => {
    const record = harness.emulator.dispatchCommand('library', {
      subcommandGroup: 'links',
      subcommand: 'on',
      user: member,
    });

    const answered = await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect(replyOf(answered)).toMatchObject({
      content: 'You need the Manage Server permission to switch link pickup on or off.',
      flags: 64,
    });
    expect(harness.services.linkChannels.isEnabled(harness.emulator.channelId)).toBe(false);
  });

  it('given a channel where the bot lacks permissions, switching it on should name the missing ones and leave it off', async () => {
    const record = harness.emulator.dispatchCommand('library', {
      subcommandGroup: 'links',
      subcommand: 'on',
      user: admin,
      channelOptions: { channel: lockedChannel },
    });

    const answered = await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    expect(replyOf(answered).content).toBe(
      `I can't pick up paper links in <#${lockedChannel}>: I am missing the Read Message History and Add Reactions permissions there. ` +
        'Grant them to my role in the channel settings (Permissions), then try again.',
    );
    expect(harness.services.linkChannels.isEnabled(lockedChannel)).toBe(false);
  });

  it('given pickup switched on, a posted link should be added with a 📚 reaction and no reply, and posted again get ✅; a channel not switched on adds nothing', async () => {
    const on = harness.emulator.dispatchCommand('library', { subcommandGroup: 'links', subcommand: 'on', user: admin });
    const switched = await harness.emulator.waitForInteraction(on.id, (changed) => changed.callbackType === 4);
    expect(replyOf(switched).content).toMatch(/^Link pickup is on in <#\d+>/);
    const botMessagesBefore = (harness.emulator.messages.get(harness.emulator.channelId) ?? []).filter(
      (message) => (message.author as { id: string }).id === harness.emulator.bot.id,
    ).length;

    // First in the quiet channel, then in the switched-on one: messages are handled in order, so once the second
    // has its reaction the first has been seen (and ignored).
    const ignored = harness.emulator.dispatchMessage('have you seen https://arxiv.org/abs/2501.00004 ?', {
      author: member,
      channelId: quietChannel,
    });
    const posted = harness.emulator.dispatchMessage('new paper! https://arxiv.org/abs/2501.00003', { author: member });

    expect((await harness.emulator.waitForReaction(posted.id)).emoji).toBe('📚');
    expect((await committed()).get('arxiv:2501.00003')?.title).toBe('Picked Up From a Channel');
    expect(harness.emulator.reactions.some((reaction) => reaction.messageId === ignored.id)).toBe(false);
    expect((await committed()).get('arxiv:2501.00004')).toBeUndefined();

    const again = harness.emulator.dispatchMessage('reposting https://huggingface.co/papers/2501.00003', {
      author: member,
    });
    expect((await harness.emulator.waitForReaction(again.id)).emoji).toBe('✅');
    const botMessagesAfter = (harness.emulator.messages.get(harness.emulator.channelId) ?? []).filter(
      (message) => (message.author as { id: string }).id === harness.emulator.bot.id,
    ).length;
    expect(botMessagesAfter).toBe(botMessagesBefore);
  });

  it('given pickup switched on, a posted PDF should be added with a 📚 reaction', async () => {
    const pdf = await makePaperPdf({ ...SAMPLE_PAPER, title: 'A Paper Dropped As a PDF in Chat' });

    const posted = harness.emulator.dispatchMessage('slides and paper from today', {
      author: member,
      attachments: [{ filename: 'today.pdf', bytes: pdf }],
    });

    expect((await harness.emulator.waitForReaction(posted.id)).emoji).toBe('📚');
    expect((await committed()).all().some((paper) => paper.title === 'A Paper Dropped As a PDF in Chat')).toBe(true);
  });

  it('given /library status, it should list the switched-on channel, the size and the latest additions', async () => {
    const record = harness.emulator.dispatchCommand('library', { subcommand: 'status', user: member });

    // Acknowledged privately at once; the figures come from a library worker and are edited in.
    const answered = await harness.emulator.waitForInteraction(
      record.id,
      (changed) => (changed.original?.content ?? '').length > 0,
    );
    expect(answered.callbackType).toBe(5);
    expect(answered.original!.flags & 64).toBe(64);
    const { content } = answered.original!;
    expect(content).toContain(`**${(await committed()).count()}** papers in the library.`);
    expect(content).toContain(`Link pickup is on in <#${harness.emulator.channelId}>.`);
    expect(content).toContain('Latest additions:\n- [A Paper Dropped As a PDF in Chat]');
  });
});
