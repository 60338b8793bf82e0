import { UsageError } from '../../errors.js';
import { PaperGraphService, type GraphNeighbor, type GraphSubject, type PaperGraph } from '../../graph/paperGraph.js';
import { mostRelevant } from '../../graph/relevance.js';
import { parseArxivReference } from '../../papers/arxivIds.js';
import { paperId, type Paper } from '../../papers/paper.js';
import { parseCommandArgs, type CliCommand } from '../command.js';

/** Neighbours listed per kind in the text output; `--json` lists them all. */
const SHOWN = 10;

const SOURCE_NAMES = {
  s2: 'Semantic Scholar',
  openalex: 'OpenAlex',
  bibliography: "the paper's bibliography",
} as const;

export const graphCommand: CliCommand = {
  usage: [
    'papercord graph "<paper>" [--json] [--refresh]',
    '',
    "  <paper>    an arXiv id or link (in the library or not), or a library paper's title or short name",
    '  --json     print {"id","title","references":[{"id","title","year","in_library"}],"citations":[…]};',
    "             id is the arXiv id when there is one, else the source's id (s2:…, openalex:W…, bib:N)",
    '  --refresh  ask the sources even when the cached graph is younger than GRAPH_REFRESH_HOURS',
    '',
    'References and citations come from Semantic Scholar (S2_API_BASE), else OpenAlex (OPENALEX_API_BASE), plus the',
    "paper's own bibliography when its full text is stored. With the sources down, the cached graph is printed with a",
    'note on stderr; with nothing cached the command fails.',
  ].join('\n'),
  async run(args, context) {
    const { values, positionals } = parseCommandArgs(
      args,
      { json: { type: 'boolean', default: false }, refresh: { type: 'boolean', default: false } },
      true,
    );
    const name = positionals.join(' ').trim();
    if (!name) throw new UsageError('graph needs a paper: an arXiv id or link, a title or a short name');
    const { library, graph: graphs } = await context.services();
    const arxivId = parseArxivReference(name);
    const paper: Paper | undefined = arxivId
      ? await library.get(paperId({ title: name, arxivId }))
      : await library.resolve(name);
    const subject: GraphSubject = paper ? PaperGraphService.subjectOf(paper) : { title: `arXiv:${arxivId}`, arxivId };
    const graph = await graphs.graph(subject, { signal: context.signal, refresh: values.refresh });
    for (const note of graph.notes) context.stderr.write(`note: ${note}\n`);
    if (values.json) {
      const json = {
        id: graph.id,
        title: graph.title,
        references: graph.references.map(jsonNeighbor),
        citations: graph.citations.map(jsonNeighbor),
      };
      context.stdout.write(`${JSON.stringify(json)}\n`);
      return;
    }
    context.stdout.write(`${textReport(graph, paper ?? { title: graph.title })}\n`);
  },
};

function jsonNeighbor(neighbor: GraphNeighbor) {
  return { id: neighbor.id, title: neighbor.title, year: neighbor.year ?? null, in_library: neighbor.inLibrary };
}

function textReport(graph: PaperGraph, paper: { title: string; abstract?: string }): string {
  const count = (value: number) => value.toLocaleString('en-US');
  const lines = [
    graph.title,
    `${graph.id} · ${count(graph.referenceCount)} references, ${count(graph.citationCount)} citations ` +
      `(${SOURCE_NAMES[graph.source]}, fetched ${graph.fetchedAt.slice(0, 10)})`,
  ];
  for (const [heading, neighbors] of [
    ['References', graph.references],
    ['Citations', graph.citations],
  ] as const) {
    lines.push('', `${heading}${neighbors.length > SHOWN ? ` (the ${SHOWN} most cited of ${neighbors.length})` : ''}:`);
    if (neighbors.length === 0) lines.push('  none known');
    for (const neighbor of mostRelevant(neighbors, paper, SHOWN)) {
      const year = neighbor.year ? ` (${neighbor.year})` : '';
      lines.push(`  ${neighbor.inLibrary ? '✓' : ' '} ${neighbor.id.padEnd(16)} ${neighbor.title}${year}`);
    }
  }
  lines.push('', '✓ = in the library');
  return lines.join('\n');
}
