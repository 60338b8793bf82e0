import { describe, expect, it } from 'vitest';
import { writeBibtex } from '../../src/papers/export/bibtex.js';
import { writeCslJson } from '../../src/papers/export/cslJson.js';
import { writeRis } from '../../src/papers/export/ris.js';
import { readBibtex } from '../../src/papers/formats/bibtex.js';
import { readCslJson } from '../../src/papers/formats/cslJson.js';
import type { Paper } from '../../src/papers/paper.js';

const MRT5: Paper = {
  id: 'arxiv:2410.20771',
  arxivId: '2410.20771',
  primaryCategory: 'cs.CL',
  title: 'MrT5: Dynamic Token Merging for 50% Shorter {Byte}_Level Sequences & $x^2$ ~ # \\ “Müller”',
  abstract: 'We cut 100% of {braces} & under_scores; Ünïcode α, ß, 中文 and $math$ survive.',
  authors: ['Julie Kallini', 'C. Balázs', 'Jean-Baptiste de la Fontaine'],
  publishedAt: '2024-10-28T00:00:00.000Z',
  source: 'arxiv',
};
const attention = (id: string, title: string, publishedAt: string): Paper => ({
  id,
  title,
  abstract: `Abstract of ${title}.`,
  authors: ['Ada Lovelace', 'Charles Babbage'],
  publishedAt,
  source: 'seeds',
});
const FIRST = attention('t:bbbb', 'The Attention Engine', '2017-06-12T00:00:00.000Z');
const SECOND = attention('t:aaaa', 'Attention Is Enough', '2017-01-01T00:00:00.000Z');

const keysOf = (bibtex: string) => [...bibtex.matchAll(/^@misc\{([^,]+),/gm)].map((match) => match[1]);

describe('BibTeX export', () => {
  it('given an arXiv paper, it should write a key from author, year and first title word, and eprint, archivePrefix and primaryClass', () => {
    const bibtex = writeBibtex([MRT5]);

    expect(keysOf(bibtex)).toEqual(['kallini2024mrt5']);
    expect(bibtex).toMatch(/^\s+eprint\s+= \{2410\.20771\},$/m);
    expect(bibtex).toMatch(/^\s+archivePrefix = \{arXiv\},$/m);
    expect(bibtex).toMatch(/^\s+primaryClass\s+= \{cs\.CL\},$/m);
  });

  it('given LaTeX special characters in a title, it should escape them so no brace or % is left bare', () => {
    const title = /title\s+= \{\{(.*)\}\},/.exec(writeBibtex([MRT5]))![1]!;

    expect(title).toContain('50\\%');
    expect(title).toContain('\\&');
    expect(title).toContain('\\_');
    expect(title).toContain('\\#');
    expect(title).toContain('\\$');
    expect(title).not.toMatch(/(?<!\\)[%&#_]/);
    expect(title).toContain('M\\"uller');
  });

  it('given two papers whose keys collide, it should disambiguate them a and b by id, whatever their order', () => {
    const forward = keysOf(writeBibtex([FIRST, SECOND]));
    const backward = keysOf(writeBibtex([SECOND, FIRST]));

    expect(forward).toEqual(['lovelace2017attentionb', 'lovelace2017attentiona']);
    expect(backward).toEqual(['lovelace2017attentiona', 'lovelace2017attentionb']);
  });

  it('given its own export, papercord BibTeX intake should read back the same papers with nothing lost', async () => {
    const { papers, skipped } = await readBibtex(writeBibtex([MRT5, FIRST]), 'export.bib');

    expect(skipped).toEqual([]);
    expect(papers.map(({ source: _source, url: _url, ...paper }) => paper)).toEqual([
      {
        id: MRT5.id,
        arxivId: MRT5.arxivId,
        primaryCategory: 'cs.CL',
        title: MRT5.title,
        abstract: MRT5.abstract,
        authors: MRT5.authors,
        publishedAt: MRT5.publishedAt,
      },
      {
        id: expect.stringMatching(/^t:/),
        title: FIRST.title,
        abstract: FIRST.abstract,
        authors: FIRST.authors,
        publishedAt: FIRST.publishedAt,
      },
    ]);
  });
});

describe('CSL-JSON export', () => {
  it('given its own export, papercord CSL-JSON intake should read back the same papers, the arXiv id from the DOI', async () => {
    const text = writeCslJson([MRT5, FIRST]);
    const items = JSON.parse(text) as Array<Record<string, unknown>>;

    expect(items[0]).toMatchObject({ id: 'kallini2024mrt5', type: 'article', DOI: '10.48550/arXiv.2410.20771' });
    const { papers } = await readCslJson(text, 'export.json');
    expect(papers.map((paper) => [paper.id, paper.title, paper.abstract, paper.authors, paper.publishedAt])).toEqual([
      [MRT5.id, MRT5.title, MRT5.abstract, MRT5.authors, MRT5.publishedAt],
      [expect.stringMatching(/^t:/), FIRST.title, FIRST.abstract, FIRST.authors, FIRST.publishedAt],
    ]);
  });
});

describe('RIS export', () => {
  it('given papers, it should write one TY … ER record each, every line a tag, two spaces, a hyphen and a value', () => {
    const ris = writeRis([MRT5, FIRST, SECOND]);
    const lines = ris.split('\r\n').filter(Boolean);

    for (const line of lines) expect(line).toMatch(/^[A-Z][A-Z0-9] {2}-( .+)?$/);
    expect(lines.filter((line) => line.startsWith('TY  - '))).toEqual(['TY  - UNPB', 'TY  - JOUR', 'TY  - JOUR']);
    expect(lines.filter((line) => line.startsWith('ER  -'))).toHaveLength(3);
    const first = lines.slice(0, lines.indexOf('ER  -') + 1);
    expect(first).toEqual(
      expect.arrayContaining([
        'ID  - kallini2024mrt5',
        'AU  - Kallini, Julie',
        'AU  - Balázs, C.',
        'PY  - 2024',
        'DA  - 2024/10/28/',
        'DO  - 10.48550/arXiv.2410.20771',
        'UR  - https://arxiv.org/abs/2410.20771',
      ]),
    );
  });
});
