import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { GraphNeighbor, PaperGraph } from '../graph/paperGraph.js';
import { mostRelevant } from '../graph/relevance.js';
import { describeError, isUserError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { BRAND_COLOR, DISCORD_LIMITS, embedLength, paperLink, truncate } from './render.js';

/**
 * The graph for /paper, or why there is none: /paper still answers when the sources are down (a UserError says
 * why) or the graph fails for another reason (logged; the reader gets a short line).
 */
export async function graphOrReason(
  services: { paperGraph?(paper: Paper): Promise<PaperGraph>; logger: Logger },
  paper: Paper,
  budgetMs = GRAPH_REPLY_BUDGET_MS,
): Promise<PaperGraph | string | undefined> {
  if (!services.paperGraph || !paper.arxivId) return undefined;
  let timer: NodeJS.Timeout | undefined;
  // A slow source (a long Retry-After) must not hold the card: the fetch goes on, and its result is cached.
  const budget = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('Still being fetched; ask again in a minute, or use /related.'), budgetMs);
  });
  try {
    return await Promise.race([services.paperGraph(paper), budget]);
  } catch (error) {
    if (isUserError(error)) return error.message;
    services.logger.error({ err: error, paper: paper.id }, 'paper graph failed');
    return `Not available right now (${truncate(describeError(error), 200)}).`;
  } finally {
    clearTimeout(timer);
  }
}

/** How long /paper waits for the graph before it shows the card without it. */
export const GRAPH_REPLY_BUDGET_MS = 15_000;

/** Papers /related lists at most (and its button adds at most, before the intake limits). */
export const RELATED_LIMIT = 25;

export type RelatedKind = 'references' | 'citations' | 'similar';

export function relatedKind(value: string): RelatedKind {
  if (value === 'references' || value === 'citations' || value === 'similar') return value;
  throw new UserError(`kind must be references, citations or similar (got "${truncate(value, 40)}").`);
}

/** The arXiv ids of the listed neighbours (the RELATED_LIMIT most relevant) that the library lacks. */
export function notInLibrary(graph: PaperGraph, paper: Paper, kind: 'references' | 'citations'): string[] {
  return mostRelevant(graph[kind], paper, RELATED_LIMIT).flatMap((neighbor) =>
    !neighbor.inLibrary && neighbor.arxivId ? [neighbor.arxivId] : [],
  );
}

/** Marks a neighbour the library holds. */
export const IN_LIBRARY_MARK = '📚';

const SOURCE_NAMES = {
  s2: 'Semantic Scholar',
  openalex: 'OpenAlex',
  bibliography: "the paper's bibliography",
} as const;

/** Where a reader can open a neighbour: arXiv, else its page at the source, else (bibliography) a title search. */
function neighborUrl(neighbor: GraphNeighbor): string | undefined {
  if (neighbor.arxivId) return `https://arxiv.org/abs/${neighbor.arxivId}`;
  if (neighbor.id.startsWith('s2:')) return `https://www.semanticscholar.org/paper/${neighbor.id.slice(3)}`;
  if (neighbor.id.startsWith('openalex:')) return `https://openalex.org/${neighbor.id.slice(9)}`;
  return undefined;
}

/** One line: the linked title, its year, and the mark when the library holds it. */
export function neighborLine(neighbor: GraphNeighbor, maxTitle = 120): string {
  const url = neighborUrl(neighbor);
  const link = paperLink({ title: neighbor.title, ...(url ? { url } : {}) }, maxTitle);
  const year = neighbor.year ? ` (${neighbor.year})` : '';
  return `${neighbor.inLibrary ? `${IN_LIBRARY_MARK} ` : ''}${link}${year}`;
}

/** /paper's fields: the counts, and the five most relevant references and citations. */
export function graphFields(graph: PaperGraph, paper: Paper, shown = 5): APIEmbedField[] {
  const field = (name: string, total: number, neighbors: readonly GraphNeighbor[]): APIEmbedField => {
    const lines = mostRelevant(neighbors, paper, shown).map((neighbor) => neighborLine(neighbor, 90));
    return {
      name: truncate(`${name} (${total.toLocaleString('en-US')})`, DISCORD_LIMITS.fieldName),
      value: truncate(lines.join('\n') || 'none known', DISCORD_LIMITS.fieldValue),
    };
  };
  return [
    field('References', graph.referenceCount, graph.references),
    field('Cited by', graph.citationCount, graph.citations),
  ];
}

/**
 * /paper's embed with the graph's fields and a footer line about them; the abstract is shortened when the whole
 * would pass Discord's 6,000 characters per message.
 */
export function withGraph(embed: APIEmbed, graph: PaperGraph | string, paper: Paper): APIEmbed {
  const fields =
    typeof graph === 'string'
      ? [{ name: 'References and citations', value: truncate(graph, DISCORD_LIMITS.fieldValue) }]
      : graphFields(graph, paper);
  const footer = [embed.footer?.text, typeof graph === 'string' ? undefined : graphFooter(graph)].filter(Boolean);
  const result: APIEmbed = {
    ...embed,
    fields: [...(embed.fields ?? []), ...fields],
    footer: { text: truncate(footer.join('\n'), DISCORD_LIMITS.footer) },
  };
  const excess = embedLength(result) - DISCORD_LIMITS.messageEmbedTotal;
  if (excess > 0 && result.description) {
    result.description = truncate(result.description, Math.max(200, result.description.length - excess - 10));
  }
  return result;
}

/** The line under /paper's and /related's lists: where the graph came from, its notes, what the mark means. */
export function graphFooter(graph: PaperGraph): string {
  const parts = [
    `${IN_LIBRARY_MARK} in the library · from ${SOURCE_NAMES[graph.source]}, ${graph.fetchedAt.slice(0, 10)}`,
  ];
  parts.push(...graph.notes);
  return truncate(parts.join(' · '), DISCORD_LIMITS.footer);
}

/** /related: up to `limit` references or citations, most relevant first, each linked and marked. */
export function renderRelated(
  graph: PaperGraph,
  paper: Paper,
  kind: 'references' | 'citations',
  limit: number,
): APIEmbed {
  const neighbors = mostRelevant(graph[kind], paper, limit);
  const total = kind === 'references' ? graph.referenceCount : graph.citationCount;
  const lines = neighbors.map((neighbor, index) => `**${index + 1}.** ${neighborLine(neighbor)}`);
  const heading = kind === 'references' ? 'References of' : 'Papers citing';
  return {
    color: BRAND_COLOR,
    title: truncate(`${heading} “${paper.title}”`, DISCORD_LIMITS.title),
    description: truncate(
      lines.length > 0
        ? `${lines.join('\n')}${total > neighbors.length ? `\n\n${neighbors.length} of ${total.toLocaleString('en-US')}, most cited first.` : ''}`
        : kind === 'references'
          ? 'No references are known for this paper.'
          : 'No citations are known for this paper.',
      DISCORD_LIMITS.description,
    ),
    footer: { text: graphFooter(graph) },
  };
}
