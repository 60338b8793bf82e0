import { UsageError, UserError } from '../../errors.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CliCommand } from '../command.js';

export const fulltextCommand: CliCommand = {
  usage: [
    'papercord fulltext "<paper>" [--json]',
    '',
    '  <paper>  an id, a title or a short name such as "MrT5"',
    '  --json   print {"id","title","source","sections":[{"heading","chars"}]}; source is html, pdf or local-pdf,',
    '           or abstract when no full text could be had (the reason goes to stderr)',
  ].join('\n'),
  async run(args, context) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, true);
    const name = positionals.join(' ').trim();
    if (!name) throw new UsageError('fulltext needs a paper: an id, a title or a short name');
    const { library, fullText } = await context.services();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);
    if (!fullText.enabled) throw new UserError('full text is off (FULL_TEXT=off); set FULL_TEXT=on to fetch it');
    const paper = await library.resolve(name);

    const status = await fullText.ensure(paper, { signal: context.signal });
    const outline = status.state === 'ready' ? (fullText.outline(paper.id) ?? []) : [];
    if (status.state !== 'ready') {
      const reason = status.state === 'unavailable' ? status.reason : 'full text is off';
      context.stderr.write(`no full text for "${paper.title}" (${reason}); answers about it use the abstract\n`);
    }
    const source = status.state === 'ready' ? status.source : 'abstract';
    const sections =
      status.state === 'ready' ? outline : [{ heading: 'Abstract', level: 1, chars: paper.abstract.length }];
    if (values.json) {
      const json = {
        id: paper.id,
        title: paper.title,
        source,
        sections: sections.map(({ heading, chars }) => ({ heading, chars })),
      };
      context.stdout.write(`${JSON.stringify(json)}\n`);
      return;
    }
    const width = Math.max(...sections.map((section) => section.heading.length + 2 * (section.level - 1)), 10);
    const lines = [paper.title, `${paper.id} · source: ${source}`, ''];
    for (const section of sections) {
      const heading = `${'  '.repeat(section.level - 1)}${section.heading}`;
      lines.push(`  ${heading.padEnd(width)}  ${section.chars.toLocaleString('en-US').padStart(7)} chars`);
    }
    context.stdout.write(`${lines.join('\n')}\n`);
  },
};
