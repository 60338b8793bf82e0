import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { Answer, Comparison } from '../answering/answerService.js';
import { paperLinkUrl, type Paper } from '../papers/paper.js';
import type { RetrievedPaper } from '../retrieval/types.js';

/** Discord's limits on what one message may carry. https://discord.com/developers/docs/resources/message */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fieldName: 256,
  fieldValue: 1024,
  fields: 25,
  footer: 2048,
  /** Sum of title, description, field names and values, footer and author over all embeds of a message. */
  messageEmbedTotal: 6000,
  embedsPerMessage: 10,
} as const;

/** Answer text per embed: under the 4,096 limit with room for the other parts of a 6,000-character message. */
const ANSWER_CHUNK = 3500;
export const BRAND_COLOR = 0x5865f2;

/** Cuts `text` to at most `max` characters, ending in an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** Splits text into pieces of at most `max` characters, preferring paragraph, then sentence, then word breaks. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const breakAt = [window.lastIndexOf('\n\n'), window.lastIndexOf('. ') + 1, window.lastIndexOf(' ')].find(
      (index) => index > max / 2,
    );
    const cut = breakAt ?? max;
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** The characters of an embed that count towards the 6,000 per message. */
export function embedLength(embed: APIEmbed): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.author?.name.length ?? 0) +
    (embed.fields ?? []).reduce((sum, field) => sum + field.name.length + field.value.length, 0)
  );
}

/** Groups embeds into messages that each respect the 6,000-character and 10-embed limits, order kept. */
export function packEmbeds(embeds: APIEmbed[]): APIEmbed[][] {
  const messages: APIEmbed[][] = [];
  let current: APIEmbed[] = [];
  let currentLength = 0;
  for (const embed of embeds) {
    const length = embedLength(embed);
    if (
      current.length > 0 &&
      (currentLength + length > DISCORD_LIMITS.messageEmbedTotal || current.length === DISCORD_LIMITS.embedsPerMessage)
    ) {
      messages.push(current);
      current = [];
      currentLength = 0;
    }
    current.push(embed);
    currentLength += length;
  }
  if (current.length > 0) messages.push(current);
  return messages;
}

/**
 * `[title](link)` for any paper, the one way every reply links a paper: a title is text from arXiv or from a PDF anyone
 * uploaded, so brackets (which would end the link early and start one of the title's own), backslashes (which would
 * escape the closing bracket) and line breaks are taken out before it goes inside the brackets.
 */
export function paperLink(paper: { title: string; url?: string | undefined; arxivId?: string }, max: number): string {
  const safeTitle = truncate(
    paper.title
      .replace(/[[\]\\]/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
    max,
  );
  return `[${safeTitle}](${paperLinkUrl(paper)})`;
}

/**
 * Lines packed into fields of at most 1,024 characters, a line never split across two fields, names and values
 * together within `budget` characters; lines that do not fit are counted in a last "… and N more".
 */
function linesToFields(name: string, lines: string[], budget: number): APIEmbedField[] {
  const fields: APIEmbedField[] = [];
  let value = '';
  let used = 0;
  const fieldName = () => (fields.length === 0 ? name : `${name} (continued)`);
  const moreNote = (left: number) => `… and ${left} more`;
  for (const [index, rawLine] of lines.entries()) {
    const line = truncate(rawLine, DISCORD_LIMITS.fieldValue);
    const startsField = !value || value.length + 1 + line.length > DISCORD_LIMITS.fieldValue;
    const cost = line.length + (startsField ? fieldName().length + 20 : 1);
    const reserve = index < lines.length - 1 ? moreNote(lines.length).length + 1 : 0;
    if (used + cost + reserve > budget || (startsField && fields.length + 1 >= DISCORD_LIMITS.fields)) {
      const note = moreNote(lines.length - index);
      value =
        value && value.length + 1 + note.length <= DISCORD_LIMITS.fieldValue ? `${value}\n${note}` : value || note;
      break;
    }
    if (startsField && value) {
      fields.push({ name: fieldName(), value });
      value = '';
    }
    value = value ? `${value}\n${line}` : line;
    used += cost;
  }
  if (value) fields.push({ name: fieldName(), value });
  return fields;
}

function modelFooter(model: string, notice: string | undefined): APIEmbed['footer'] {
  return { text: truncate(notice ? `Model: ${model} · ${notice}` : `Model: ${model}`, DISCORD_LIMITS.footer) };
}

/**
 * An answer as messages of embeds: the answer text split across embeds when long, the numbered sources with links,
 * the model in the footer. The first message edits the reply; the others are follow-ups.
 */
export function renderAnswer(question: string, answer: Answer): APIEmbed[][] {
  const chunks = splitText(answer.answer, ANSWER_CHUNK);
  const embeds: APIEmbed[] = chunks.map((chunk, index) => ({
    color: BRAND_COLOR,
    ...(index === 0 ? { title: truncate(question, DISCORD_LIMITS.title) } : {}),
    description: chunk,
  }));
  if (embeds.length === 0)
    embeds.push({ color: BRAND_COLOR, title: truncate(question, DISCORD_LIMITS.title), description: '…' });
  // One line per paper; a section citation names its sections after the link, so "[1, §3]" can be found in the paper.
  const sourceLines = [...new Set(answer.citations.map((citation) => citation.n))].map((n) => {
    const cited = answer.citations.filter((citation) => citation.n === n);
    const places = cited
      .map((citation) => (citation.section ? `§${citation.section}` : citation.page ? `p. ${citation.page}` : ''))
      .filter(Boolean);
    const place = places.length > 0 ? ` · ${places.join('; ')}` : '';
    return `**[${n}]** ${paperLink(cited[0]!, 200)}${truncate(place, 300)}`;
  });
  const last = embeds[embeds.length - 1]!;
  const footer = modelFooter(answer.model, answer.notice);
  const sourceFields = linesToFields(
    'Sources',
    sourceLines,
    DISCORD_LIMITS.messageEmbedTotal - (footer?.text.length ?? 0) - 100,
  );
  const sourcesLength = sourceFields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  if (embedLength(last) + sourcesLength + (footer?.text.length ?? 0) <= DISCORD_LIMITS.messageEmbedTotal) {
    last.fields = sourceFields;
    last.footer = footer;
  } else {
    embeds.push({ color: BRAND_COLOR, fields: sourceFields, footer });
  }
  return packEmbeds(embeds);
}

/** The answer so far, while the model is still writing: one embed, the tail cut to fit. */
export function renderPartialAnswer(question: string, partial: string): APIEmbed {
  return {
    color: BRAND_COLOR,
    title: truncate(question, DISCORD_LIMITS.title),
    description: truncate(partial || '…', ANSWER_CHUNK),
    footer: { text: 'Writing…' },
  };
}

const COMPARED_ASPECTS = [
  ['Problem', 'problem'],
  ['Method', 'method'],
  ['Data', 'data'],
  ['Results', 'results'],
  ['Limitations', 'limitations'],
] as const;

/**
 * Papers side by side: for each aspect, one inline field per paper, so Discord lays each aspect out as a row; then
 * similarities, differences and when to use which. Values share the 6,000-character budget fairly.
 */
export function renderComparison(comparison: Comparison): APIEmbed[][] {
  const papers = comparison.papers;
  const headerLines = papers.map((paper, index) => `**${index + 1}.** ${paperLink(paper, 150)}`);
  const header: APIEmbed = {
    color: BRAND_COLOR,
    title: 'Comparison',
    description: truncate(headerLines.join('\n'), DISCORD_LIMITS.description),
    footer: modelFooter(comparison.model, comparison.notice),
  };
  const sideBySide: Array<{ name: string; text: string }> = [];
  for (const [label, key] of COMPARED_ASPECTS) {
    papers.forEach((paper, index) => sideBySide.push({ name: `${label} · ${index + 1}`, text: paper[key] }));
  }
  const summary: Array<{ name: string; text: string }> = [
    { name: 'Similarities', text: comparison.similarities.map((line) => `• ${line}`).join('\n') },
    { name: 'Differences', text: comparison.differences.map((line) => `• ${line}`).join('\n') },
    { name: 'When to use which', text: comparison.whenToUse },
  ];
  const names = [...sideBySide, ...summary].reduce((sum, entry) => sum + entry.name.length, 0);
  // Truncation adds an ellipsis inside the limit, so a small margin covers rounding only.
  const budget = DISCORD_LIMITS.messageEmbedTotal - embedLength(header) - names - 50;
  const fieldsOf = (
    entries: Array<{ name: string; text: string }>,
    inline: boolean,
    perField: number,
  ): APIEmbedField[] =>
    entries.map((entry) => ({ name: entry.name, value: truncate(entry.text.trim() || '—', perField), inline }));
  const perSideField = Math.min(DISCORD_LIMITS.fieldValue, Math.floor((budget * 0.6) / sideBySide.length));
  const perSummaryField = Math.min(DISCORD_LIMITS.fieldValue, Math.floor((budget * 0.4) / summary.length));
  header.fields = [...fieldsOf(sideBySide, true, perSideField), ...fieldsOf(summary, false, perSummaryField)].slice(
    0,
    DISCORD_LIMITS.fields,
  );
  return packEmbeds([header]);
}

/** A stored full text's outline: where it came from and its sections, indented by level. */
export interface PaperOutline {
  source: string;
  sections: ReadonlyArray<{ heading: string; level: number }>;
}

/** One paper: title linking to it, authors, date, TL;DR, the start of the abstract and, with full text, its outline. */
export function renderPaper(paper: Paper, tldr: string, outline?: PaperOutline): APIEmbed {
  const authors = paper.authors?.length ? paper.authors.join(', ') : 'Unknown';
  const fields: APIEmbedField[] = [
    { name: 'Authors', value: truncate(authors, DISCORD_LIMITS.fieldValue) },
    { name: 'TL;DR', value: truncate(tldr || '—', DISCORD_LIMITS.fieldValue) },
  ];
  if (paper.publishedAt) fields.push({ name: 'Published', value: paper.publishedAt.slice(0, 10), inline: true });
  if (paper.arxivId) fields.push({ name: 'arXiv', value: paper.arxivId, inline: true });
  if (outline && outline.sections.length > 0) {
    const lines = outline.sections.map(
      (section) => `${'\u2003'.repeat(Math.max(0, section.level - 1))}${section.heading}`,
    );
    fields.push(
      ...linesToFields(
        `Outline (full text from ${outline.source === 'html' ? 'arXiv HTML' : outline.source === 'pdf' ? 'the arXiv PDF' : 'the added PDF'})`,
        lines,
        1500,
      ),
    );
  }
  return {
    color: BRAND_COLOR,
    title: truncate(paper.title, DISCORD_LIMITS.title),
    url: paperLinkUrl(paper),
    description: truncate(paper.abstract, 1500),
    fields,
    footer: { text: `id: ${paper.id}` },
  };
}

/** A ranked list of papers: numbered links with the first words of each abstract. */
export function renderPaperList(
  title: string,
  hits: RetrievedPaper[],
  emptyText: string,
  options: { lead?: string } = {},
): APIEmbed {
  const lines = hits.map(
    (hit, index) =>
      `**${index + 1}.** ${paperLink(hit.paper, 200)}\n${truncate(hit.paper.abstract.replace(/\s+/g, ' '), 180)}`,
  );
  // A lead such as "the closest papers are:" says how to read the list before it starts.
  if (lines.length > 0 && options.lead) lines.unshift(options.lead);
  return {
    color: BRAND_COLOR,
    title: truncate(title, DISCORD_LIMITS.title),
    description: truncate(lines.length ? lines.join('\n\n') : emptyText, DISCORD_LIMITS.description),
  };
}
