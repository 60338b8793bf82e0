import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import type { EmulatedMessage, EmulatedUser, InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { nextSnowflake } from '../../src/emulator/snowflake.js';
import { ArxivStandIn } from '../helpers/arxivServer.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

/**
 * Issue 24's done-when, through the Discord emulator: members follow things, `/add` brings papers, and each member
 * with a matching follow gets one DM naming the paper and why, the bot never pinging anyone.
 */
let arxiv: ArxivStandIn;
let harness: BotHarness;

const member = (username: string): EmulatedUser => ({ id: nextSnowflake(), username });
const topicReader = member('topic-reader');
const authorReader = member('author-reader');
const questionReader = member('question-reader');
const elsewhereReader = member('elsewhere-reader');

const DIFFUSION = {
  id: '2512.00001',
  title: 'Diffusion Language Models Learn to Write Code',
  abstract:
    'We train diffusion language models for code generation. Denoising whole programs in parallel, the diffusion ' +
    'language model matches autoregressive baselines on code benchmarks while decoding three times faster.',
  authors: ['Lena Fischer', 'Omar Haddad'],
  published: '2026-12-07T00:00:00Z',
};
const ROUTING = {
  id: '2512.00002',
  title: 'How Sparse Mixture-of-Experts Models Route Tokens to Experts',
  abstract:
    'We study how the router of a sparse mixture-of-experts model routes tokens to experts. Routing decisions ' +
    'depend mostly on token identity, and experts specialize early in training.',
  authors: ['Priya Raman'],
  published: '2026-12-07T00:00:00Z',
};

beforeAll(async () => {
  arxiv = await ArxivStandIn.start([DIFFUSION, ROUTING]);
  harness = await startBotHarness({
    env: {
      ARXIV_API_BASE: arxiv.baseUrl,
      HF_API_BASE: arxiv.baseUrl,
      ARXIV_REQUEST_INTERVAL_MS: '0',
      ...(process.env.FEED_E2E_DEBUG ? { LOG_LEVEL: 'info' } : {}),
    },
    feedTickMs: 200,
    ...(process.env.FEED_E2E_DEBUG ? { logger: createLogger(loadConfig({ LOG_LEVEL: 'debug' })) } : {}),
  });
});
afterAll(async () => {
  await harness?.close();
  await arxiv?.close();
});

function replyText(record: InteractionRecord): string {
  const body = (record.originalEdits.at(-1) ?? record.callbackBody?.data ?? {}) as { content?: string };
  return body.content ?? '';
}

/** Runs a command as `user` and resolves with its settled reply. */
async function command(
  user: EmulatedUser,
  name: string,
  subcommand: string,
  options: Record<string, string> = {},
): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand(name, { user, subcommand, options });
  return harness.emulator.waitForInteraction(
    record.id,
    (changed) => changed.callbackType === 4 || (changed.callbackType === 5 && changed.originalEdits.length > 0),
    20_000,
  );
}

const titlesOf = (message: EmulatedMessage) => (message.embeds as APIEmbed[]).map((embed) => embed.title ?? '');
const descriptionsOf = (message: EmulatedMessage) =>
  (message.embeds as APIEmbed[]).map((embed) => embed.description ?? '').join('\n');

describe('the research feed', () => {
  it('given four instant members following a topic, an author, a question and something else, it should DM each of the first three the right paper once, with why, and nobody else', async () => {
    for (const user of [topicReader, authorReader, questionReader, elsewhereReader]) {
      expect(replyText(await command(user, 'feed', 'settings', { frequency: 'instant' }))).toContain('as soon as');
    }
    expect(replyText(await command(topicReader, 'follow', 'topic', { text: 'diffusion language models' }))).toContain(
      'You now follow topic "diffusion language models"',
    );
    expect(replyText(await command(authorReader, 'follow', 'author', { name: 'Lena Fischer' }))).toContain(
      'You now follow author Lena Fischer',
    );
    expect(
      replyText(
        await command(questionReader, 'follow', 'question', {
          text: 'How do mixture-of-experts models route tokens to experts?',
        }),
      ),
    ).toContain('You now follow question');
    expect(
      replyText(await command(elsewhereReader, 'follow', 'topic', { text: 'protein structure prediction' })),
    ).toContain('You now follow topic');

    const added = await command(member('adder'), 'add', '', { papers: `${DIFFUSION.id} ${ROUTING.id}` }).catch(
      () => undefined,
    );
    expect(added).toBeDefined();

    const toTopic = await harness.emulator.waitForDirectMessage(topicReader.id, () => true, 60_000);
    const toAuthor = await harness.emulator.waitForDirectMessage(authorReader.id, () => true, 60_000);
    const toQuestion = await harness.emulator.waitForDirectMessage(questionReader.id, () => true, 60_000);
    expect(titlesOf(toTopic)).toEqual([`1. ${DIFFUSION.title}`]);
    expect(descriptionsOf(toTopic)).toMatch(/\*\*Why\*\* .*diffusion language models/);
    expect(titlesOf(toAuthor)).toEqual([`1. ${DIFFUSION.title}`]);
    expect(descriptionsOf(toAuthor)).toMatch(/\*\*Why\*\* by Lena Fischer/);
    expect(titlesOf(toQuestion)).toEqual([`1. ${ROUTING.title}`]);
    expect(descriptionsOf(toQuestion)).toMatch(/\*\*Why\*\* .+/);

    // The add's matches were recorded together: one more round delivers nothing new, to anyone.
    await harness.feed.deliveries!.deliverDue();
    expect(harness.emulator.directMessagesTo(elsewhereReader.id)).toEqual([]);
    for (const user of [topicReader, authorReader, questionReader])
      expect(harness.emulator.directMessagesTo(user.id)).toHaveLength(1);
    expect(harness.feed.store.unseen(elsewhereReader.id)).toEqual([]);

    const sends = harness.emulator.requests.filter(
      (request) =>
        request.method === 'POST' && /^\/channels\/\d+\/messages$|\/callback$|^\/webhooks\//.test(request.route),
    );
    expect(sends.length).toBeGreaterThan(0);
    for (const request of sends) {
      const body = (request.body?.data ?? request.body) as
        { allowed_mentions?: unknown; content?: unknown } | undefined;
      if (body?.content !== undefined) expect(body.allowed_mentions).toEqual({ parse: [] });
    }
  }, 180_000);

  it('given 👍 on a delivered paper, it should record the feedback; /feed reset forgets it and keeps the follows', async () => {
    const delivered = harness.emulator.directMessagesTo(topicReader.id)[0]!;
    const click = harness.emulator.dispatchButton(delivered, `feed:like:arxiv:${DIFFUSION.id}`, { user: topicReader });
    const answered = await harness.emulator.waitForInteraction(click.id, (record) => record.callbackType === 4);
    expect(replyText(answered)).toContain('more like this');
    expect(harness.feed.store.feedback(topicReader.id)).toEqual([
      { paperId: `arxiv:${DIFFUSION.id}`, verdict: 'like' },
    ]);

    expect(replyText(await command(topicReader, 'feed', 'reset'))).toContain('Forgot 1');
    expect(harness.feed.store.feedback(topicReader.id)).toEqual([]);
    expect(harness.feed.store.follows(topicReader.id)).toHaveLength(1);
  });

  it('given a member whose DMs are closed, it should keep their papers, say so on their next command, and show them in /feed now', async () => {
    const closed = member('closed-dms');
    harness.emulator.setDmsClosed(closed.id);
    await command(closed, 'feed', 'settings', { frequency: 'instant' });
    await command(closed, 'follow', 'author', { name: 'Priya Raman' });
    await command(member('adder'), 'add', '', { papers: ROUTING.id });
    // Already in the library: /add stores nothing new, so nothing matches; a new paper by her comes from arXiv.
    arxiv.records.set('2512.00003', { ...ROUTING, id: '2512.00003', title: 'Experts That Route Themselves' });
    await command(member('adder'), 'add', '', { papers: '2512.00003' });
    await expect.poll(() => harness.feed.store.settings(closed.id).dmsClosedAt, { timeout: 30_000 }).not.toBeNull();

    const next = harness.emulator.dispatchCommand('follow', { user: closed, subcommand: 'list' });
    const notice = await harness.emulator.waitForInteraction(next.id, (record) => record.followUps.length > 0);
    expect(String(notice.followUps[0]!.content)).toContain('your DMs are closed');

    const now = await command(closed, 'feed', 'now');
    expect(((now.callbackBody?.data as { embeds?: APIEmbed[] }).embeds ?? []).map((embed) => embed.title)).toEqual([
      '1. Experts That Route Themselves',
    ]);
    expect(harness.emulator.directMessagesTo(closed.id)).toEqual([]);
    expect(replyText(await command(closed, 'feed', 'now'))).toContain('Nothing new');
  });

  it('given /feed forget confirmed with its button, it should leave no row about the member in the database', async () => {
    const asked = await command(questionReader, 'feed', 'forget');
    expect(replyText(asked)).toContain('cannot be undone');
    const confirm = harness.emulator.dispatchButton(asked.original!, 'feed:forget:confirm', { user: questionReader });
    expect(
      replyText(await harness.emulator.waitForInteraction(confirm.id, (record) => record.callbackType === 4)),
    ).toContain('deleted');
    expect(Object.values(harness.feed.store.rowsAbout(questionReader.id))).toEqual([0, 0, 0, 0, 0]);
    expect(harness.feed.store.follows(authorReader.id)).toHaveLength(1);
  });
});
