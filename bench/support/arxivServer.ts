import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A loopback stand-in for arxiv.org serving fixture papers the way arXiv does: `/html/<id>` the LaTeXML rendering
 * (`ltx_document`, `ltx_section`, `ltx_title` with `ltx_tag` numbers, `ltx_para`, `ltx_caption`, `ltx_Math` with
 * `alttext`, and the page chrome around it), `/pdf/<id>` a PDF when one is set, `/api/query?id_list=` Atom metadata.
 */

export interface FixtureFigure {
  kind: 'figure' | 'table';
  caption: string;
  rows?: string[][];
}

export interface FixtureSection {
  number?: string;
  title: string;
  paragraphs: string[];
  figures?: FixtureFigure[];
  subsections?: FixtureSection[];
}

export interface FixturePaper {
  arxivId: string;
  title: string;
  authors: string[];
  abstract: string;
  sections: FixtureSection[];
}

export interface FixtureQuestion {
  id: string;
  arxivId: string;
  question: string;
  section: string;
  fact: string;
}

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../data/fulltext');

export function fixturePapers(): FixturePaper[] {
  return JSON.parse(readFileSync(path.join(DATA, 'papers.json'), 'utf8')) as FixturePaper[];
}

export function fixtureQuestions(): FixtureQuestion[] {
  return readFileSync(path.join(DATA, 'questions.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as FixtureQuestion);
}

/** The papers as `papercord ingest` reads them (JSON with arXiv ids), abstracts only. */
export function ingestJson(papers: readonly FixturePaper[]): string {
  return JSON.stringify(
    papers.map(({ arxivId, title, authors, abstract }) => ({
      arxivId,
      title,
      authors,
      abstract,
      url: `https://arxiv.org/abs/${arxivId}`,
    })),
  );
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

let mathCounter = 0;
/** `$\lambda = 0.01$` → a LaTeXML `<math>` with the LaTeX in `alttext` and MathML (whose text must not leak) inside. */
function withMath(text: string): string {
  return text
    .split(/(\$[^$]+\$)/)
    .map((part) => {
      if (!part.startsWith('$')) return escape(part);
      const tex = part.slice(1, -1);
      mathCounter += 1;
      return `<math id="m${mathCounter}" class="ltx_Math" alttext="${escape(tex)}" display="inline"><semantics><mrow><mi>MATHML_ONLY</mi><mo>=</mo><mn>0</mn></mrow><annotation encoding="application/x-tex">${escape(tex)}</annotation></semantics></math>`;
    })
    .join('');
}

function renderSection(section: FixtureSection, id: string, depth: number): string {
  const kind = ['section', 'subsection', 'subsubsection'][Math.min(depth, 2)]!;
  const heading = `h${depth + 2}`;
  const tag = section.number ? `<span class="ltx_tag ltx_tag_${kind}">${escape(section.number)} </span>` : '';
  const paragraphs = section.paragraphs
    .map((text, index) => {
      // A citation at the end of the first sentence, where papers put them.
      const cited = withMath(text).replace(
        /\.(\s|$)/,
        ' <cite class="ltx_cite ltx_citemacro_citep">(<a href="#bib.bib1" class="ltx_ref">Doe et al., 2023</a>)</cite>.$1',
      );
      return `<div id="${id}.p${index + 1}" class="ltx_para"><p id="${id}.p${index + 1}.1" class="ltx_p">${cited}</p></div>`;
    })
    .join('\n');
  const figures = (section.figures ?? [])
    .map((figure, index) => {
      const label = figure.kind === 'table' ? `Table ${index + 1}: ` : `Figure ${index + 1}: `;
      const caption = `<figcaption class="ltx_caption ltx_centering"><span class="ltx_tag ltx_tag_${figure.kind}">${label}</span>${withMath(figure.caption)}</figcaption>`;
      if (figure.kind === 'figure') {
        return `<figure id="${id}.F${index + 1}" class="ltx_figure"><img src="x${index + 1}.png" id="${id}.F${index + 1}.g1" class="ltx_graphics" alt="Refer to caption">${caption}</figure>`;
      }
      const rows = (figure.rows ?? [])
        .map(
          (row) =>
            `<tr class="ltx_tr">${row.map((cell) => `<td class="ltx_td ltx_align_center">${escape(cell)}</td>`).join('')}</tr>`,
        )
        .join('');
      return `<figure id="${id}.T${index + 1}" class="ltx_table">${caption}<table class="ltx_tabular ltx_centering ltx_align_middle"><tbody class="ltx_tbody">${rows}</tbody></table></figure>`;
    })
    .join('\n');
  const subsections = (section.subsections ?? [])
    .map((sub, index) => renderSection(sub, `${id}.SS${index + 1}`, depth + 1))
    .join('\n');
  return `<section id="${id}" class="ltx_${kind}">\n<${heading} class="ltx_title ltx_title_${kind}">${tag}${escape(section.title)}</${heading}>\n${paragraphs}\n${figures}\n${subsections}\n</section>`;
}

/** A paper as arXiv's HTML page: LaTeXML's article inside the page chrome, scripts and all. */
export function renderLatexml(paper: FixturePaper, options: { extraBody?: string } = {}): string {
  const sections = paper.sections.map((section, index) => renderSection(section, `S${index + 1}`, 0)).join('\n');
  return `<!DOCTYPE html><html lang="en">
<head><meta charset="utf-8"><title>${escape(paper.title)}</title>
<link rel="stylesheet" href="https://arxiv.org/static/browse/0.3.4/css/ar5iv.min.css" type="text/css">
<script>window.fetch('http://127.0.0.1:1/never');</script>
<script src="https://arxiv.org/static/browse/0.3.4/js/addons.js"></script>
</head>
<body>
<nav class="ltx_page_navbar"><nav class="ltx_TOC"><ol class="ltx_toclist"><li class="ltx_tocentry">Table of contents text that is not the paper</li></ol></nav></nav>
<div class="ltx_page_main">
<header class="ltx_page_header">Report issue for preceding element</header>
<div class="ltx_page_content">
<article class="ltx_document ltx_authors_1line">
<h1 class="ltx_title ltx_title_document">${escape(paper.title)}</h1>
<div class="ltx_authors"><span class="ltx_creator ltx_role_author"><span class="ltx_personname">${escape(paper.authors.join(', '))}</span></span></div>
<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6><p id="id1.id1" class="ltx_p">${withMath(paper.abstract)}</p></div>
${sections}
${options.extraBody ?? ''}
<section id="bib" class="ltx_bibliography"><h2 class="ltx_title ltx_title_bibliography">References</h2><ul class="ltx_biblist"><li id="bib.bib1" class="ltx_bibitem">Doe, J. et al. 2023. A bibliography entry that must not be read.</li></ul></section>
</article>
</div>
<footer class="ltx_page_footer"><div class="ltx_page_logo">Generated by LaTeXML</div></footer>
</div>
</body></html>`;
}

/** A scripted answer: a status and body, or `hang` to never answer (until the server closes). */
export interface CannedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  hang?: boolean;
}

export class ArxivServer {
  readonly requests: string[] = [];
  /** Most requests the server was answering at the same moment. */
  maxConcurrent = 0;
  private active = 0;
  /** Every answer waits this long first, so that overlapping requests would overlap here. */
  responseDelayMs = 0;
  private readonly html = new Map<string, string>();
  private readonly pdf = new Map<string, Uint8Array>();
  private readonly metadata = new Map<string, FixturePaper>();
  private readonly scripted = new Map<string, CannedResponse[]>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(papers: readonly FixturePaper[] = []): Promise<ArxivServer> {
    const server = createServer((request, response) => arxiv.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const arxiv = new ArxivServer(server, `http://127.0.0.1:${port}`);
    for (const paper of papers) arxiv.addPaper(paper);
    return arxiv;
  }

  get htmlBase(): string {
    return `${this.baseUrl}/html`;
  }

  get pdfBase(): string {
    return `${this.baseUrl}/pdf`;
  }

  /** Serves the paper's metadata and its LaTeXML page (unless `html: false`). */
  addPaper(paper: FixturePaper, options: { html?: boolean | string } = {}): void {
    this.metadata.set(paper.arxivId, paper);
    if (options.html === false) return;
    this.html.set(paper.arxivId, typeof options.html === 'string' ? options.html : renderLatexml(paper));
  }

  setPdf(arxivId: string, bytes: Uint8Array): void {
    this.pdf.set(arxivId, bytes);
  }

  /** The next requests for `pathname` get these answers, in order. */
  script(pathname: string, ...responses: CannedResponse[]): void {
    this.scripted.set(pathname, [...(this.scripted.get(pathname) ?? []), ...responses]);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.active += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
    response.on('close', () => (this.active -= 1));
    if (this.responseDelayMs > 0) setTimeout(() => this.answer(request, response), this.responseDelayMs);
    else this.answer(request, response);
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.baseUrl);
    this.requests.push(url.pathname + url.search);
    const canned = this.scripted.get(url.pathname)?.shift();
    if (canned?.hang) return;
    if (canned) {
      response.writeHead(canned.status ?? 200, canned.headers ?? {});
      return void response.end(canned.body ?? '');
    }
    const [, kind, ...rest] = url.pathname.split('/');
    const id = rest.join('/').replace(/v\d+$/, '');
    if (kind === 'html' && this.html.has(id)) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void response.end(this.html.get(id));
    }
    if (kind === 'pdf' && this.pdf.has(id)) {
      response.writeHead(200, { 'content-type': 'application/pdf' });
      return void response.end(this.pdf.get(id));
    }
    if (url.pathname === '/api/query') {
      const ids = (url.searchParams.get('id_list') ?? '').split(',').filter(Boolean);
      response.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
      return void response.end(
        atomFeed(
          ids
            .map((wanted) => this.metadata.get(wanted.replace(/v\d+$/, '')))
            .filter((paper): paper is FixturePaper => paper !== undefined),
        ),
      );
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function atomFeed(papers: readonly FixturePaper[]): string {
  const entries = papers
    .map(
      (paper) => `<entry>
<id>http://arxiv.org/abs/${paper.arxivId}v1</id>
<updated>2025-02-17T10:00:00Z</updated><published>2025-02-17T10:00:00Z</published>
<title>${escape(paper.title)}</title>
<summary>${escape(paper.abstract)}</summary>
${paper.authors.map((name) => `<author><name>${escape(name)}</name></author>`).join('')}
<link href="http://arxiv.org/abs/${paper.arxivId}v1" rel="alternate" type="text/html"/>
<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
<category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
</entry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
<title type="html">ArXiv Query</title><opensearch:totalResults>${papers.length}</opensearch:totalResults>
${entries}
</feed>`;
}
