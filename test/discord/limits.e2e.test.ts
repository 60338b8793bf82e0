import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAICompatibleServer, type OpenAICompatibleServer } from '../helpers/openaiServer.js';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

const EPHEMERAL = 64;
const PAPER = 'Zero-Shot Tokenizer Transfer';
const LLM_TLDR = 'Swaps in a new tokenizer without retraining the model.';

/** The final state of /paper: the deferred reply edited with its embed, or an immediate (ephemeral) reply. */
function settled(record: InteractionRecord): boolean {
  return (record.original?.embeds.length ?? 0) > 0 || record.callbackType === 4;
}

async function paperTwice(harness: BotHarness): Promise<[InteractionRecord, InteractionRecord]> {
  const first = harness.emulator.dispatchCommand('paper', { options: { paper: PAPER } });
  await harness.emulator.waitForInteraction(first.id, settled, 20_000);
  const second = harness.emulator.dispatchCommand('paper', { options: { paper: PAPER } });
  await harness.emulator.waitForInteraction(second.id, settled, 20_000);
  return [first, second];
}

function tldrOf(record: InteractionRecord): string | undefined {
  return ((record.original?.embeds[0] as APIEmbed | undefined)?.fields ?? []).find((field) => field.name === 'TL;DR')
    ?.value;
}

describe('/paper with a language model configured', () => {
  let llm: OpenAICompatibleServer;
  let harness: BotHarness;

  beforeAll(async () => {
    llm = await startOpenAICompatibleServer();
    llm.script({ kind: 'text', content: LLM_TLDR });
    harness = await startBotHarness({
      env: {
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.baseURL,
        LLM_MODEL: 'test-model',
        LLM_API_KEY: 'sk-test',
        LLM_TIMEOUT_MS: '5000',
        ASK_COOLDOWN_SECONDS: '60',
        ASK_BURST: '1',
      },
    });
  });

  afterAll(async () => {
    await harness?.close();
    await llm?.close();
  });

  it('given two /paper in a row from one user, it should answer the first with the model TL;DR and tell them privately to wait for the second', async () => {
    const [first, second] = await paperTwice(harness);

    expect(tldrOf(first)).toBe(LLM_TLDR);
    expect(second.callbackType).toBe(4);
    const data = second.callbackBody?.data as { content: string; flags: number };
    expect(data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(data.content).toMatch(/^You are asking too often: try again in \d+ s\.$/);
    // The refused command never reached the (paid) model.
    expect(llm.requests).toHaveLength(1);
  });
});

describe('/paper without a language model', () => {
  let harness: BotHarness;

  beforeAll(async () => {
    harness = await startBotHarness({ env: { LLM_PROVIDER: 'none', ASK_COOLDOWN_SECONDS: '60', ASK_BURST: '1' } });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('given two /paper in a row from one user, it should answer both: without a model a TL;DR costs nothing', async () => {
    const [first, second] = await paperTwice(harness);

    expect(tldrOf(first)).toBeTruthy();
    expect(tldrOf(second)).toBe(tldrOf(first));
    expect(second.callbackType).toBe(5);
  });
});
