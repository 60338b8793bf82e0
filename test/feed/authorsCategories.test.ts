import { describe, expect, it } from 'vitest';
import { normalizeAuthorName, parseAuthorName, sameAuthor } from '../../src/feed/authors.js';
import { suggestCategories, validateCategory } from '../../src/feed/categories.js';
import { UserError } from '../../src/errors.js';

const same = (followed: string, printed: string) => sameAuthor(parseAuthorName(followed), parseAuthorName(printed));

describe('author names', () => {
  it('given one name written with accents, in "Last, First" order or in capitals, it should normalize them alike', () => {
    expect(normalizeAuthorName('Léna Fischer')).toBe('lena fischer');
    expect(normalizeAuthorName('Fischer, Lena')).toBe('lena fischer');
    expect(normalizeAuthorName('  FISCHER,   Léna ')).toBe('lena fischer');
    expect(normalizeAuthorName('Jürgen Schmidhuber')).toBe('jurgen schmidhuber');
    expect(normalizeAuthorName('Łukasz Kaiser')).toBe('lukasz kaiser');
    expect(normalizeAuthorName('Guy L. Steele, Jr.')).toBe('guy l steele');
  });

  it('given initials on one side, it should match the full given name with the same initial and no other', () => {
    expect(same('Lena Fischer', 'L. Fischer')).toBe(true);
    expect(same('L. Fischer', 'Lena Fischer')).toBe(true);
    expect(same('Lena Fischer', 'Lukas Fischer')).toBe(false);
    expect(same('Lena Fischer', 'M. Fischer')).toBe(false);
    expect(same('Lena Fischer', 'Lena Fisher')).toBe(false);
  });

  it('given a surname with a particle, it should match it with or without the particle', () => {
    expect(parseAuthorName('Ludwig van Beethoven').surname).toBe('van beethoven');
    expect(same('Ludwig van Beethoven', 'L. Beethoven')).toBe(true);
    expect(same('van der Berg, Anna', 'Anna van der Berg')).toBe(true);
  });

  it('given a single word, it should follow everyone with that surname', () => {
    expect(same('Fischer', 'Lena Fischer')).toBe(true);
    expect(same('Fischer', 'Lena Fisher')).toBe(false);
  });
});

describe('arXiv categories', () => {
  it("given a code in any case, it should give arXiv's spelling", () => {
    expect(validateCategory('cs.cl')).toBe('cs.CL');
    expect(validateCategory(' STAT.ML ')).toBe('stat.ML');
    expect(validateCategory('hep-th')).toBe('hep-th');
    expect(validateCategory('cond-mat.stat-mech')).toBe('cond-mat.stat-mech');
  });

  it('given a code arXiv does not have, it should refuse with the closest codes', () => {
    expect(() => validateCategory('cs.XX')).toThrow(UserError);
    expect(() => validateCategory('cs.CLL')).toThrow(/not an arXiv category; did you mean cs\.CL/);
    expect(() => validateCategory('transformers')).toThrow(/"transformers" is not an arXiv category/);
  });

  it('given part of a code or a name, it should suggest categories, codes first', () => {
    expect(suggestCategories('cs.C', 3).map((entry) => entry.code)).toEqual(['cs.CC', 'cs.CE', 'cs.CG']);
    expect(suggestCategories('robot', 5).map((entry) => entry.code)).toEqual(['cs.RO']);
  });
});
