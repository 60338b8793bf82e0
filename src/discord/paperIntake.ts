import {
  MessageFlags,
  type APIEmbed,
  type Attachment,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import { tooLarge } from '../papers/pdf.js';
import type { IntakeItem, IntakeOutcome, IntakeProgress } from '../intake/paperIntake.js';
import { paperLinkUrl, type Paper } from '../papers/paper.js';
import { DISCORD_LIMITS, paperLink, truncate } from './render.js';
import { NO_MENTIONS } from './router.js';
import type { AttachmentPolicy } from './types.js';

const DOWNLOAD_TIMEOUT_MS = 60_000;
const BRAND_COLOR = 0x5865f2;

export function attachmentPolicy(config: Pick<Config, 'DISCORD_ATTACHMENT_HOSTS' | 'PDF_MAX_BYTES'>): AttachmentPolicy {
  return { hosts: config.DISCORD_ATTACHMENT_HOSTS, maxBytes: config.PDF_MAX_BYTES };
}

export function isPdfAttachment(attachment: Pick<Attachment, 'name' | 'contentType'>): boolean {
  return attachment.contentType?.split(';')[0]?.trim() === 'application/pdf' || /\.pdf$/i.test(attachment.name);
}

/**
 * The PDF attachments, downloaded: an item for the intake each, or an error outcome for one too large or that could
 * not be fetched (in the order given, so replies list them where the user put them). Only Discord's CDN is asked,
 * redirects are not followed, and at most `maxBytes` of body is read, whatever size the attachment declares.
 */
export async function pdfAttachmentItems(
  attachments: Iterable<Pick<Attachment, 'name' | 'contentType' | 'size' | 'url'>>,
  policy: AttachmentPolicy,
  signal?: AbortSignal,
): Promise<Array<IntakeItem | IntakeOutcome>> {
  const items: Array<IntakeItem | IntakeOutcome> = [];
  for (const attachment of attachments) {
    if (!isPdfAttachment(attachment)) continue;
    const input = attachment.name;
    if (attachment.size > policy.maxBytes) {
      items.push(failure(input, tooLarge(input, attachment.size, policy.maxBytes)));
      continue;
    }
    try {
      const bytes = await downloadAttachment(attachment.url, policy, signal);
      items.push(
        bytes === 'too large'
          ? failure(input, tooLarge(input, undefined, policy.maxBytes))
          : { kind: 'pdf', input, bytes },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      items.push(failure(input, `could not download ${input} from Discord (${describeError(error)})`));
    }
  }
  return items;
}

async function downloadAttachment(
  url: string,
  policy: AttachmentPolicy,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | 'too large'> {
  const { hostname, protocol } = new URL(url);
  if (!/^https?:$/.test(protocol) || !policy.hosts.includes(hostname.toLowerCase()))
    throw new Error(`${hostname} is not Discord's CDN`);
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  const response = await fetch(url, {
    redirect: 'manual',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`HTTP ${response.status} redirect, not followed`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`HTTP ${response.status}`);
  }
  return (await readAtMost(response, policy.maxBytes)) ?? 'too large';
}

/** The body, or undefined as soon as it runs past `maxBytes` (the rest is never read). */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body ?? []) {
    total += part.byteLength;
    if (total > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    parts.push(part);
  }
  return Buffer.concat(parts);
}

function failure(input: string, message: string): IntakeOutcome {
  return { input, id: null, title: null, status: 'error', message };
}

/** Runs the intake over items mixed with outcomes already known (a PDF that could not be downloaded), order kept. */
export async function addMixed(
  entries: ReadonlyArray<IntakeItem | IntakeOutcome>,
  add: (items: readonly IntakeItem[]) => Promise<IntakeOutcome[]>,
): Promise<IntakeOutcome[]> {
  const items = entries.filter((entry): entry is IntakeItem => 'kind' in entry);
  const outcomes = items.length > 0 ? await add(items) : [];
  return entries.map((entry) => ('kind' in entry ? outcomes.shift()! : entry));
}

const STATUS_LABEL: Record<IntakeOutcome['status'], string> = {
  added: '📚 Added to the library',
  present: '✅ Already in the library',
  not_found: '❓ Not found',
  error: '⚠️ Not added',
};

/** A TL;DR without a model call: Hugging Face's AI summary, else the abstract's first sentence. */
function tldr(paper: Paper): string {
  if (paper.aiSummary) return paper.aiSummary;
  const first = /^(.{40,}?[.!?])\s/.exec(paper.abstract)?.[1] ?? paper.abstract;
  return truncate(first, 300);
}

/** The compact card of one paper: title linking to it, authors, TL;DR, and what happened. */
export function renderIntakeCard(outcome: IntakeOutcome & { paper: Paper }): APIEmbed {
  const { paper } = outcome;
  const authors = paper.authors?.length
    ? paper.authors.slice(0, 6).join(', ') + (paper.authors.length > 6 ? ', et al.' : '')
    : undefined;
  const lines = [authors ? `*${truncate(authors, 300)}*` : undefined, `**TL;DR** ${tldr(paper)}`].filter(Boolean);
  return {
    color: BRAND_COLOR,
    title: truncate(paper.title, DISCORD_LIMITS.title),
    url: paperLinkUrl(paper),
    description: truncate(lines.join('\n'), 1000),
    footer: { text: `${STATUS_LABEL[outcome.status].replace(/^\S+\s/, '')} · ${paper.id}` },
  };
}

/** Cards above this many would not fit one message (10 embeds, 6,000 characters): a list is shown instead. */
const MAX_CARDS = 8;

/** The reply to `/add` or the context menu: a card per paper (a list when many), and a line for each failure. */
export function renderIntakeReply(outcomes: readonly IntakeOutcome[]): { content: string; embeds: APIEmbed[] } {
  const withPaper = outcomes.filter(
    (outcome): outcome is IntakeOutcome & { paper: Paper } => outcome.paper !== undefined,
  );
  const failures = outcomes.filter((outcome) => outcome.paper === undefined);
  const count = (status: IntakeOutcome['status']) => outcomes.filter((outcome) => outcome.status === status).length;
  const summary = [
    count('added') ? `${count('added')} added` : '',
    count('present') ? `${count('present')} already in the library` : '',
    count('not_found') ? `${count('not_found')} not found` : '',
    count('error') ? `${count('error')} not added` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const failureLines = failures.map(
    (outcome) =>
      `${STATUS_LABEL[outcome.status].split(' ')[0]} \`${truncate(outcome.input, 80)}\`: ${outcome.message ?? 'unknown problem'}`,
  );
  let embeds: APIEmbed[];
  if (withPaper.length <= MAX_CARDS) {
    embeds = withPaper.map(renderIntakeCard);
  } else {
    const lines = withPaper.map(
      (outcome) => `${STATUS_LABEL[outcome.status].split(' ')[0]} ${paperLink(outcome.paper, 120)}`,
    );
    embeds = [
      {
        color: BRAND_COLOR,
        title: `${withPaper.length} papers`,
        description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
      },
    ];
  }
  const content = truncate(
    [summary ? `${summary}.` : 'Nothing to add.', ...failureLines].join('\n'),
    DISCORD_LIMITS.content,
  );
  return { content, embeds };
}

/**
 * Shows the reply to an add (deferred publicly, before anything was read): in the channel when something was added or
 * found, and only to the member when every input was refused (a PDF over a limit, a bad id), as any refusal is.
 */
export async function sendIntakeReply(
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction | ButtonInteraction,
  reply: { content: string; embeds: APIEmbed[] },
  outcomes: readonly IntakeOutcome[],
): Promise<void> {
  const refusedAll = outcomes.length > 0 && outcomes.every((outcome) => outcome.status === 'error');
  if (!refusedAll) {
    await interaction.editReply({ ...reply, allowedMentions: NO_MENTIONS });
    return;
  }
  await interaction.deleteReply();
  await interaction.followUp({ ...reply, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/** "Looking up 20 of 50 papers on arXiv…": what a long `/add` shows while it works. */
export function describeProgress(progress: IntakeProgress): string {
  if (progress.stage === 'reading') return `Reading ${progress.done} of ${progress.total} inputs…`;
  if (progress.stage === 'looking up') return `Looking up papers on arXiv: ${progress.done} of ${progress.total}…`;
  return `Adding ${progress.total} paper${progress.total === 1 ? '' : 's'} to the library…`;
}
