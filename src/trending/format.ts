import { paperLinkUrl } from '../papers/paper.js';
import type { Digest, DigestPaper } from './digest.js';

/** First three authors, then "et al.": enough to recognize a group without a wall of names. */
export function shortAuthors(authors: readonly string[], max = 3): string {
  if (authors.length === 0) return '';
  return authors.length > max ? `${authors.slice(0, max).join(', ')} et al.` : authors.join(', ');
}

function votes(paper: DigestPaper): string {
  return paper.upvotes === null ? '' : `▲ ${paper.upvotes}`;
}

/** `video generation (3) · code generation, unit tests (2)`; empty when the day had too few papers for themes. */
export function themesLine(digest: Digest): string {
  return digest.themes.map((theme) => `${theme.label} (${theme.paperIds.length})`).join(' · ');
}

/** The digest as plain text, for the terminal. */
export function formatDigestText(digest: Digest, source?: string): string {
  const lines = [`Trending papers · ${digest.date}${source ? ` (${source})` : ''}`, ''];
  if (digest.papers.length === 0) lines.push('No papers matched.', '');
  digest.papers.forEach((paper, index) => {
    lines.push(`${index + 1}. ${paper.title}`);
    const meta = [votes(paper), shortAuthors(paper.authors)].filter(Boolean).join(' · ');
    if (meta) lines.push(`   ${meta}`);
    if (paper.url) lines.push(`   ${paper.url}`);
    lines.push(`   TL;DR: ${paper.tldr}`, '');
  });
  const themes = themesLine(digest);
  if (themes) lines.push(`Today's themes: ${themes}`);
  return lines.join('\n').trimEnd();
}

/** Markdown that paper text must not trigger: emphasis, links, headings, mentions. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|[\]()>#<@])/g, '\\$1');
}

/** Discord's embed limits. */
const EMBED_DESCRIPTION_MAX = 4096;
const EMBED_FIELD_MAX = 1024;
const EMBED_TITLE_MAX = 256;

/** A Discord embed as plain data (the shape of discord.js `APIEmbed`), so the core needs no discord.js. */
export interface DigestEmbed {
  title: string;
  description: string;
  color: number;
  fields: { name: string; value: string }[];
  footer: { text: string };
}

/** The digest as a Discord embed; `footer` carries the marker a resumed post is recognized by. */
export function formatDigestEmbed(digest: Digest, footer: string): DigestEmbed {
  const blocks = digest.papers.map((paper, index) => {
    const title = escapeMarkdown(paper.title);
    const heading = `**${index + 1}. [${title}](${paperLinkUrl({ title: paper.title, url: paper.url })})**`;
    const meta = [votes(paper), escapeMarkdown(shortAuthors(paper.authors))].filter(Boolean).join(' · ');
    return [heading, meta, `> ${escapeMarkdown(paper.tldr)}`].filter(Boolean).join('\n');
  });
  let description = blocks.length ? '' : 'No papers matched the topics of this subscription today.';
  for (const block of blocks) {
    const next = description ? `${description}\n\n${block}` : block;
    if (next.length > EMBED_DESCRIPTION_MAX) break;
    description = next;
  }
  const themes = themesLine(digest);
  return {
    title: `Trending papers · ${digest.date}`.slice(0, EMBED_TITLE_MAX),
    description,
    color: 0xffd21e,
    fields: themes ? [{ name: "Today's themes", value: escapeMarkdown(themes).slice(0, EMBED_FIELD_MAX) }] : [],
    footer: { text: footer },
  };
}
