import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArxivServer, type FixturePaper } from '../../bench/support/arxivServer.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';
import type { EmulatedMessage, InteractionRecord } from '../../src/emulator/discordEmulator.js';
import type { Paper } from '../../src/papers/paper.js';
import { CitationStandIn } from '../helpers/citationServer.js';

const EPHEMERAL = 64;

const fixture = (arxivId: string, title: string): FixturePaper => ({
  arxivId,
  title,
  authors: ['Test Author'],
  abstract: `${title}: an abstract long enough to embed and to be found again by its own words.`,
  sections: [],
});
const asPaper = (paper: FixturePaper): Paper => ({
  id: `arxiv:${paper.arxivId}`,
  arxivId: paper.arxivId,
  title: paper.title,
  abstract: paper.abstract,
  authors: paper.authors,
  source: 'test',
});

const SUBJECT = fixture('2502.21001', 'Graph Adapters: Sparse Mixture Adapters for Speech Recognition');
const HELD = fixture('2502.21002', 'Curriculum Distillation for Small Speech Models');
const MISSING_A = fixture('2601.21003', 'Byte-Level Speech Tokens Without a Vocabulary');
const MISSING_B = fixture('2601.21004', 'Adapters at Scale: A Study of 200 Languages');
const CITING = fixture('2601.21005', 'Revisiting Graph Adapters With Fewer Parameters');

let harness: BotHarness;
let citations: CitationStandIn;
let arxiv: ArxivServer;

beforeAll(async () => {
  citations = await CitationStandIn.start();
  arxiv = await ArxivServer.start([MISSING_A, MISSING_B]);
  citations.addS2({
    arxivId: SUBJECT.arxivId,
    title: SUBJECT.title,
    year: 2025,
    references: [
      { title: HELD.title, arxivId: HELD.arxivId, year: 2025, citationCount: 40 },
      { title: MISSING_A.title, arxivId: MISSING_A.arxivId, year: 2026, citationCount: 7 },
      { title: MISSING_B.title, arxivId: MISSING_B.arxivId, year: 2026, citationCount: 3 },
      { title: 'A Conference Paper [With Brackets]', s2Id: 'feedfacefeedfacefeedfacefeedfacefeedface', year: 2020 },
    ],
    citations: [{ title: CITING.title, arxivId: CITING.arxivId, year: 2026, citationCount: 0 }],
  });
  harness = await startBotHarness({
    env: {
      S2_API_BASE: citations.baseUrl,
      OPENALEX_API_BASE: citations.baseUrl,
      ARXIV_API_BASE: arxiv.baseUrl,
      HF_API_BASE: arxiv.baseUrl,
      ARXIV_REQUEST_INTERVAL_MS: '0',
    },
  });
  await harness.services.library.add([asPaper(SUBJECT), asPaper(HELD)]);
});

afterAll(async () => {
  await harness?.close();
  await citations?.close();
  await arxiv?.close();
});

function settled(record: InteractionRecord): boolean {
  return (
    (record.original?.embeds.length ?? 0) > 0 ||
    Boolean(record.original?.content && !record.original.content.includes('…')) ||
    record.followUps.length > 0 ||
    record.callbackType === 4
  );
}

async function run(command: string, options: Record<string, string>): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand(command, { options });
  return harness.emulator.waitForInteraction(record.id, settled, 30_000);
}

const embedOf = (record: InteractionRecord) => (record.original?.embeds[0] ?? {}) as APIEmbed;
const buttonsOf = (message: EmulatedMessage | undefined) =>
  ((message?.components ?? []) as Array<{ components: Array<{ custom_id: string; label: string }> }>).flatMap(
    (row) => row.components,
  );

describe('the paper graph in Discord', () => {
  it('given /paper, it should show the reference and citation counts and the most cited of each, marking those in the library', async () => {
    const record = await run('paper', { paper: SUBJECT.arxivId });
    const fields = embedOf(record).fields ?? [];
    const references = fields.find((field) => field.name.startsWith('References'));
    expect(references?.name).toBe('References (4)');
    const lines = references!.value.split('\n');
    expect(lines[0]).toBe(`📚 [${HELD.title}](https://arxiv.org/abs/${HELD.arxivId}) (2025)`);
    expect(lines[1]).toBe(`[${MISSING_A.title}](https://arxiv.org/abs/${MISSING_A.arxivId}) (2026)`);
    // A title's brackets never break its link.
    expect(references!.value).toContain(
      '[A Conference Paper With Brackets](https://www.semanticscholar.org/paper/feedfacefeedfacefeedfacefeedfacefeedface)',
    );
    expect(fields.find((field) => field.name.startsWith('Cited by'))?.value).toContain(CITING.title);
    expect(embedOf(record).footer?.text).toContain('📚 in the library · from Semantic Scholar');
  });

  it('given /related, it should list the references with links and offer to add those not in the library', async () => {
    const record = await run('related', { paper: SUBJECT.title, kind: 'references' });
    const embed = embedOf(record);
    expect(embed.title).toBe(`References of “${SUBJECT.title}”`);
    expect(embed.description).toContain(`**1.** 📚 [${HELD.title}](https://arxiv.org/abs/${HELD.arxivId})`);
    expect(embed.description).toContain(`**3.** [${MISSING_B.title}](https://arxiv.org/abs/${MISSING_B.arxivId})`);
    expect(buttonsOf(record.original)).toEqual([
      expect.objectContaining({
        custom_id: `related:add:references:arxiv:${SUBJECT.arxivId}`,
        label: 'Add the 2 not in the library',
      }),
    ]);
    const edit = harness.emulator.requests.find(
      (request) => request.method === 'PATCH' && request.route.includes(record.token),
    );
    expect(edit?.body?.allowed_mentions).toEqual({ parse: [] });
  });

  it('given the add button, it should add the listed papers the library lacked through the intake path', async () => {
    const listing = await run('related', { paper: SUBJECT.arxivId });
    const [button] = buttonsOf(listing.original);
    const click = harness.emulator.dispatchButton(listing.original!, button!.custom_id);
    const reply = await harness.emulator.waitForInteraction(click.id, settled, 30_000);
    expect(reply.callbackType).toBe(5);
    expect(reply.original?.content).toContain('2 added');
    expect(await harness.services.library.get(`arxiv:${MISSING_A.arxivId}`)).toMatchObject({ title: MISSING_A.title });
    expect(await harness.services.library.get(`arxiv:${MISSING_B.arxivId}`)).toMatchObject({ title: MISSING_B.title });

    // Clicked again, nothing is left to add: the clicker alone is told so.
    const again = harness.emulator.dispatchButton(listing.original!, button!.custom_id);
    const refused = await harness.emulator.waitForInteraction(again.id, settled, 30_000);
    expect(refused.callbackType).toBe(4);
    expect((refused.original?.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.original?.content).toContain('in the library now');
  });

  it('given kind citations and kind similar, it should list the citing papers, then the library papers closest to it', async () => {
    const citing = await run('related', { paper: SUBJECT.arxivId, kind: 'citations' });
    expect(embedOf(citing).title).toBe(`Papers citing “${SUBJECT.title}”`);
    expect(embedOf(citing).description).toContain(CITING.title);

    const similar = await run('related', { paper: SUBJECT.arxivId, kind: 'similar' });
    expect(embedOf(similar).title).toBe(`Papers like “${SUBJECT.title}”`);
    expect(embedOf(similar).description).not.toContain(`[${SUBJECT.title}]`);
    expect(buttonsOf(similar.original)).toEqual([]);
  });
});
