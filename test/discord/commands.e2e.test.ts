import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionRecord, RecordedRequest } from '../../src/emulator/discordEmulator.js';
import { mentionsThatWouldPing } from '../../src/emulator/payloads.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

const EPHEMERAL = 64;
const LINKED_PAPER = {
  id: 'arxiv:2410.20771',
  arxivId: '2410.20771',
  title: 'MrT5 Companion: Byte-Level Token Merging Revisited',
  abstract:
    'We revisit dynamic token merging for byte-level language models. Deleting redundant byte tokens early in the encoder shortens sequences by half while keeping accuracy on downstream tasks.',
  source: 'test',
  url: 'https://arxiv.org/abs/2410.20771',
  authors: ['Ada Lovelace', 'Alan Turing'],
};

let harness: BotHarness;

beforeAll(async () => {
  harness = await startBotHarness();
  await harness.services.library.add([LINKED_PAPER]);
});

afterAll(async () => {
  await harness?.close();
});

/** The final state of a deferred command: its reply edited with embeds (or an ephemeral error follow-up). */
function settled(record: InteractionRecord): boolean {
  return (record.original?.embeds.length ?? 0) > 0 || record.followUps.length > 0 || record.callbackType === 4;
}

/** Describes DynamicRetriever in other words than its abstract: the library has only a loose match. */
const LOOSE_QUESTION =
  'is there a paper where the search engine is just one big model that memorized the whole doc collection in its weights?';

async function run(command: string, options: Record<string, string | number> = {}): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand(command, { options });
  return harness.emulator.waitForInteraction(record.id, settled);
}

function firstEmbed(record: InteractionRecord): APIEmbed {
  return (record.original?.embeds[0] ?? {}) as APIEmbed;
}

function fieldValues(embed: APIEmbed): string {
  return (embed.fields ?? []).map((field) => `${field.name}: ${field.value}`).join('\n');
}

/** Every request the bot made that carries message text. */
function sentMessages(): RecordedRequest[] {
  return harness.emulator.requests.filter(
    (request) =>
      request.body &&
      (typeof request.body.content === 'string' ||
        Array.isArray(request.body.embeds) ||
        typeof request.body.data === 'object'),
  );
}

describe('slash commands against the emulated Discord', () => {
  it('given /ask, it should defer at once, then edit @original with an answer citing [1], numbered linked sources and the model', async () => {
    const record = await run('ask', { question: 'How can byte-level models merge tokens to shorten sequences?', k: 3 });

    expect(record.callbackType).toBe(5);
    // The emulator, like Discord, refuses an acknowledgement that comes after 3 s (10062): accepted means in time.
    expect(record.acknowledgedAt).toBeDefined();
    const embed = firstEmbed(record);
    expect(embed.description).toMatch(/\[1\]/);
    expect(fieldValues(embed)).toMatch(/Sources: \*\*\[1\]\*\* /);
    expect(fieldValues(embed)).toContain('](https://arxiv.org/abs/2410.20771)');
    expect(embed.footer?.text).toBe('Model: extractive');
    const edit = harness.emulator.requests.find(
      (request) => request.method === 'PATCH' && request.route.includes(record.token),
    );
    expect(edit?.body?.allowed_mentions).toEqual({ parse: [] });
  });

  it('given /search, it should list matching papers, best first, numbered', async () => {
    const record = await run('search', { query: 'tokenizer transfer zero-shot', k: 3 });

    const description = firstEmbed(record).description ?? '';
    expect(description).toMatch(/^\*\*1\.\*\* /);
    expect(description).toContain('Zero-Shot Tokenizer Transfer');
    expect(description.match(/\*\*\d\.\*\*/g)).toHaveLength(3);
  });

  it('given /search worded unlike any abstract, it should say nothing clearly matches and list the closest papers', async () => {
    const record = await run('search', { query: LOOSE_QUESTION, k: 3 });

    const description = firstEmbed(record).description ?? '';
    // Its chat words ("engine", "doc") are in none of them: the reply names them before the list.
    expect(description).toMatch(
      /^No paper in the library mentions .+\. The closest papers.*:\n\n\*\*1\.\*\* \[DynamicRetriever: /,
    );
    expect(description.match(/\*\*\d\.\*\*/g)).toHaveLength(3);
  });

  it('given /ask worded unlike any abstract, it should answer saying it is unsure and cite the closest papers it used', async () => {
    const record = await run('ask', { question: LOOSE_QUESTION, k: 3 });

    const embed = firstEmbed(record);
    expect(embed.description).toMatch(/^No paper in the library mentions .+\. The closest papers.* are \[1\]/);
    expect(fieldValues(embed)).toMatch(/Sources: \*\*\[1\]\*\* \[DynamicRetriever: /);
  });

  it('given /paper with an id, it should show its title with a link, authors and a TL;DR', async () => {
    const record = await run('paper', { paper: LINKED_PAPER.id });

    const embed = firstEmbed(record);
    expect(embed.title).toBe(LINKED_PAPER.title);
    expect(embed.url).toBe(LINKED_PAPER.url);
    expect(fieldValues(embed)).toContain('Authors: Ada Lovelace, Alan Turing');
    expect(fieldValues(embed)).toMatch(/TL;DR: \S+/);
  });

  it('given /paper on a seed paper captured without a link, it should link an arXiv title search', async () => {
    const record = await run('paper', { paper: 'Zero-Shot Tokenizer Transfer' });

    const embed = firstEmbed(record);
    expect(embed.title).toBe('Zero-Shot Tokenizer Transfer');
    expect(embed.url).toBe('https://arxiv.org/search/?searchtype=title&query=Zero-Shot%20Tokenizer%20Transfer');
  });

  it('given /similar, it should list other papers close to it, never the paper itself', async () => {
    const record = await run('similar', {
      paper: 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
      k: 4,
    });

    const embed = firstEmbed(record);
    expect(embed.title).toContain('MrT5');
    expect(embed.description?.match(/\*\*\d\.\*\*/g)).toHaveLength(4);
    expect(embed.description).not.toContain('](MrT5: Dynamic');
    expect(embed.description?.split('\n').filter((line) => line.includes('MrT5: Dynamic Token Merging'))).toHaveLength(
      0,
    );
  });

  it('given /compare with two papers, it should lay them out side by side: an inline field per paper per aspect', async () => {
    const record = await run('compare', {
      paper_a: 'Zero-Shot Tokenizer Transfer',
      paper_b: 'Token-level Direct Preference Optimization',
    });

    const embed = firstEmbed(record);
    expect(embed.description).toContain('Zero-Shot Tokenizer Transfer');
    const inline = (embed.fields ?? []).filter((field) => field.inline).map((field) => field.name);
    expect(inline).toEqual(
      expect.arrayContaining(['Problem · 1', 'Problem · 2', 'Method · 1', 'Method · 2', 'Limitations · 2']),
    );
    expect(inline).toHaveLength(10);
    expect(fieldValues(embed)).toContain('When to use which');
  });

  it('given /about, it should acknowledge at once, then show the library size, embedder, model and uptime', async () => {
    const record = await run('about');

    expect(record.callbackType).toBe(5);
    const text = fieldValues(firstEmbed(record));
    expect(text).toContain(`Library: ${await harness.services.library.count()} papers`);
    expect(text).toMatch(/Embedder: \S+/);
    expect(text).toContain('Model: extractive');
    expect(text).toMatch(/Uptime: \d+ min/);
  });

  it('given a partial title in a paper option, it should autocomplete matching titles with ids as values', async () => {
    const record = harness.emulator.dispatchAutocomplete('compare', {
      options: { paper_a: 'tokenizer tra' },
      focused: 'paper_a',
    });
    await harness.emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 8);

    const choices = (record.callbackBody?.data as { choices: Array<{ name: string; value: string }> }).choices;
    expect(choices.length).toBeGreaterThan(0);
    expect(choices.length).toBeLessThanOrEqual(25);
    expect(choices[0]).toEqual({ name: 'Zero-Shot Tokenizer Transfer', value: 't:5ca4a9099e1f41a7' });
  });

  it('given an unknown paper, it should acknowledge at once, then tell only the user what did not match and leave no public reply', async () => {
    const record = await run('paper', { paper: 'qwxz plorb' });

    // Looking a paper up is work for a library worker: the interaction is acknowledged before it.
    expect(record.callbackType).toBe(5);
    const [followUp] = record.followUps;
    expect(followUp!.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(followUp!.content).toContain('qwxz plorb');
    expect(record.originalDeleted).toBe(true);
  });

  it('given a question over the length limit, it should refuse ephemerally with both numbers', async () => {
    const record = await run('ask', { question: 'why '.repeat(150) });

    const data = record.callbackBody?.data as { content: string; flags: number };
    expect(data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(data.content).toContain('599 characters long; the limit is 500');
  });

  it('given k outside 1-10, it should refuse ephemerally', async () => {
    const record = await run('search', { query: 'tokens', k: 50 });

    const data = record.callbackBody?.data as { content: string; flags: number };
    expect(data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(data.content).toContain('k must be a whole number from 1 to 10 (got 50)');
  });

  it('given a question containing @everyone and a role mention, it should send nothing that can ping', async () => {
    const before = harness.emulator.requests.length;
    const record = await run('ask', { question: '@everyone @here <@&123456789012345678> what is token merging?' });
    harness.emulator.dispatchMessage(`${harness.emulator.botMention} @everyone what is dynamic tokenization?`);
    await harness.emulator.waitForRequest(
      (request) =>
        request.method === 'POST' &&
        /^\/channels\/\d+\/messages$/.test(request.route) &&
        request.at > record.dispatchedAt,
    );

    const sent = sentMessages().filter((request) => harness.emulator.requests.indexOf(request) >= before);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const request of sent) {
      const body = (request.route.endsWith('/callback') ? request.body?.data : request.body) as
        Record<string, unknown> | undefined;
      if (!body || (body.content === undefined && body.embeds === undefined)) continue;
      expect(body.allowed_mentions).toEqual({ parse: [] });
      expect(mentionsThatWouldPing(body)).toEqual([]);
    }
  });

  it('given a mention with a question, it should answer in a new thread, and answer a follow-up in that thread', async () => {
    const question = harness.emulator.dispatchMessage(
      `${harness.emulator.botMention} which papers learn tokenization end to end?`,
    );
    const threadRequest = await harness.emulator.waitForRequest((request) =>
      request.route.endsWith(`/messages/${question.id}/threads`),
    );
    expect(threadRequest.status).toBe(201);
    expect(threadRequest.body?.name).toBe('which papers learn tokenization end to end?');

    const threadId = question.id;
    const answer = await harness.emulator.waitForBotMessage(threadId);
    expect((answer.embeds[0] as APIEmbed).description).toMatch(/\[1\]/);

    harness.emulator.dispatchMessage('and which of them work on raw bytes?', { channelId: threadId });
    const followUp = await harness.emulator.waitForBotMessage(threadId, (message) => message.id !== answer.id);
    expect((followUp.embeds[0] as APIEmbed).title).toBe('and which of them work on raw bytes?');
    const history = harness.emulator.requests.find(
      (request) => request.method === 'GET' && request.route === `/channels/${threadId}/messages`,
    );
    expect(history?.status).toBe(200);
  });

  it('given a message without text in its thread (a picture, a sticker), it should not answer it, and answer the next question', async () => {
    const question = harness.emulator.dispatchMessage(`${harness.emulator.botMention} what does MrT5 do?`);
    const threadId = question.id;
    const answer = await harness.emulator.waitForBotMessage(threadId);

    harness.emulator.dispatchMessage('', { channelId: threadId });
    harness.emulator.dispatchMessage('does it work on raw bytes?', { channelId: threadId });
    await harness.emulator.waitForBotMessage(
      threadId,
      (message) => message.id !== answer.id && (message.embeds as APIEmbed[]).length > 0,
    );

    const botReplies = (harness.emulator.messages.get(threadId) ?? []).filter(
      (message) => (message.author as { id: string }).id === harness.emulator.bot.id,
    );
    expect(botReplies.map((message) => message.content ?? '')).not.toContain('The question is empty.');
    expect(botReplies).toHaveLength(2);
  });
});
