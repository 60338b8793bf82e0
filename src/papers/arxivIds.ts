/**
 * arXiv identifiers in the forms people paste: bare ids, `arXiv:` ids, arXiv abs/pdf/html links, Hugging Face paper
 * pages, and arXiv DOIs. Ids come back without a version (`2410.20771`, `cs/0601001`): a paper is one paper across
 * versions, as `paperId` treats it.
 */

/** Post-2007 ids: YYMM.NNNN (to 2014) or YYMM.NNNNN (since 2015), optional version. */
const NEW_STYLE = String.raw`\d{4}\.\d{4,5}`;
/** Pre-2007 ids: archive[.SUBJECT-CLASS]/YYMMNNN, e.g. cs/0601001, math.GT/0309136, hep-th/9901001. */
const OLD_STYLE = String.raw`[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?\/\d{7}`;
const ID = `(${NEW_STYLE}|${OLD_STYLE})(?:v\\d+)?`;

const BARE_ID = new RegExp(`^(?:arxiv:\\s*)?${ID}$`, 'i');
const ARXIV_URL = new RegExp(
  `^(?:https?://)?(?:www\\.|export\\.)?arxiv\\.org/(?:abs|pdf|html|format)/${ID}(?:\\.pdf)?/?(?:[?#].*)?$`,
  'i',
);
const HF_URL = new RegExp(`^(?:https?://)?(?:www\\.)?huggingface\\.co/papers/${ID}/?(?:[?#].*)?$`, 'i');
const DOI = new RegExp(`^(?:(?:https?://)?(?:dx\\.)?doi\\.org/|doi:\\s*)?10\\.48550/arxiv\\.${ID}$`, 'i');

/** Old-style archives are lower case and subject classes upper case (`math.GT`); people type them in any case. */
function canonical(id: string): string {
  const slash = id.indexOf('/');
  if (slash < 0) return id;
  const [archive, subject] = id.slice(0, slash).split('.');
  return `${archive!.toLowerCase()}${subject ? `.${subject.toUpperCase()}` : ''}${id.slice(slash)}`;
}

/** The arXiv id a single pasted token names, or undefined when it names none. */
export function parseArxivReference(token: string): string | undefined {
  const text = token.trim().replace(/^<(.*)>$/, '$1'); // Discord's <url> form suppresses the embed; same link.
  for (const pattern of [BARE_ID, ARXIV_URL, HF_URL, DOI]) {
    const match = pattern.exec(text);
    if (match) return canonical(match[1]!);
  }
  return undefined;
}

// In running text only links and explicit `arXiv:` ids count: a bare "2410.20771" in chat may be a version or a price.
const LINK_IN_TEXT = new RegExp(
  String.raw`(?:https?://)?(?:www\.|export\.)?(?:arxiv\.org/(?:abs|pdf|html|format)/|huggingface\.co/papers/|(?:dx\.)?doi\.org/10\.48550/arxiv\.)${ID}`,
  'gi',
);
const PREFIXED_ID_IN_TEXT = new RegExp(String.raw`\barxiv:\s?${ID}`, 'gi');

/** Every distinct arXiv id linked (or written `arXiv:…`) in a chat message, in order of appearance. */
export function findArxivLinks(text: string): string[] {
  const found: Array<{ index: number; id: string }> = [];
  for (const pattern of [LINK_IN_TEXT, PREFIXED_ID_IN_TEXT]) {
    for (const match of text.matchAll(pattern)) found.push({ index: match.index, id: canonical(match[1]!) });
  }
  found.sort((a, b) => a.index - b.index);
  return [...new Set(found.map((entry) => entry.id))];
}

/** An arXiv id stamped in a PDF ("arXiv:2410.20771v2 [cs.CL] 1 Nov 2024" in the margin of arXiv's own PDFs). */
export function findArxivIdInText(text: string): string | undefined {
  const match = new RegExp(String.raw`arxiv:\s?${ID}`, 'i').exec(text);
  return match ? canonical(match[1]!) : undefined;
}
