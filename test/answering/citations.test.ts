import { describe, expect, it } from 'vitest';
import { verifyCitations } from '../../src/answering/citations.js';

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
