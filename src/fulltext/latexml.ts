import { hasChildren, isTag, isText, type AnyNode, type Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { findArxivLinks } from '../papers/arxivIds.js';
import {
  capDocument,
  MAX_BIBLIOGRAPHY_ENTRIES,
  type BibliographyEntry,
  type FullTextBlock,
  type FullTextDocument,
  type FullTextSection,
} from './document.js';

/**
 * arXiv's HTML rendering (LaTeXML) to sections, paragraphs and captions. The HTML is data: it is parsed into a tree
 * and read, nothing in it is run, loaded or followed (scripts, styles, images and links are ignored).
 *
 * The structure read, as LaTeXML writes it:
 * - `article.ltx_document`, its title `h1.ltx_title_document`, the abstract `div.ltx_abstract`;
 * - `section.ltx_section` / `ltx_subsection` / `ltx_subsubsection` / `ltx_appendix`, each opening with an `ltx_title`
 *   heading whose `span.ltx_tag` holds the number (`3 `, `4.1 `, `Appendix A `);
 * - `div.ltx_para` paragraphs, `ltx_paragraph` run-in headings, `figure.ltx_figure` / `figure.ltx_table` with a
 *   `figcaption.ltx_caption`;
 * - `math.ltx_Math` with the LaTeX source in `alttext`, which replaces the MathML.
 * - `section.ltx_bibliography` with one `li.ltx_bibitem` per work cited, its `span.ltx_bibblock`s the authors, the
 *   title and the venue, read apart from the prose (`bibliography`).
 * The page header and footer and footnote bodies are left out.
 */

/** The page is HTML but not a LaTeXML paper (an error page, a landing page): the caller tries the PDF. */
export class NotLatexmlError extends Error {
  override readonly name = 'NotLatexmlError';
}

const SECTION_LEVELS: ReadonlyArray<[string, number]> = [
  ['ltx_section', 1],
  ['ltx_appendix', 1],
  ['ltx_subsection', 2],
  ['ltx_subsubsection', 3],
];

/** Never read: code, styling, navigation and embedded media. */
const SKIPPED_TAGS = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'header',
  'footer',
  'button',
  'svg',
  'iframe',
  'object',
  'embed',
  'img',
  'head',
]);
/** LaTeXML parts that are not the paper's prose. */
const SKIPPED_CLASSES = [
  'ltx_bibliography',
  'ltx_page_header',
  'ltx_page_footer',
  'ltx_page_logo',
  'ltx_authors',
  'ltx_dates',
  'ltx_TOC',
  'ltx_note_outer',
  'ltx_note_mark',
  'ltx_keywords',
  'ltx_classification',
];
/** Elements whose text is a separate line of the paragraph, not run on with the words around it. */
const BLOCK_TAGS = new Set([
  'p',
  'div',
  'li',
  'tr',
  'br',
  'table',
  'figure',
  'figcaption',
  'ul',
  'ol',
  'dl',
  'dd',
  'dt',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'section',
  'blockquote',
  'pre',
]);

function classesOf(element: Element): string[] {
  return (element.attribs.class ?? '').split(/\s+/).filter(Boolean);
}

function hasClass(element: Element, name: string): boolean {
  return classesOf(element).includes(name);
}

function isSkipped(element: Element): boolean {
  if (SKIPPED_TAGS.has(element.name)) return true;
  const classes = classesOf(element);
  return SKIPPED_CLASSES.some((name) => classes.includes(name));
}

/** The readable text of a subtree: math as its LaTeX alt text, skipped parts left out, whitespace collapsed. */
export function textOf(node: AnyNode): string {
  const parts: string[] = [];
  const visit = (current: AnyNode) => {
    if (isText(current)) {
      parts.push(current.data);
      return;
    }
    if (!isTag(current) || isSkipped(current)) return;
    if (current.name === 'math') {
      const alt = current.attribs.alttext?.trim();
      if (alt) parts.push(` ${alt} `);
      return;
    }
    const block = BLOCK_TAGS.has(current.name);
    if (block) parts.push(' ');
    for (const child of current.children) visit(child);
    if (block || current.name === 'td' || current.name === 'th') parts.push(' ');
  };
  visit(node);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

function findFirst(node: AnyNode, test: (element: Element) => boolean): Element | undefined {
  if (isTag(node) && test(node)) return node;
  if (!hasChildren(node)) return undefined;
  for (const child of node.children) {
    const found = findFirst(child, test);
    if (found) return found;
  }
  return undefined;
}

/** `3 `, `4.1 `, `Appendix A ` → `3`, `4.1`, `A`. */
function sectionNumber(tag: string): string | undefined {
  const cleaned = tag
    .replace(/^(appendix|section|§)\s*/i, '')
    .replace(/[.:\s]+$/, '')
    .trim();
  return cleaned || undefined;
}

function headingOf(heading: Element): { number?: string; title: string } {
  const tag = findFirst(heading, (element) => hasClass(element, 'ltx_tag'));
  const full = textOf(heading);
  if (!tag) return { title: full };
  const tagText = textOf(tag);
  const title = full.startsWith(tagText) ? full.slice(tagText.length).trim() : full.replace(tagText, '').trim();
  return { number: sectionNumber(tagText), title: title || full };
}

/** Rows of a LaTeXML table as `a | b | c` lines, so numbers in results tables can be found and quoted. */
function tableRows(figure: Element): string {
  const rows: string[] = [];
  const visit = (node: AnyNode) => {
    if (!isTag(node) || isSkipped(node)) return;
    if (node.name === 'figcaption') return;
    if (node.name === 'tr' || hasClass(node, 'ltx_tr')) {
      const cells = node.children
        .filter(isTag)
        .map((cell) => textOf(cell))
        .filter(Boolean);
      if (cells.length > 0) rows.push(cells.join(' | '));
      return;
    }
    for (const child of node.children) visit(child);
  };
  visit(figure);
  return rows.join('; ');
}

export interface ParseLatexmlOptions {
  maxChars?: number;
}

/**
 * A paper's sections from its LaTeXML page. A page nested too deeply for the recursive walk (htmlparser2 and the
 * walk below run out of stack at a few thousand levels) is no LaTeXML paper: the PDF is tried instead.
 */
export function parseLatexml(html: string, options: ParseLatexmlOptions = {}): FullTextDocument {
  try {
    return parseLatexmlTree(html, options);
  } catch (error) {
    if (error instanceof RangeError)
      throw new NotLatexmlError('the page is nested too deeply to be a LaTeXML rendering of a paper');
    throw error;
  }
}

function parseLatexmlTree(html: string, options: ParseLatexmlOptions): FullTextDocument {
  // Entities are decoded; no script runs and no resource loads: htmlparser2 only builds a tree.
  const root = parseDocument(html, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  const article =
    findFirst(root, (element) => hasClass(element, 'ltx_document')) ??
    findFirst(root, (element) => hasClass(element, 'ltx_page_main'));
  if (!article) throw new NotLatexmlError('the page is not a LaTeXML rendering of a paper (no ltx_document)');

  const titleElement = findFirst(article, (element) => hasClass(element, 'ltx_title_document'));
  const sections: FullTextSection[] = [];
  // Text before the first heading (a preamble paragraph) lands in an unnumbered opening section.
  let current: FullTextSection | undefined;
  const open = (section: FullTextSection) => {
    sections.push(section);
    current = section;
  };
  const add = (block: FullTextBlock) => {
    if (!block.text) return;
    if (!current) open({ title: 'Preamble', level: 1, blocks: [] });
    current!.blocks.push(block);
  };

  const visit = (node: AnyNode, parentLevel: number) => {
    if (!isTag(node) || isSkipped(node)) return;
    const classes = classesOf(node);
    if (classes.includes('ltx_title_document')) return;
    if (classes.includes('ltx_abstract')) {
      open({ title: 'Abstract', level: 1, blocks: [] });
      for (const child of node.children) {
        if (isTag(child) && hasClass(child, 'ltx_title')) continue;
        add({ kind: 'paragraph', text: textOf(child) });
      }
      current = undefined;
      return;
    }
    const level = SECTION_LEVELS.find(([name]) => classes.includes(name))?.[1];
    if (level !== undefined) {
      const heading = node.children.find((child): child is Element => isTag(child) && hasClass(child, 'ltx_title'));
      const { number, title } = heading ? headingOf(heading) : { number: undefined, title: 'Untitled section' };
      open({ ...(number ? { number } : {}), title, level: Math.max(level, parentLevel + 1), blocks: [] });
      const own = current!;
      for (const child of node.children) if (child !== heading) visit(child, own.level);
      // Text after a subsection closes belongs to no heading LaTeXML gave; it stays with the subsection.
      return;
    }
    if (classes.includes('ltx_paragraph') || classes.includes('ltx_subparagraph')) {
      // A run-in heading ("Datasets.") opens its first paragraph, as it reads in the paper.
      const heading = node.children.find((child): child is Element => isTag(child) && hasClass(child, 'ltx_title'));
      let prefix = heading ? textOf(heading).replace(/[.:]?$/, '. ') : '';
      for (const child of node.children) {
        if (child === heading) continue;
        if (isTag(child) && hasClass(child, 'ltx_para')) {
          add({ kind: 'paragraph', text: `${prefix}${paraText(child)}`.trim() });
          prefix = '';
        } else visit(child, parentLevel);
      }
      return;
    }
    if (
      node.name === 'figure' ||
      classes.includes('ltx_figure') ||
      classes.includes('ltx_table') ||
      classes.includes('ltx_float')
    ) {
      const caption = findFirst(node, (element) => element.name === 'figcaption' || hasClass(element, 'ltx_caption'));
      const captionText = caption ? textOf(caption) : '';
      const rows = classes.includes('ltx_table') ? tableRows(node) : '';
      const text = [captionText, rows].filter(Boolean).join(' ');
      if (text) add({ kind: 'caption', text });
      return;
    }
    if (classes.includes('ltx_para')) {
      add({ kind: 'paragraph', text: paraText(node) });
      // Figures inside a paragraph are read as their own captions.
      for (const figure of figuresIn(node)) visit(figure, parentLevel);
      return;
    }
    for (const child of node.children) visit(child, parentLevel);
  };

  /** A paragraph's text without the figures LaTeXML sometimes nests in it. */
  const paraText = (para: Element): string =>
    para.children
      .map((child) => (isTag(child) && isFigure(child) ? '' : textOf(child)))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();

  for (const child of article.children) visit(child, 0);
  const body = sections.filter((section) => section.blocks.length > 0 || section.level < 3);
  if (!body.some((section) => section.title !== 'Abstract' && section.blocks.length > 0)) {
    throw new NotLatexmlError('the LaTeXML page has no sections with text');
  }
  const title = titleElement ? textOf(titleElement) : undefined;
  const bibliography = bibliographyOf(article);
  return capDocument(
    {
      source: 'html',
      ...(title ? { title } : {}),
      sections: body,
      ...(bibliography.length > 0 ? { bibliography } : {}),
    },
    options.maxChars,
  );
}

/** Every element under `node` that passes `test`, in document order (not looking inside a match). */
function findAll(node: AnyNode, test: (element: Element) => boolean, found: Element[] = []): Element[] {
  if (isTag(node) && test(node)) {
    found.push(node);
    return found;
  }
  if (hasChildren(node)) for (const child of node.children) findAll(child, test, found);
  return found;
}

/**
 * The entries of LaTeXML's bibliography. Most styles set the authors, the title and the venue in separate
 * `ltx_bibblock`s, so the second block is taken as the title; an arXiv id is read from the text or a link.
 */
function bibliographyOf(article: Element): BibliographyEntry[] {
  const list = findFirst(article, (element) => hasClass(element, 'ltx_bibliography'));
  if (!list) return [];
  const entries: BibliographyEntry[] = [];
  for (const item of findAll(list, (element) => hasClass(element, 'ltx_bibitem'))) {
    if (entries.length >= MAX_BIBLIOGRAPHY_ENTRIES) break;
    const blocks = findAll(item, (element) => hasClass(element, 'ltx_bibblock'))
      .map(textOf)
      .filter(Boolean);
    const text = blocks.join(' ');
    if (!text) continue;
    const links = findAll(item, (element) => element.name === 'a' && Boolean(element.attribs.href))
      .map((link) => link.attribs.href)
      .join(' ');
    const arxivId = findArxivLinks(`${text} ${links}`)[0];
    const title = blocks.length >= 2 ? blocks[1]!.replace(/[.,\s]+$/, '').trim() : undefined;
    entries.push({ text, ...(title ? { title } : {}), ...(arxivId ? { arxivId } : {}) });
  }
  return entries;
}

function isFigure(element: Element): boolean {
  return element.name === 'figure' || hasClass(element, 'ltx_figure') || hasClass(element, 'ltx_table');
}

function figuresIn(node: Element): Element[] {
  const found: Element[] = [];
  const visit = (current: AnyNode) => {
    if (!isTag(current)) return;
    if (isFigure(current)) {
      found.push(current);
      return;
    }
    for (const child of current.children) visit(child);
  };
  for (const child of node.children) visit(child);
  return found;
}
