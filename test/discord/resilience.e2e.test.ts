import type { APIEmbed } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAICompatibleServer, type OpenAICompatibleServer } from '../helpers/openaiServer.js';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

const QUESTION = 'How do byte-level models avoid very long sequences?';

function answered(record: InteractionRecord): boolean {
  return ((record.original?.embeds[0] as APIEmbed | undefined)?.footer?.text ?? '').startsWith('Model:');
}

function footer(record: InteractionRecord): string {
  return (record.original?.embeds[0] as APIEmbed).footer?.text ?? '';
}

describe('the bot when Discord misbehaves', () => {
  let harness: BotHarness;

  beforeAll(async () => {
    harness = await startBotHarness({ heartbeatIntervalMs: 500 });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('given the gateway drops mid-answer, it should resume the session, receive what was sent meanwhile and answer both', async () => {
    const { emulator } = harness;
    const first = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await emulator.waitForInteraction(first.id, (record) => record.callbackType === 5);
    const identifiesBefore = emulator.gatewayStats.identifies;

    emulator.dropConnection();
    const sentWhileDown = emulator.dispatchCommand('ask', { options: { question: 'What is dynamic tokenization?' } });

    await emulator.waitForInteraction(first.id, answered);
    await emulator.waitForInteraction(sentWhileDown.id, answered);
    // The emulator, like Discord, refuses an acknowledgement that comes after 3 s (10062): accepted means in time.
    expect(sentWhileDown.acknowledgedAt).toBeDefined();
    expect(emulator.gatewayStats.resumes).toBeGreaterThanOrEqual(1);
    expect(emulator.gatewayStats.identifies).toBe(identifiesBefore);
  });

  it('given op 7 RECONNECT, it should reconnect, resume and keep answering', async () => {
    const { emulator } = harness;
    const resumesBefore = emulator.gatewayStats.resumes;
    emulator.requestReconnect();
    await new Promise<void>((resolve) => harness.bot.client.once('shardResume', () => resolve()));

    const record = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await emulator.waitForInteraction(record.id, answered);
    expect(emulator.gatewayStats.resumes).toBe(resumesBefore + 1);
  });

  it('given an INVALID_SESSION that cannot be resumed, it should identify again and keep answering', async () => {
    const { emulator } = harness;
    const identifiesBefore = emulator.gatewayStats.identifies;
    emulator.invalidateSession(false);
    await waitUntil(() => emulator.gatewayStats.identifies > identifiesBefore);

    const record = emulator.dispatchCommand('search', { options: { query: 'byte-level models' } });
    await emulator.waitForInteraction(record.id, (changed) => (changed.original?.embeds.length ?? 0) > 0);
    expect(emulator.gatewayStats.identifies).toBe(identifiesBefore + 1);
  });

  it('given a 429 with retry_after on the edit route, it should wait it out and the answer should still arrive', async () => {
    const { emulator } = harness;
    emulator.rateLimit({ method: 'PATCH', route: /\/messages\/@original$/, times: 1, retryAfterSeconds: 1 });
    const record = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await emulator.waitForInteraction(record.id, answered, 15_000);

    const edits = emulator.requests.filter(
      (request) => request.method === 'PATCH' && request.route.includes(record.token),
    );
    expect(edits.map((request) => request.status)).toEqual([429, 200]);
    expect((record.original?.embeds[0] as APIEmbed).description).toMatch(/\[1\]/);
  });
});

describe('the bot when the LLM streams or is down', () => {
  let llm: OpenAICompatibleServer;
  let harness: BotHarness;

  beforeAll(async () => {
    llm = await startOpenAICompatibleServer();
    harness = await startBotHarness({
      env: {
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.baseURL,
        LLM_MODEL: 'test-model',
        LLM_API_KEY: 'sk-test',
        LLM_TIMEOUT_MS: '30000',
      },
    });
  });

  afterEach(() => {
    llm.script({ kind: 'text', content: 'OK' });
  });

  afterAll(async () => {
    await harness?.close();
    await llm?.close();
  });

  it('given the LLM answers 500, it should still answer, extractively, saying so in the footer', async () => {
    llm.script({ kind: 'status', status: 500 });
    const record = harness.emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await harness.emulator.waitForInteraction(record.id, answered, 20_000);

    expect(footer(record)).toMatch(/^Model: extractive · The language model was unavailable/);
    expect((record.original?.embeds[0] as APIEmbed).description).toMatch(/\[1\]/);
  });

  it('given a streamed answer, it should show it growing in a few edits, then the final cited answer with the model', async () => {
    const words = Array.from({ length: 300 }, (_, index) => `word${index}`).join(' ');
    // The stream stops after its first words until Discord has shown them, so the reply is seen partial, then whole.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    llm.script({
      kind: 'text',
      content: `Byte-level models merge or delete tokens [1]. ${words} They also chunk dynamically [2].`,
      holdAfter: { words: 20, until: released },
    });
    const record = harness.emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    const description = (index: number) => JSON.stringify(record.originalEdits[index] ?? '');
    await harness.emulator.waitForInteraction(
      record.id,
      (changed) => changed.originalEdits.some((_, index) => description(index).includes('word10')),
      20_000,
    );
    const partial = record.originalEdits.length;
    release();
    await harness.emulator.waitForInteraction(record.id, answered, 20_000);

    expect(description(partial - 1)).toContain('merge or delete tokens');
    expect(description(partial - 1)).not.toContain('word100');
    expect(footer(record)).toBe('Model: openai/test-model');
    expect((record.original?.embeds[0] as APIEmbed).description).toContain('word299 They also chunk dynamically [2]');
    expect(record.originalEdits.length).toBeGreaterThan(partial);
    // 300 streamed chunks; edits are throttled to about one a second, so far fewer reach Discord.
    expect(record.originalEdits.length).toBeLessThan(20);
    expect(llm.requests.at(-1)?.body.stream).toBe(true);
  });

  it('given a 9,000-character answer, it should deliver all of it: the reply edited, the rest as follow-ups Discord accepts', async () => {
    const text = Array.from(
      { length: 175 },
      (_, index) => `Point ${index}: byte-level models merge tokens early [1].`,
    ).join(' ');
    llm.script({ kind: 'text', content: text });
    const record = harness.emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await harness.emulator.waitForInteraction(record.id, (changed) => changed.followUps.length > 0, 20_000);

    const mine = harness.emulator.requests.filter((request) => request.route.includes(record.token));
    expect(mine.every((request) => request.status < 300)).toBe(true);
    const delivered = [record.original!, ...record.followUps].flatMap((message) =>
      message.embeds.map((embed) => (embed as APIEmbed).description ?? ''),
    );
    expect(delivered.join(' ')).toContain('Point 0:');
    expect(delivered.join(' ')).toContain('Point 174:');
  });

  it("given a follow-up in the bot's thread, it should send the thread's earlier turns to the model", async () => {
    llm.script({ kind: 'text', content: 'MrT5 deletes byte tokens early [1].' });
    const { emulator } = harness;
    const opener = emulator.dispatchMessage(`${emulator.botMention} what does MrT5 do?`);
    await emulator.waitForBotMessage(opener.id);
    const requestsBefore = llm.requests.length;

    emulator.dispatchMessage('does it work on raw bytes?', { channelId: opener.id });
    await emulator.waitForBotMessage(
      opener.id,
      (message) => (message.embeds[0] as APIEmbed).title === 'does it work on raw bytes?',
    );

    const prompt = JSON.stringify(llm.requests.slice(requestsBefore).map((request) => request.body.messages));
    expect(prompt).toContain('what does MrT5 do?');
    expect(prompt).toContain('MrT5 deletes byte tokens early');
  });
});

describe('the bot under load from one user', () => {
  let harness: BotHarness;
  // The cooldown's clock, stepped by the test: the seconds it reads do not depend on how fast the machine answers.
  let clock = 1_000_000;

  beforeAll(async () => {
    harness = await startBotHarness({
      env: { ASK_COOLDOWN_SECONDS: '30', ASK_BURST: '2', MAX_CONCURRENT_ANSWERS: '4' },
      now: () => clock,
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('given a member who asked ASK_BURST questions in a row, the next inside the cooldown should be refused ephemerally saying when to try again', async () => {
    const { emulator } = harness;
    for (let question = 0; question < 2; question += 1) {
      const record = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
      await emulator.waitForInteraction(record.id, answered);
    }
    clock += 12_500;
    const second = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
    await emulator.waitForInteraction(second.id, (record) => record.callbackType !== undefined);

    const data = second.callbackBody?.data as { content: string; flags: number };
    expect(data.flags & 64).toBe(64);
    expect(data.content).toBe('You are asking too often: try again in 18 s.');
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
