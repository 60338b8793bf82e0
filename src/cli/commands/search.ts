import { UserError } from '../../errors.js';
import { missingLead } from '../../retrieval/keyConcepts.js';
import { LOW_CONFIDENCE_LEAD } from '../../retrieval/types.js';
import { EMPTY_LIBRARY_HINT, parseTextQuery, type CliCommand } from '../command.js';

const DEFAULT_K = 5;
const MAX_K = 100;

export const searchCommand: CliCommand = {
  usage: [
    'papercord search "<query>" [-k 5] [--json]',
    '',
    `  -k       how many papers (1 to ${MAX_K}, default ${DEFAULT_K})`,
    '  --json   print [{"id","title","score","confidence"}], best first (score: fused relevance, higher is better;',
    '           confidence: high, or low when nothing clearly matches and these are only the closest); [] when nothing is near',
  ].join('\n'),
  async run(args, context) {
    const {
      text: query,
      k,
      json,
    } = parseTextQuery(args, { missingText: 'search needs a query', defaultK: DEFAULT_K, maxK: MAX_K });
    const { library, retriever } = await context.searchServices();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);

    const {
      hits,
      abstained,
      confidence,
      missing = [],
    } = await retriever.retrieve(query, { k, signal: context.signal });
    if (json) {
      const rows = hits.map((hit) => ({
        id: hit.paper.id,
        title: hit.paper.title,
        score: round(hit.score),
        confidence,
      }));
      context.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    if (abstained) {
      context.stdout.write(`Nothing in the library is relevant to "${query}".\n`);
      return;
    }
    if (missing.length > 0) context.stdout.write(`${missingLead(query, missing)}:\n`);
    else if (confidence === 'low') context.stdout.write(`${LOW_CONFIDENCE_LEAD}:\n`);
    hits.forEach((hit, index) => {
      context.stdout.write(
        `${String(index + 1).padStart(2)}. ${hit.score.toFixed(3)}  ${hit.paper.title}  [${hit.paper.id}]\n`,
      );
    });
  },
};

function round(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}
