import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { readBibtex } from '../../src/papers/formats/bibtex.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

const EPHEMERAL = 64;
const MRT5 = {
  id: 'arxiv:2410.20771',
  arxivId: '2410.20771',
  primaryCategory: 'cs.CL',
  // Not the seed MrT5's title: a paper with a seed's title is merged into it, under the seed's id.
  title: 'MrT5 Companion: Token Merging for Byte-level Models, Revisited',
  abstract: 'Dynamic token merging deletes redundant byte tokens early in the encoder & halves sequence length.',
  source: 'test',
  authors: ['Julie Kallini', 'Róbert Csordás'],
  publishedAt: '2024-10-28T00:00:00.000Z',
};

let harness: BotHarness;

beforeAll(async () => {
  harness = await startBotHarness();
  await harness.services.library.add([MRT5]);
});
afterAll(async () => {
  await harness?.close();
});

const settled = (record: InteractionRecord) =>
  (record.original?.attachments.length ?? 0) > 0 || record.followUps.length > 0 || record.callbackType === 4;

async function exportCommand(options: Record<string, string>): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand('export', { options });
  return harness.emulator.waitForInteraction(record.id, settled);
}

/** The file a member downloads from the reply. */
async function attachedFile(record: InteractionRecord): Promise<{ name: string; text: string }> {
  const attachment = record.original!.attachments[0] as { filename: string; url: string };
  return { name: attachment.filename, text: await (await fetch(attachment.url)).text() };
}

describe('/export', () => {
  it('given papers by id and by link, it should reply with a BibTeX file that reads back as those papers, pinging nobody', async () => {
    const record = await exportCommand({
      format: 'bibtex',
      papers: 'https://arxiv.org/abs/2410.20771v2, Zero-Shot Tokenizer Transfer',
    });

    expect(record.original?.content).toBe('2 papers as bibtex.');
    const file = await attachedFile(record);
    expect(file.name).toBe('papercord-export.bib');
    expect(file.text).toContain('@misc{kallini2024mrt5,');
    expect(file.text).toMatch(/primaryClass\s+= \{cs\.CL\}/);
    const { papers } = await readBibtex(file.text, file.name);
    expect(papers.map((paper) => paper.title)).toEqual([MRT5.title, 'Zero-Shot Tokenizer Transfer']);
    const edit = harness.emulator.requests.find(
      (request) => request.method === 'PATCH' && request.route.includes(record.token),
    );
    expect(edit?.body?.allowed_mentions).toEqual({ parse: [] });
  });

  it('given a query, it should attach the papers the search finds as RIS', async () => {
    const record = await exportCommand({ format: 'ris', query: 'byte-level token merging' });

    const file = await attachedFile(record);
    expect(file.name).toBe('papercord-export.ris');
    expect(file.text).toMatch(/^TY {2}- /);
    expect(file.text).toContain(`TI  - ${MRT5.title}\r\n`);
  });

  it('given neither query nor papers, or too many papers, it should answer only the user, saying what to give', async () => {
    const neither = await exportCommand({ format: 'csl-json' });
    const many = await exportCommand({
      format: 'csl-json',
      papers: Array.from({ length: 26 }, (_, index) => `paper ${index}`).join(', '),
    });

    for (const record of [neither, many]) expect(Number(record.original?.flags) & EPHEMERAL).toBe(EPHEMERAL);
    expect(neither.original?.content).toBe(
      'Give `query:` (a search) or `papers:` (ids, links or titles), or use /export in a /read thread.',
    );
    expect(many.original?.content).toBe('That is 26 papers; at most 25 at once. Please name fewer.');
  });

  it('given a list being typed, it should suggest papers for the last name, keeping the ones before', async () => {
    const record = harness.emulator.dispatchAutocomplete('export', {
      options: { format: 'bibtex', papers: 'arxiv:2410.20771, tokenizer transf' },
      focused: 'papers',
    });
    const done = await harness.emulator.waitForInteraction(record.id, (candidate) => candidate.callbackType === 8);

    const choices = (done.callbackBody?.data as { choices: Array<{ name: string; value: string }> }).choices;
    expect(choices[0]).toMatchObject({
      name: 'Zero-Shot Tokenizer Transfer',
      value: expect.stringMatching(/^arxiv:2410\.20771, /),
    });
  });
});
