import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmulatedMessage, InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { connectBot, startBotHarness, type BotHarness, type ConnectedBot } from '../../bench/support/botHarness.js';

const EPHEMERAL = 64;
const MRT5 = 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models';
const ZETT = 'Zero-Shot Tokenizer Transfer';
/** Byte-level models are the subject of several seed papers besides the two of the session. */
const QUESTION = 'How do byte-level language models avoid very long sequences?';

let harness: BotHarness;
let restarted: ConnectedBot | undefined;

beforeAll(async () => {
  harness = await startBotHarness();
});
afterAll(async () => {
  await restarted?.close();
  await harness?.close();
});

const settled = (record: InteractionRecord) =>
  (record.original?.content ?? '') !== '' || record.followUps.length > 0 || record.callbackType === 4;

async function read(papers: string): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand('read', { options: { papers } });
  return harness.emulator.waitForInteraction(record.id, settled);
}

/** The titles an answer cites: the links of its Sources field. */
function citedTitles(message: EmulatedMessage): string[] {
  const fields = (message.embeds as APIEmbed[]).flatMap((embed) => embed.fields ?? []);
  const sources = fields.map((field) => field.value).join('\n');
  return [...sources.matchAll(/\*\*\[\d+\]\*\* \[([^\]]+)\]\(/g)].map((match) => match[1]!);
}

async function ask(threadId: string, question: string): Promise<EmulatedMessage> {
  const before = (harness.emulator.messages.get(threadId) ?? []).length;
  harness.emulator.dispatchMessage(question, { channelId: threadId });
  return harness.emulator.waitForBotMessage(
    threadId,
    (message) =>
      (harness.emulator.messages.get(threadId) ?? []).indexOf(message) > before &&
      (message.embeds as APIEmbed[]).some((embed) => (embed.fields ?? []).length > 0),
    30_000,
  );
}

describe('/read', () => {
  let threadId: string;

  it('given two papers, it should open a thread listing them and tell only the user where it is', async () => {
    const record = await read(`${MRT5}, ${ZETT}`);

    const created = harness.emulator.requests.find(
      (request) => request.method === 'POST' && request.route === `/channels/${harness.emulator.channelId}/threads`,
    );
    expect(created?.status).toBe(201);
    expect(created?.body?.name).toMatch(/^Reading: MrT5: .+ · Zero-Shot Tokenizer Transfer$/);
    threadId = /<#(\d+)>/.exec(record.original?.content ?? '')![1]!;
    expect(record.original?.content).toBe(`Opened <#${threadId}> on 2 papers: ask there.`);
    expect(Number(record.original?.flags) & EPHEMERAL).toBe(EPHEMERAL);
    const intro = await harness.emulator.waitForBotMessage(threadId);
    expect(intro.embeds[0]?.description).toMatch(
      /\*\*1\.\*\* \[MrT5: [^\n]+\n\*\*2\.\*\* \[Zero-Shot Tokenizer Transfer\]/,
    );
    expect(intro.allowed_mentions).toEqual({ parse: [] });
  });

  it('given a follow-up question in the thread, it should answer with citations to those two papers only', async () => {
    const answer = await ask(threadId, QUESTION);

    const cited = citedTitles(answer);
    expect(cited.length).toBeGreaterThan(0);
    for (const title of cited) expect([MRT5, ZETT]).toContain(title);
    expect(answer.allowed_mentions).toEqual({ parse: [] });
  });

  it('given /export with no options in the thread, it should attach the session papers', async () => {
    const record = harness.emulator.dispatchCommand('export', { options: { format: 'bibtex' }, channelId: threadId });
    const done = await harness.emulator.waitForInteraction(
      record.id,
      (changed) => (changed.original?.attachments.length ?? 0) > 0 || changed.followUps.length > 0,
    );

    expect(done.original?.content).toBe('2 papers as bibtex.');
  });

  it('given more than five papers or a direct message, it should refuse, to the user only', async () => {
    const many = await read('a, b, c, d, e, f');
    const direct = harness.emulator.dispatchCommand('read', { options: { papers: MRT5 }, directMessage: true });
    const inDm = await harness.emulator.waitForInteraction(direct.id, settled);

    expect(many.original?.content).toBe('That is 6 papers; at most 5 at once. Please name fewer.');
    expect(inDm.original?.content).toMatch(/^Reading sessions open as threads, in a server text channel/);
    for (const record of [many, inDm]) expect(Number(record.original?.flags) & EPHEMERAL).toBe(EPHEMERAL);
  });

  it('given "Discuss in a thread" under a /compare reply, it should open a session on the compared papers', async () => {
    const compared = harness.emulator.dispatchCommand('compare', { options: { paper_a: MRT5, paper_b: ZETT } });
    const reply = await harness.emulator.waitForInteraction(
      compared.id,
      (record) => (record.original?.embeds.length ?? 0) > 0,
      30_000,
    );
    const button = (
      reply.original!.components as Array<{ components: Array<{ custom_id: string; label: string }> }>
    )[0]!.components[0]!;
    expect(button.label).toBe('Discuss in a thread');

    const click = harness.emulator.dispatchButton(reply.original!, button.custom_id);
    const opened = await harness.emulator.waitForInteraction(click.id, settled);

    const newThread = /<#(\d+)>/.exec(opened.original?.content ?? '')![1]!;
    const answer = await ask(newThread, QUESTION);
    for (const title of citedTitles(answer)) expect([MRT5, ZETT]).toContain(title);
  });

  it('given the session thread archived, it should end the session: /export there no longer finds its papers', async () => {
    const read2 = await read(`${MRT5}, ${ZETT}`);
    const archivedId = /<#(\d+)>/.exec(read2.original?.content ?? '')![1]!;
    harness.emulator.archiveThread(archivedId);

    await vi.waitFor(
      async () => {
        const record = harness.emulator.dispatchCommand('export', {
          options: { format: 'ris' },
          channelId: archivedId,
        });
        const done = await harness.emulator.waitForInteraction(record.id, settled);
        expect(done.original?.content).toMatch(/^Give `query:` \(a search\) or `papers:`/);
      },
      { timeout: 10_000, interval: 200 },
    );
  });

  it('given a restart of the bot, the thread should still be answered from its two papers only', async () => {
    await harness.bot.stop();
    await harness.backend.close();
    restarted = await connectBot(harness.config.DATA_DIR, harness.emulator.apiBase);

    const answer = await ask(threadId, 'Which of them works on raw bytes, and how?');

    const cited = citedTitles(answer);
    expect(cited.length).toBeGreaterThan(0);
    for (const title of cited) expect([MRT5, ZETT]).toContain(title);
  });
});
