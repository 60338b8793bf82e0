import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAICompatibleServer, type OpenAICompatibleServer } from '../helpers/openaiServer.js';
import type { InteractionRecord, RecordedRequest } from '../../src/emulator/discordEmulator.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

function answered(record: InteractionRecord): boolean {
  return ((record.original?.embeds[0] as APIEmbed | undefined)?.footer?.text ?? '').startsWith('Model:');
}

const isCallbackOf = (record: InteractionRecord) => (request: RecordedRequest) =>
  request.method === 'POST' && request.route === `/interactions/${record.id}/${record.token}/callback`;
const isEditOf = (record: InteractionRecord) => (request: RecordedRequest) =>
  request.method === 'PATCH' && request.route.includes(`/${record.token}/messages/@original`);

describe('acknowledgements before answers', () => {
  let llm: OpenAICompatibleServer;
  let harness: BotHarness;
  let releaseFirstAnswer: () => void;

  beforeAll(async () => {
    llm = await startOpenAICompatibleServer();
    const held = new Promise<void>((resolve) => (releaseFirstAnswer = resolve));
    // The first question's answer is held by the model until the test lets it go; the second's comes at once.
    llm.script(
      {
        kind: 'text',
        content: 'Byte-level models merge bytes into patches [1].',
        holdAfter: { words: 0, until: held },
      },
      { kind: 'text', content: 'Tokenizers can be learned end to end [1].' },
    );
    harness = await startBotHarness({
      env: {
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.baseURL,
        LLM_MODEL: 'test-model',
        LLM_API_KEY: 'sk-test',
        LLM_TIMEOUT_MS: '30000',
      },
      // However long the second acknowledgement takes here, the first answer waits for it.
      acknowledgements: { maxWaitMs: Number.POSITIVE_INFINITY },
    });
  });

  afterAll(async () => {
    releaseFirstAnswer?.();
    await harness?.close();
    await llm?.close();
  });

  it('given an answer ready while a later /ask is still unacknowledged, it should send that acknowledgement before the answer', async () => {
    const { emulator } = harness;
    const first = emulator.dispatchCommand('ask', {
      options: { question: 'How do byte-level models avoid very long sequences?' },
    });
    await vi.waitFor(() => expect(llm.requests).toHaveLength(1), { timeout: 20_000 });

    // Discord makes the second acknowledgement wait a second (a 429 on its callback), and meanwhile the first answer is ready.
    emulator.rateLimit({
      method: 'POST',
      route: /^\/interactions\/\d+\/[^/]+\/callback$/,
      times: 1,
      retryAfterSeconds: 1,
    });
    const second = emulator.dispatchCommand('ask', {
      options: { question: 'Which papers learn tokenization end to end?' },
      user: { id: '200000000000000001', username: 'second' },
    });
    await emulator.waitForRequest((request) => isCallbackOf(second)(request) && request.status === 429, 20_000);
    releaseFirstAnswer();

    await emulator.waitForInteraction(first.id, answered, 20_000);
    await emulator.waitForInteraction(second.id, answered, 20_000);
    const acknowledgedSecond = emulator.requests.findIndex(
      (request) => isCallbackOf(second)(request) && request.status < 300,
    );
    const firstAnswerShown = emulator.requests.findIndex(isEditOf(first));
    expect(acknowledgedSecond).toBeGreaterThanOrEqual(0);
    expect(firstAnswerShown).toBeGreaterThan(acknowledgedSecond);
    // Held, not dropped: the first user got the model's answer.
    expect((first.original?.embeds[0] as APIEmbed).description).toContain('Byte-level models merge bytes into patches');
  });
});
