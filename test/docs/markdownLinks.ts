/**
 * Finds the relative links and `#anchors` in Markdown files that do not resolve, as GitHub would render them.
 * marked parses the Markdown (so links in code spans and code blocks are not links, and reference-style links and
 * links in tables are), github-slugger gives the anchors GitHub generates for headings (lowercase, punctuation
 * dropped except - and _, spaces to -, a repeated heading gets -1, -2…).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import { marked, type Token } from 'marked';

export interface BrokenLink {
  /** The Markdown file holding the link, relative to the root. */
  file: string;
  href: string;
  reason: string;
}

/** Reads files relative to a root: the repository on disk, or a map of files in a test. */
export interface MarkdownFiles {
  read(relativePath: string): string | undefined;
  /** A file or a folder. */
  exists(relativePath: string): boolean;
}

export function filesOnDisk(root: string): MarkdownFiles {
  return {
    read: (relativePath) => {
      const full = path.join(root, relativePath);
      return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
    },
    exists: (relativePath) => existsSync(path.join(root, relativePath)),
  };
}

export function filesInMemory(files: Record<string, string>): MarkdownFiles {
  const paths = Object.keys(files);
  return {
    read: (relativePath) => files[relativePath],
    exists: (relativePath) =>
      relativePath === '' ||
      relativePath === '.' ||
      paths.some((file) => file === relativePath || file.startsWith(`${relativePath}/`)),
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };

/** The text GitHub shows for a heading: code spans keep their text, emphasis and links their words. */
function plainText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      if ('tokens' in token && Array.isArray(token.tokens) && token.type !== 'codespan') {
        return plainText(token.tokens as Token[]);
      }
      const text = 'text' in token && typeof token.text === 'string' ? token.text : '';
      return token.type === 'codespan' || token.type === 'escape'
        ? text
        : text.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => ENTITIES[name]!);
    })
    .join('');
}

function parse(markdown: string): { anchors: Set<string>; links: string[] } {
  const tokens = marked.lexer(markdown);
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: string[] = [];
  marked.walkTokens(tokens, (token) => {
    if (token.type === 'heading') anchors.add(slugger.slug(plainText(token.tokens ?? [])));
    if (token.type === 'link' || token.type === 'image') links.push(token.href);
  });
  return { anchors, links };
}

/** `https:`, `mailto:`, `//host`: not a file of this repository. */
const EXTERNAL = /^([a-z][a-z0-9+.-]*:|\/\/)/i;

/** The anchors (heading slugs) of a Markdown text, in GitHub's spelling. */
export function headingAnchors(markdown: string): Set<string> {
  return parse(markdown).anchors;
}

/** Every relative link and anchor of `markdownPaths` (relative to the root) that does not resolve. */
export function findBrokenLinks(markdownPaths: readonly string[], files: MarkdownFiles): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const anchorsOf = new Map<string, Set<string> | undefined>();
  const anchorsIn = (file: string) => {
    if (!anchorsOf.has(file)) {
      const text = files.read(file);
      anchorsOf.set(file, text === undefined ? undefined : parse(text).anchors);
    }
    return anchorsOf.get(file);
  };

  for (const file of markdownPaths) {
    const text = files.read(file);
    if (text === undefined) {
      broken.push({ file, href: '', reason: 'the file itself does not exist' });
      continue;
    }
    for (const href of parse(text).links) {
      if (EXTERNAL.test(href)) continue;
      const hashAt = href.indexOf('#');
      const target = decodeURI(hashAt === -1 ? href : href.slice(0, hashAt));
      const anchor = hashAt === -1 ? undefined : decodeURIComponent(href.slice(hashAt + 1));
      if (target.startsWith('/')) {
        broken.push({
          file,
          href,
          reason: 'an absolute path: GitHub resolves it against github.com, not the repository',
        });
        continue;
      }
      const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
      if (resolved.startsWith('../')) {
        broken.push({ file, href, reason: 'points outside the repository' });
        continue;
      }
      if (!files.exists(resolved)) {
        broken.push({ file, href, reason: `${resolved} does not exist` });
        continue;
      }
      if (anchor === undefined || anchor === '' || !resolved.endsWith('.md')) continue;
      const anchors = anchorsIn(resolved);
      if (!anchors?.has(anchor)) {
        broken.push({ file, href, reason: `${resolved} has no heading whose anchor is #${anchor}` });
      }
    }
  }
  return broken;
}

/** Top-level folders whose files the documentation names in code spans, such as `src/retrieval/hybrid.ts`. */
const REPOSITORY_PATH = /^(\.ci|bench|commands|docs|prompts|scripts|seeds|src|test)\/[\w./-]*$/;

/**
 * Paths of the repository named in code spans (`src/config.ts`, `bench/data/`) that do not exist: files move, and the
 * page that names them must move with them. Paths with placeholders (`vectors-<seq>.hnsw`, `{id}`) are not checked.
 */
export function findMissingPaths(markdownPaths: readonly string[], files: MarkdownFiles): BrokenLink[] {
  const missing: BrokenLink[] = [];
  for (const file of markdownPaths) {
    const text = files.read(file);
    if (text === undefined) continue;
    marked.walkTokens(marked.lexer(text), (token) => {
      if (token.type !== 'codespan') return;
      const named = token.text.trim();
      if (!REPOSITORY_PATH.test(named)) return;
      if (!files.exists(named.replace(/\/$/, ''))) {
        missing.push({ file, href: named, reason: `${named} does not exist` });
      }
    });
  }
  return missing;
}

export function describeBrokenLinks(broken: readonly BrokenLink[]): string {
  return broken.map((link) => `${link.file}: (${link.href}) ${link.reason}`).join('\n');
}
