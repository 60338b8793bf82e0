import { describe, expect, it } from 'vitest';
import { verifyCitations, verifySectionCitations } from '../../src/answering/citations.js';

describe('verifyCitations', () => {
  it('given an answer citing [9] when five sources were given, it should remove [9] and keep the rest', () => {
    const result = verifyCitations('Byte models merge tokens [1]. Others chunk [9]. Both help [2].', 5);
    expect(result.text).toBe('Byte models merge tokens [1]. Others chunk. Both help [2].');
    expect(result.kept).toEqual([1, 2]);
    expect(result.removed).toEqual([9]);
  });

  it('given grouped, adjacent and ranged citations, it should keep only the numbers that exist', () => {
    const result = verifyCitations('A [1, 7]. B [2][8]. C [2-4]. D [4–7].', 5);
    expect(result.text).toBe('A [1]. B [2]. C [2-4]. D [4, 5].');
    expect(result.kept).toEqual([1, 2, 3, 4, 5]);
    expect(result.removed).toEqual([6, 7, 8]);
  });

  it('given [0] and a runaway range, it should remove both rather than cite them', () => {
    const result = verifyCitations('Zero [0]. Range [2-900].', 3);
    expect(result.text).toBe('Zero. Range.');
    expect(result.kept).toEqual([]);
    expect(result.removed).toEqual([0, 900]);
  });

  it('given text with bracketed words and no citations, it should leave it unchanged', () => {
    const result = verifyCitations('Tokens like [CLS] and [MASK] matter.', 2);
    expect(result).toEqual({ text: 'Tokens like [CLS] and [MASK] matter.', kept: [], removed: [] });
  });
});

describe('section citations', () => {
  const sources = [{ labels: new Set(['§3', '§4.1']) }, { labels: new Set(['p. 7']) }];

  it('given [n, §x] for a passage that was given, it should keep it and report the place', () => {
    const verified = verifySectionCitations(
      'Batches hold 256 utterances [1, §4.1]. The scan had 41% agreement [2, p. 7].',
      sources,
    );
    expect(verified.text).toBe('Batches hold 256 utterances [1, §4.1]. The scan had 41% agreement [2, p. 7].');
    expect(verified.places).toEqual([
      { n: 1, label: '§4.1' },
      { n: 2, label: 'p. 7' },
    ]);
    expect(verified.kept).toEqual([1, 2]);
  });

  it('given a section that was not given for that paper, it should keep the paper and drop the section', () => {
    const verified = verifySectionCitations('It uses 16 experts [1, §5.2] and pages [2, §4.1].', sources);
    expect(verified.text).toBe('It uses 16 experts [1] and pages [2].');
    expect(verified.places).toEqual([
      { n: 1, label: null },
      { n: 2, label: null },
    ]);
  });

  it('given a paper number that was not given, it should remove the citation', () => {
    const verified = verifySectionCitations('Invented [3, §2]. Real [1, § 3], plain [1].', sources);
    expect(verified.text).toBe('Invented. Real [1, §3], plain [1].');
    expect(verified.removed).toEqual([3]);
    expect(verified.places).toEqual([{ n: 1, label: '§3' }]);
  });

  it('given several places in one bracket, it should check each', () => {
    const verified = verifySectionCitations('Both [1, §3; 2, p. 7] and [1, §3, §9].', sources);
    expect(verified.text).toBe('Both [1, §3; 2, p. 7] and [1, §3].');
    expect(verified.places).toEqual([
      { n: 1, label: '§3' },
      { n: 2, label: 'p. 7' },
    ]);
  });
});
