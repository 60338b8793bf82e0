/**
 * A hostile PDF attached to /add, through the Discord emulator: the member is told privately which limit it broke,
 * and while it is being read another member's /ask is acknowledged and answered.
 */
import type { APIEmbed } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { makeDecompressionBombPdf } from '../helpers/hostilePdfs.js';

const EPHEMERAL = 1 << 6;
const ADDER = { id: '300000000000000001', username: 'adder' };
const ASKER = { id: '300000000000000002', username: 'asker' };

let harness: BotHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const answered = (record: InteractionRecord) =>
  ((record.original?.embeds[0] as APIEmbed | undefined)?.footer?.text ?? '').startsWith('Model:');
const refusedPrivately = (record: InteractionRecord) => record.followUps.length > 0;

describe('a hostile PDF through /add', () => {
  it('given a decompression bomb, it should tell only the member that it breaks PDF_MAX_DECOMPRESSED_MB', async () => {
    harness = await startBotHarness({});
    const bomb = await makeDecompressionBombPdf();

    const adding = harness.emulator.dispatchCommand('add', {
      attachments: { pdf: { filename: 'bomb.pdf', bytes: bomb } },
      user: ADDER,
    });

    const record = await harness.emulator.waitForInteraction(adding.id, refusedPrivately, 60_000);
    const [refusal] = record.followUps;
    expect(Number(refusal!.flags) & EPHEMERAL).toBe(EPHEMERAL);
    expect(refusal!.content).toBe(
      '1 not added.\n⚠️ `bomb.pdf`: bomb.pdf decompresses to more than 200 MB, the limit for one PDF (PDF_MAX_DECOMPRESSED_MB); nothing was added',
    );
    expect(record.originalDeleted).toBe(true);
  });

  it("given a bomb that reaches the PDF reader, another member's /ask should be answered while it is read, then the bomb refused", async () => {
    // The decompression budget is lifted so the reader grinds until its memory or time runs out.
    harness = await startBotHarness({
      env: { PDF_MAX_DECOMPRESSED_MB: '100000', PDF_PARSE_MEMORY_MB: '1024', PDF_PARSE_TIMEOUT_MS: '20000' },
    });
    const { emulator } = harness;
    const bomb = await makeDecompressionBombPdf();

    const adding = emulator.dispatchCommand('add', {
      attachments: { pdf: { filename: 'bomb.pdf', bytes: bomb } },
      user: ADDER,
    });
    await emulator.waitForInteraction(adding.id, (record) => record.acknowledgedAt !== undefined, 10_000);
    const asking = emulator.dispatchCommand('ask', {
      options: { question: 'How do byte-level models avoid very long sequences?' },
      user: ASKER,
    });

    const question = await emulator.waitForInteraction(asking.id, answered, 60_000);
    expect(question.acknowledgedAt).toBeDefined();
    expect(emulator.interactions.get(adding.id)!.followUps).toEqual([]);
    const refused = await emulator.waitForInteraction(adding.id, refusedPrivately, 60_000);
    expect(refused.followUps[0]!.content).toMatch(/the limit for one PDF \(PDF_PARSE_(MEMORY_MB|TIMEOUT_MS)\)/);
  });
});
