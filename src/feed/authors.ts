/**
 * Author names as people type them and as papers print them: `Lena Fischer`, `L. Fischer`, `Fischer, Lena`,
 * `Léna Fischer`, `FISCHER Lena-Marie`. A name is folded (accents, case, punctuation) and split into given names and
 * a surname; two names are the same author when the surnames agree and the given names are compatible (equal, or one
 * is the other's initial). Lookups go by `authorKey` (surname and first initial), so matching a paper's authors
 * against every author follow is a few map lookups.
 */

export interface AuthorName {
  /** Folded given names, first to last (`["lena", "m"]`); empty for a single-word name. */
  given: readonly string[];
  /** Folded surname, particles included (`van der berg`). */
  surname: string;
}

const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'phd']);
const PARTICLES = new Set([
  'van',
  'von',
  'der',
  'den',
  'de',
  'del',
  'della',
  'di',
  'da',
  'du',
  'la',
  'le',
  'ter',
  'ten',
  'dos',
  'das',
  'bin',
  'al',
]);
/** Letters NFKD leaves whole. */
const FOLDS: Readonly<Record<string, string>> = {
  ß: 'ss',
  ø: 'o',
  ł: 'l',
  æ: 'ae',
  œ: 'oe',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/** Lower case, accents and punctuation gone, hyphens as spaces: `Léna-Marie  Fischer` → `lena marie fischer`. */
export function foldName(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßøłæœđðþı]/g, (char) => FOLDS[char] ?? char)
    .replace(/[^\p{L}\p{N},]+/gu, ' ')
    .replace(/\s*,\s*/g, ', ')
    .trim();
}

/** Given names and surname of a name in either order (`Last, First` or `First Last`). */
export function parseAuthorName(name: string): AuthorName {
  const folded = foldName(name);
  const comma = folded.indexOf(',');
  let words: string[];
  if (comma >= 0) {
    const surname = folded.slice(0, comma).trim();
    const rest = folded
      .slice(comma + 1)
      .replace(/,/g, ' ')
      .split(/\s+/)
      .filter((word) => word !== '' && !SUFFIXES.has(word));
    if (surname === '') words = rest;
    else return { given: rest, surname: surname.replace(/,/g, ' ').replace(/\s+/g, ' ') };
  } else {
    words = folded.split(/\s+/).filter((word) => word !== '' && !SUFFIXES.has(word));
  }
  if (words.length === 0) return { given: [], surname: '' };
  // The surname starts at the first particle after the first given name (`Ludwig van Beethoven`), else is the last word.
  let start = words.length - 1;
  for (let index = 1; index < words.length - 1; index += 1) {
    if (PARTICLES.has(words[index]!)) {
      start = index;
      break;
    }
  }
  return { given: words.slice(0, start), surname: words.slice(start).join(' ') };
}

/** The normalized form of a name, `first given surname`: equal for `Fischer, Lena` and `Léna Fischer`. */
export function normalizeAuthorName(name: string): string {
  const parsed = parseAuthorName(name);
  return [...parsed.given, parsed.surname].filter((part) => part !== '').join(' ');
}

/**
 * The lookup key: the surname's last word and the first initial (`fischer|l`); `fischer|` for a name with no given
 * name. A paper author is looked up under both its key and its surname-only key.
 */
export function authorKey(name: AuthorName): string {
  const surnameWords = name.surname.split(' ');
  return `${surnameWords[surnameWords.length - 1] ?? ''}|${name.given[0]?.[0] ?? ''}`;
}

/** Keys a paper author is looked up under: with its first initial and without. */
export function authorLookupKeys(name: AuthorName): string[] {
  const key = authorKey(name);
  const bare = key.slice(0, key.indexOf('|') + 1);
  return key === bare ? [key] : [key, bare];
}

/**
 * Whether a followed name and a paper's author name one person: the same surname, and given names that agree as far
 * as both go (`l` agrees with `lena`; `lena` does not agree with `lukas`). A follow without given names follows the surname.
 */
export function sameAuthor(followed: AuthorName, printed: AuthorName): boolean {
  if (followed.surname === '' || !surnamesAgree(followed.surname, printed.surname)) return false;
  const count = Math.min(followed.given.length, printed.given.length);
  for (let index = 0; index < count; index += 1) {
    const left = followed.given[index]!;
    const right = printed.given[index]!;
    if (left === right) continue;
    if (left.length === 1 || right.length === 1) {
      if (left[0] !== right[0]) return false;
      continue;
    }
    return false;
  }
  return true;
}

/** `van der berg` agrees with `berg` (particles are often dropped), not with `hamberg`. */
function surnamesAgree(left: string, right: string): boolean {
  if (left === right) return true;
  const core = (surname: string) =>
    surname
      .split(' ')
      .filter((word) => !PARTICLES.has(word))
      .join(' ');
  return core(left) === core(right);
}
