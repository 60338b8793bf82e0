// The playground page: a Discord-like text channel. It parses what the user types against the bot's own command
// definitions, posts it to the playground server, and renders the messages the bot really sent, as they change.
import { element, link, renderInline, renderMarkdown, safeHref } from './markdown.js';

const state = {
  /** @type {Array<any>} */ commands: [],
  bot: { id: '', username: 'papercord' },
  user: { id: '', username: 'you' },
  channel: { id: '', name: 'papers' },
  /** @type {Map<string, any>} */ messages: new Map(),
  /** @type {Map<string, string>} */ users: new Map(),
  /** The thread open in the side panel. */ openThread: /** @type {string|null} */ (null),
  /** Threads started on the user's own mentions open by themselves, once. */ autoOpened: new Set(),
  /** Autocomplete picks: the choice name shown in the box and the value Discord would send. */
  picks: /** @type {Map<string, {name: string, value: string}>} */ (new Map()),
  suggestions: /** @type {Array<{label: string, detail?: string, apply: () => void}>} */ ([]),
  activeSuggestion: -1,
  typingTimer: /** @type {number|undefined} */ (undefined),
};

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const composer = /** @type {HTMLInputElement} */ ($('composer'));
const threadComposer = /** @type {HTMLInputElement} */ ($('thread-composer'));

// ---- Talking to the playground server ---------------------------------------------------------------------------

async function postJson(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(payload.error ?? `the playground answered ${response.status}`);
  return payload;
}

function connectEvents() {
  const events = new EventSource('/api/events');
  const connection = $('connection');
  events.onopen = () => {
    connection.textContent = 'connected';
    connection.className = 'connection ok';
  };
  events.onerror = () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'connection lost';
  };
  events.addEventListener('snapshot', (event) => {
    state.messages.clear();
    for (const message of JSON.parse(event.data)) state.messages.set(message.id, message);
    renderAll();
  });
  events.addEventListener('upsert', (event) => {
    const message = JSON.parse(event.data);
    const isNew = !state.messages.has(message.id);
    state.messages.set(message.id, message);
    if (message.author.bot) hideTyping(message.channelId);
    if (message.thread && !state.autoOpened.has(message.thread.id) && message.author.id === state.user.id) {
      state.autoOpened.add(message.thread.id);
      state.openThread = message.thread.id;
    }
    if (isNew) renderAll();
    else rerenderOne(message);
  });
  events.addEventListener('remove', (event) => {
    state.messages.delete(JSON.parse(event.data).id);
    renderAll();
  });
  events.addEventListener('typing', (event) => showTyping(JSON.parse(event.data)));
}

// ---- Rendering messages -----------------------------------------------------------------------------------------

function timeOf(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function renderEmbed(embed) {
  const box = element('article', 'embed');
  if (typeof embed.color === 'number') box.style.borderLeftColor = `#${embed.color.toString(16).padStart(6, '0')}`;
  if (embed.author?.name) {
    const href = embed.author.url && safeHref(embed.author.url);
    box.append(element('div', 'embed-author', [href ? link(href, [embed.author.name]) : embed.author.name]));
  }
  if (embed.title) {
    const href = embed.url && safeHref(embed.url);
    const title = element('div', 'embed-title', [
      href
        ? link(href, renderInline(embed.title, { users: state.users }))
        : element('span', '', renderInline(embed.title, { users: state.users })),
    ]);
    box.append(title);
  }
  if (embed.description)
    box.append(element('div', 'embed-description', [renderMarkdown(embed.description, { users: state.users })]));
  const fields = embed.fields ?? [];
  if (fields.length > 0) {
    const grid = element('div', 'embed-fields');
    // Discord puts up to three consecutive inline fields side by side; others take the whole row.
    let run = [];
    const flushRun = () => {
      const span = run.length === 2 ? 6 : 4;
      for (const node of run) node.style.gridColumn = `span ${span}`;
      run = [];
    };
    for (const field of fields) {
      const node = element('div', `embed-field${field.inline ? ' inline' : ''}`, [
        element('div', 'embed-field-name', renderInline(field.name, { users: state.users })),
        element('div', 'embed-field-value', [renderMarkdown(field.value, { users: state.users })]),
      ]);
      if (field.inline) {
        run.push(node);
        if (run.length === 3) flushRun();
      } else {
        flushRun();
        node.style.gridColumn = '1 / -1';
      }
      grid.append(node);
    }
    flushRun();
    box.append(grid);
  }
  const footerParts = [embed.footer?.text, embed.timestamp ? new Date(embed.timestamp).toLocaleString() : ''].filter(
    Boolean,
  );
  if (footerParts.length > 0) box.append(element('div', 'embed-footer', [footerParts.join(' • ')]));
  return box;
}

function renderMessage(message) {
  const node = element(
    'div',
    `message${message.ephemeral ? ' ephemeral' : ''}${message.author.bot ? ' from-bot' : ''}`,
  );
  node.dataset.messageId = message.id;
  if (message.interaction) {
    node.append(
      element('div', 'interaction-line', [
        element('span', 'reply-spine'),
        element('span', 'interaction-user', [`@${message.interaction.user}`]),
        ' used ',
        element('span', 'interaction-command', [
          message.interaction.invocation ?? `/${message.interaction.commandName}`,
        ]),
      ]),
    );
  }
  const avatar = element('div', `avatar${message.author.bot ? ' bot' : ''}`, [
    message.author.username.slice(0, 1).toUpperCase(),
  ]);
  const header = element('div', 'message-header', [element('span', 'author', [message.author.username])]);
  if (message.author.bot) header.append(element('span', 'bot-tag', ['APP']));
  header.append(element('span', 'timestamp', [timeOf(message.timestamp)]));
  const body = element('div', 'message-body', [header]);
  if (message.loading) {
    body.append(element('div', 'thinking', [`${message.author.username} is thinking`, element('span', 'dots', ['…'])]));
  }
  if (message.content) {
    const content = element('div', 'message-content', [renderMarkdown(message.content, { users: state.users })]);
    if (message.edited) content.append(element('span', 'edited', [' (edited)']));
    body.append(content);
  }
  for (const embed of message.embeds ?? []) body.append(renderEmbed(embed));
  if (message.thread) {
    const open = element('button', 'thread-chip', [
      element('span', 'thread-icon', ['Thread']),
      ' ',
      element('span', 'thread-name', [message.thread.name]),
      ` · ${threadCount(message.thread.id)} messages`,
    ]);
    open.type = 'button';
    open.addEventListener('click', () => {
      state.openThread = message.thread.id;
      renderThread();
    });
    body.append(open);
  }
  if (message.ephemeral) {
    const dismiss = element('button', 'dismiss', ['Dismiss message']);
    dismiss.type = 'button';
    dismiss.addEventListener('click', () => node.remove());
    body.append(element('div', 'ephemeral-note', ['Only you can see this · ', dismiss]));
  }
  node.append(element('div', 'message-row', [avatar, body]));
  return node;
}

function threadCount(threadId) {
  return [...state.messages.values()].filter((message) => message.channelId === threadId).length;
}

function renderList(container, channelId) {
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 120;
  container.replaceChildren(
    ...[...state.messages.values()].filter((message) => message.channelId === channelId).map(renderMessage),
  );
  if (nearBottom) container.scrollTop = container.scrollHeight;
}

function renderThread() {
  const panel = $('thread-panel');
  const starter = state.openThread ? state.messages.get(state.openThread) : undefined;
  if (!starter?.thread) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $('thread-title').textContent = starter.thread.name;
  renderList($('thread-messages'), starter.thread.id);
}

function renderAll() {
  renderList($('messages'), state.channel.id);
  renderThread();
}

function rerenderOne(message) {
  const existing = document.querySelector(`[data-message-id="${CSS.escape(message.id)}"]`);
  if (!existing || message.thread) {
    renderAll();
    return;
  }
  // Streamed edits replace the message in place, as Discord does.
  existing.replaceWith(renderMessage(message));
  const list = message.channelId === state.channel.id ? $('messages') : $('thread-messages');
  if (list.scrollHeight - list.scrollTop - list.clientHeight < 400) list.scrollTop = list.scrollHeight;
}

function showTyping({ channelId, username }) {
  const typing = $('typing');
  typing.hidden = false;
  typing.textContent = `${username} is typing${channelId === state.channel.id ? '' : ' in a thread'}…`;
  typing.dataset.channelId = channelId;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => (typing.hidden = true), 10_000);
}

function hideTyping(channelId) {
  const typing = $('typing');
  if (typing.dataset.channelId === channelId) typing.hidden = true;
}

/** Problems caught before anything is sent (as Discord's client refuses a malformed command), shown only here. */
function showLocalNotice(text) {
  const notice = renderMessage({
    id: `local-${Date.now()}`,
    channelId: state.channel.id,
    author: { id: 'playground', username: 'playground', bot: true },
    content: text,
    embeds: [],
    ephemeral: true,
    loading: false,
    edited: false,
    timestamp: new Date().toISOString(),
  });
  notice.classList.add('local-notice');
  $('messages').append(notice);
  $('messages').scrollTop = $('messages').scrollHeight;
}

// ---- Parsing what the user types --------------------------------------------------------------------------------

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `/name [subcommand] [text] [option: value]…` against the command definitions. Text before the first `option:`
 * goes to the command's first text option, so `/ask why …` works as it reads.
 */
function parseCommandLine(text) {
  const head = /^\/(\S*)/.exec(text);
  if (!head) return null;
  const name = head[1];
  const definition = state.commands.find((command) => command.name === name);
  let cursor = head[0].length;
  const result = {
    name,
    definition,
    subcommand: undefined,
    subcommands: [],
    parameters: [],
    segments: [],
    afterName: cursor,
    hasSpace: /\s/.test(text.slice(cursor, cursor + 1)),
  };
  if (!definition) return result;
  const top = definition.options ?? [];
  result.subcommands = top.filter((option) => option.type === 1);
  result.parameters = top;
  if (result.subcommands.length > 0) {
    result.parameters = [];
    const word = /^\s+(\S+)(?=\s|$)/.exec(text.slice(cursor));
    const subcommand = word && result.subcommands.find((candidate) => candidate.name === word[1]);
    if (!subcommand) return result;
    result.subcommand = subcommand.name;
    result.parameters = subcommand.options ?? [];
    cursor += word[0].length;
  }
  result.afterName = cursor;
  const names = result.parameters.map((parameter) => parameter.name).sort((a, b) => b.length - a.length);
  const markers =
    names.length === 0
      ? []
      : [...text.slice(cursor).matchAll(new RegExp(`(^|\\s)(${names.map(escapeRegExp).join('|')}):`, 'g'))];
  const implicitEnd = markers.length > 0 ? cursor + markers[0].index : text.length;
  const implicitOption =
    result.parameters.find((parameter) => parameter.type === 3 && parameter.required) ??
    result.parameters.find((parameter) => parameter.type === 3);
  if (implicitOption && (text.slice(cursor, implicitEnd).trim() || markers.length === 0)) {
    result.segments.push({ option: implicitOption.name, start: cursor, end: implicitEnd, implicit: true });
  }
  markers.forEach((marker, index) => {
    const start = cursor + marker.index + marker[0].length;
    const end = index + 1 < markers.length ? cursor + markers[index + 1].index : text.length;
    result.segments.push({ option: marker[2], start, end, implicit: false });
  });
  return result;
}

function optionValues(parsed, text) {
  const options = {};
  for (const segment of parsed.segments) {
    const value = text.slice(segment.start, segment.end).trim();
    if (segment.implicit && !value) continue;
    const pick = state.picks.get(segment.option);
    options[segment.option] = pick && pick.name === value ? pick.value : value;
  }
  return options;
}

// ---- Suggestions: commands, subcommands, options and the bot's autocomplete -------------------------------------

let autocompleteRequest = 0;
let autocompleteTimer;

function showSuggestions(items, title) {
  state.suggestions = items;
  state.activeSuggestion = items.length > 0 ? 0 : -1;
  const list = $('suggestions');
  if (items.length === 0) {
    list.hidden = true;
    list.replaceChildren();
    return;
  }
  const rows = items.map((item, index) => {
    const row = element('li', `suggestion${index === state.activeSuggestion ? ' active' : ''}`, [
      element('span', 'suggestion-label', [item.label]),
    ]);
    if (item.detail) row.append(element('span', 'suggestion-detail', [item.detail]));
    row.setAttribute('role', 'option');
    row.addEventListener('mousedown', (event) => {
      event.preventDefault();
      item.apply();
    });
    return row;
  });
  list.replaceChildren(element('li', 'suggestion-title', [title]), ...rows);
  list.hidden = false;
}

function highlightSuggestion(delta) {
  if (state.suggestions.length === 0) return;
  state.activeSuggestion = (state.activeSuggestion + delta + state.suggestions.length) % state.suggestions.length;
  [...$('suggestions').querySelectorAll('.suggestion')].forEach((row, index) =>
    row.classList.toggle('active', index === state.activeSuggestion),
  );
}

function setComposer(text) {
  composer.value = text;
  composer.focus();
  composer.setSelectionRange(text.length, text.length);
  updateSuggestions();
}

function updateSuggestions() {
  const text = composer.value;
  clearTimeout(autocompleteTimer);
  if (!text.startsWith('/')) {
    const mention = /(^|\s)@(\w*)$/.exec(text);
    if (mention && state.bot.username.startsWith(mention[2].toLowerCase())) {
      showSuggestions(
        [
          {
            label: `@${state.bot.username}`,
            detail: 'ask the bot; it answers in a thread',
            apply: () => setComposer(`${text.slice(0, text.length - mention[2].length - 1)}@${state.bot.username} `),
          },
        ],
        'Members',
      );
    } else showSuggestions([], '');
    return;
  }
  const parsed = parseCommandLine(text);
  if (!parsed.definition || !parsed.hasSpace) {
    const typed = parsed.name.toLowerCase();
    const matching = state.commands.filter((command) => command.name.startsWith(typed));
    showSuggestions(
      matching.map((command) => ({
        label: `/${command.name}`,
        detail: command.description,
        apply: () => setComposer(`/${command.name} `),
      })),
      'Commands',
    );
    return;
  }
  if (parsed.subcommands.length > 0 && !parsed.subcommand) {
    const typed = text.slice(parsed.afterName).trim().toLowerCase();
    showSuggestions(
      parsed.subcommands
        .filter((subcommand) => subcommand.name.startsWith(typed))
        .map((subcommand) => ({
          label: `/${parsed.name} ${subcommand.name}`,
          detail: subcommand.description,
          apply: () => setComposer(`/${parsed.name} ${subcommand.name} `),
        })),
      'Subcommands',
    );
    return;
  }
  const caret = composer.selectionStart ?? text.length;
  const segment = parsed.segments.find((candidate) => caret >= candidate.start && caret <= candidate.end);
  const parameter = segment && parsed.parameters.find((candidate) => candidate.name === segment.option);
  if (segment && parameter?.autocomplete && (!segment.implicit || text.slice(segment.start, segment.end).trim())) {
    // Choices for what was typed before are stale: picking one would fill the wrong option.
    showSuggestions([], '');
    autocompleteTimer = setTimeout(() => fetchChoices(parsed, segment, text), 150);
    return;
  }
  const used = new Set(
    parsed.segments
      .filter((candidate) => !candidate.implicit || text.slice(candidate.start, candidate.end).trim())
      .map((candidate) => candidate.option),
  );
  const unused = parsed.parameters.filter((candidate) => !used.has(candidate.name));
  showSuggestions(
    unused.map((candidate) => ({
      label: `${candidate.name}:`,
      detail: `${candidate.required ? '' : '(optional) '}${candidate.description}`,
      apply: () => setComposer(`${text.replace(/\s*$/, ' ')}${candidate.name}: `),
    })),
    'Options',
  );
}

async function fetchChoices(parsed, segment, text) {
  const request = ++autocompleteRequest;
  const query = new URLSearchParams({
    command: parsed.name,
    focused: segment.option,
    options: JSON.stringify(optionValues(parsed, text)),
  });
  if (parsed.subcommand) query.set('subcommand', parsed.subcommand);
  const response = await fetch(`/api/autocomplete?${query}`).catch(() => undefined);
  const payload = response ? await response.json().catch(() => ({})) : {};
  if (request !== autocompleteRequest || composer.value !== text) return;
  const choices = Array.isArray(payload.choices) ? payload.choices : [];
  showSuggestions(
    choices.map((choice) => ({
      label: choice.name,
      apply: () => {
        if (composer.value !== text) return;
        state.picks.set(segment.option, { name: choice.name, value: String(choice.value) });
        const before = text.slice(0, segment.start).replace(/\s*$/, segment.implicit ? ' ' : ' ');
        const prefix = segment.implicit ? `${before}${segment.option}: ` : before;
        const after = text.slice(segment.end);
        let next = `${prefix}${choice.name}${after ? ` ${after.trim()}` : ''} `;
        // Like Discord, move on to the next required option still missing.
        const reparsed = parseCommandLine(next);
        const missing = reparsed.parameters.find(
          (candidate) =>
            candidate.required && !reparsed.segments.some((seg) => seg.option === candidate.name && !seg.implicit),
        );
        if (missing) next = `${next}${missing.name}: `;
        setComposer(next);
      },
    })),
    choices.length > 0 ? `Suggestions for ${segment.option}` : `No suggestions for ${segment.option}`,
  );
}

// ---- Sending ----------------------------------------------------------------------------------------------------

async function submit() {
  const text = composer.value.trim();
  if (!text) return;
  showSuggestions([], '');
  try {
    if (text.startsWith('/')) {
      const parsed = parseCommandLine(text);
      if (!parsed.definition)
        throw new Error(
          `There is no /${parsed.name} command; try ${state.commands.map((command) => `/${command.name}`).join(', ')}.`,
        );
      await postJson('/api/command', {
        name: parsed.name,
        subcommand: parsed.subcommand,
        options: optionValues(parsed, text),
        text,
      });
    } else {
      await postJson('/api/message', { content: text });
    }
    composer.value = '';
    state.picks.clear();
  } catch (error) {
    showLocalNotice(error instanceof Error ? error.message : String(error));
  }
}

async function submitInThread() {
  const text = threadComposer.value.trim();
  if (!text || !state.openThread) return;
  try {
    await postJson('/api/message', { content: text, channelId: state.openThread });
    threadComposer.value = '';
  } catch (error) {
    showLocalNotice(error instanceof Error ? error.message : String(error));
  }
}

composer.addEventListener('input', updateSuggestions);
composer.addEventListener('keydown', (event) => {
  const open = !$('suggestions').hidden && state.suggestions.length > 0;
  if (event.key === 'ArrowDown' && open) {
    event.preventDefault();
    highlightSuggestion(1);
  } else if (event.key === 'ArrowUp' && open) {
    event.preventDefault();
    highlightSuggestion(-1);
  } else if (event.key === 'Tab' && open) {
    event.preventDefault();
    state.suggestions[state.activeSuggestion]?.apply();
  } else if (event.key === 'Escape') {
    showSuggestions([], '');
  }
});
$('composer-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void submit();
});
$('thread-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void submitInThread();
});
$('thread-close').addEventListener('click', () => {
  state.openThread = null;
  renderThread();
});
composer.addEventListener('blur', () => setTimeout(() => showSuggestions([], ''), 150));

async function start() {
  const response = await fetch('/api/commands');
  const info = await response.json();
  state.commands = info.commands;
  state.bot = info.bot;
  state.user = info.user;
  state.channel = info.channel;
  state.users.set(info.bot.id, info.bot.username);
  state.users.set(info.user.id, info.user.username);
  $('channel-name').textContent = info.channel.name;
  $('channel-title').textContent = info.channel.name;
  composer.placeholder = `Message #${info.channel.name} — type / for commands, @${info.bot.username} to ask`;
  connectEvents();
  document.body.dataset.ready = 'true';
  composer.focus();
}

void start();
