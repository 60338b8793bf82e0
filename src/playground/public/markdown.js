// The Discord markdown papercord's replies use, rendered as DOM nodes. Message and paper text only ever becomes
// text nodes (never innerHTML), and links only ever point at http(s) URLs.

/** @param {string} url */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {Array<Node|string>} [children]
 */
export function element(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** @param {string} href @param {Array<Node|string>} children */
export function link(href, children) {
  const anchor = element('a', '', children);
  anchor.href = href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer nofollow';
  return anchor;
}

// Inline rules, tried at each position in this order; the earliest match wins.
const INLINE_RULES = [
  { name: 'code', pattern: /`([^`\n]+)`/ },
  { name: 'link', pattern: /\[([^\]\n]+)\]\(<?(https?:\/\/[^\s)>]+)>?\)/ },
  { name: 'autolink', pattern: /<(https?:\/\/[^\s>]+)>|(https?:\/\/[^\s<]+[^\s<.,;:!?)\]'"])/ },
  { name: 'mention', pattern: /<@!?(\d+)>/ },
  { name: 'bold', pattern: /\*\*([\s\S]+?)\*\*/ },
  { name: 'underline', pattern: /__([\s\S]+?)__/ },
  { name: 'italic', pattern: /\*([^*\n]+)\*|\b_([^_\n]+)_\b/ },
  { name: 'strike', pattern: /~~([\s\S]+?)~~/ },
  { name: 'escape', pattern: /\\([\\`*_~[\]()<>#|-])/ },
];

/**
 * @param {string} text
 * @param {{ users: Map<string, string> }} context
 * @returns {Array<Node|string>}
 */
export function renderInline(text, context) {
  const nodes = [];
  let rest = text;
  while (rest.length > 0) {
    let best = null;
    for (const rule of INLINE_RULES) {
      const match = rule.pattern.exec(rest);
      if (match && (best === null || match.index < best.match.index)) best = { rule, match };
    }
    if (!best) {
      nodes.push(rest);
      break;
    }
    const { rule, match } = best;
    if (match.index > 0) nodes.push(rest.slice(0, match.index));
    nodes.push(renderInlineMatch(rule.name, match, context));
    rest = rest.slice(match.index + match[0].length);
  }
  return nodes;
}

/** @param {string} name @param {RegExpExecArray} match @param {{ users: Map<string, string> }} context */
function renderInlineMatch(name, match, context) {
  switch (name) {
    case 'code':
      return element('code', 'inline-code', [match[1]]);
    case 'link': {
      const href = safeHref(match[2]);
      return href ? link(href, renderInline(match[1], context)) : match[0];
    }
    case 'autolink': {
      const url = match[1] ?? match[2];
      const href = safeHref(url);
      return href ? link(href, [url]) : match[0];
    }
    case 'mention': {
      const username = context.users.get(match[1]);
      return element('span', 'mention', [`@${username ?? 'unknown-user'}`]);
    }
    case 'bold':
      return element('strong', '', renderInline(match[1], context));
    case 'underline':
      return element('u', '', renderInline(match[1], context));
    case 'italic':
      return element('em', '', renderInline(match[1] ?? match[2], context));
    case 'strike':
      return element('s', '', renderInline(match[1], context));
    default:
      return match[1];
  }
}

/**
 * Block structure: fenced code, headings, subtext (-#), quotes, bulleted and numbered lists, paragraphs.
 * @param {string} text
 * @param {{ users: Map<string, string> }} context
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text, context) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? '').split('\n');
  let paragraph = [];
  let list = null;

  const flushParagraph = () => {
    if (paragraph.length === 0) return;
    const block = element('div', 'md-line');
    paragraph.forEach((line, index) => {
      if (index > 0) block.append(element('br'));
      block.append(...renderInline(line, context));
    });
    fragment.append(block);
    paragraph = [];
  };
  const flushList = () => {
    if (list) fragment.append(list.node);
    list = null;
  };

  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    if (line.startsWith('```')) {
      flushParagraph();
      flushList();
      const opening = line.slice(3);
      const closesHere = opening.indexOf('```');
      const code = [];
      if (closesHere >= 0) {
        code.push(opening.slice(0, closesHere));
      } else {
        // A lone word after the fence names the language; anything else is already code.
        if (!/^[\w+-]*\s*$/.test(opening)) code.push(opening);
        index += 1;
        while (index < lines.length && !lines[index].includes('```')) code.push(lines[index++]);
        if (index < lines.length) {
          const last = lines[index].slice(0, lines[index].indexOf('```'));
          if (last) code.push(last);
        }
      }
      fragment.append(element('pre', 'code-block', [element('code', '', [code.join('\n')])]));
      continue;
    }
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s*(\d+)[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      flushParagraph();
      const kind = bullet ? 'ul' : 'ol';
      if (!list || list.kind !== kind) {
        flushList();
        const node = element(kind, 'md-list');
        if (numbered) node.start = Number(numbered[1]);
        list = { kind, node };
      }
      list.node.append(element('li', '', renderInline(bullet ? bullet[1] : numbered[2], context)));
      continue;
    }
    flushList();
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const subtext = /^-#\s+(.*)$/.exec(line);
    const quote = /^>\s?(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      fragment.append(element(`h${heading[1].length + 2}`, 'md-heading', renderInline(heading[2], context)));
    } else if (subtext) {
      flushParagraph();
      fragment.append(element('div', 'md-subtext', renderInline(subtext[1], context)));
    } else if (quote) {
      flushParagraph();
      fragment.append(element('blockquote', 'md-quote', renderInline(quote[1], context)));
    } else if (line.trim() === '') {
      flushParagraph();
    } else {
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushList();
  return fragment;
}
