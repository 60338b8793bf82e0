import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { ArxivServer, fixturePapers, ingestJson } from '../../bench/support/arxivServer.js';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const EPHEMERAL = 64;

let arxiv: ArxivServer;
let harness: BotHarness;
let dir: string;

beforeAll(async () => {
  arxiv = await ArxivServer.start(fixturePapers());
  harness = await startBotHarness({
    env: {
      FULL_TEXT: 'on',
      ARXIV_HTML_BASE: arxiv.htmlBase,
      ARXIV_PDF_BASE: arxiv.pdfBase,
      ARXIV_API_BASE: arxiv.baseUrl,
    },
  });
  dir = await mkdtemp(path.join(tmpdir(), 'papercord-discord-fulltext-'));
  const file = path.join(dir, 'papers.json');
  await writeFile(file, ingestJson(fixturePapers()));
  await harness.services.library.add(await loadPapersFromSource(file));
});

afterAll(async () => {
  await harness?.close();
  await arxiv?.close();
  await rm(dir, { recursive: true, force: true });
});

function settled(record: InteractionRecord): boolean {
  return (record.original?.embeds.length ?? 0) > 0 || record.followUps.length > 0 || record.callbackType === 4;
}

async function run(command: string, options: Record<string, string | number> = {}): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand(command, { options });
  return harness.emulator.waitForInteraction(record.id, settled);
}

function firstEmbed(record: InteractionRecord): APIEmbed {
  return (record.original?.embeds[0] ?? {}) as APIEmbed;
}

function fieldText(embed: APIEmbed): string {
  return (embed.fields ?? []).map((field) => `${field.name}: ${field.value}`).join('\n');
}

describe('/ask and /paper with full text, against the emulated Discord', () => {
  it('given /ask with a paper picked from autocomplete, it should answer from its body and show the section in the embed', async () => {
    const suggest = harness.emulator.dispatchAutocomplete('ask', {
      options: { question: 'x', paper: 'sparse mixture adap' },
      focused: 'paper',
    });
    await harness.emulator.waitForInteraction(suggest.id, (changed) => changed.callbackType === 8);
    const choices = (suggest.callbackBody?.data as { choices: Array<{ name: string; value: string }> }).choices;
    expect(choices[0]).toEqual({
      name: 'SMA-ASR: Sparse Mixture Adapters for Multilingual Speech Recognition',
      value: 'arxiv:2502.11001',
    });

    const record = await run('ask', {
      question: 'What learning rate was used to train the adapters?',
      paper: choices[0]!.value,
    });
    expect(record.callbackType).toBe(5);
    const embed = firstEmbed(record);
    expect(embed.description).toContain('5e-4');
    expect(embed.description).toContain('[1, §4.2]');
    expect(fieldText(embed)).toMatch(
      /Sources: \*\*\[1\]\*\* \[SMA-ASR: Sparse Mixture Adapters for Multilingual Speech Recognition\]\(https:\/\/arxiv\.org\/abs\/2502\.11001\) · §4\.2 Training details/,
    );
    expect(arxiv.requests).toContain('/html/2502.11001');
  });

  it('given /paper on a paper whose full text is stored, it should show its outline', async () => {
    const record = await run('paper', { paper: 'arxiv:2502.11001' });
    const text = fieldText(firstEmbed(record));
    expect(text).toContain('Outline (full text from arXiv HTML): ');
    expect(text).toMatch(/1 Introduction\n2 Related Work\n3 Method\n\u20033\.1 Adapter experts/);
  });

  it('given /paper on a paper without full text, it should show no outline', async () => {
    const record = await run('paper', { paper: 'arxiv:2502.11003' });
    expect(fieldText(firstEmbed(record))).not.toContain('Outline');
  });

  it('given /ask naming a paper that is not in the library, it should acknowledge, then tell only the user, leaving no public reply', async () => {
    const record = await run('ask', { question: 'what learning rate?', paper: 'qwxz plorb' });
    // Looking the paper up is a library worker's job: the interaction is acknowledged before it.
    expect(record.callbackType).toBe(5);
    const [followUp] = record.followUps;
    expect(followUp!.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(followUp!.content).toContain('qwxz plorb');
    expect(record.originalDeleted).toBe(true);
  });
});
