/**
 * The checks scripts/image-smoke.sh makes on a running papercord container, from the host:
 *
 *   node --import tsx scripts/image-smoke-checks.ts playground <page URL>
 *     asks /ask through the playground page's own API (POST /api/command, then the /api/events feed) and checks the
 *     answer cites its sources; prints one line, exits 0 or 1.
 *   node --import tsx scripts/image-smoke-checks.ts discord <token>
 *     runs the Discord emulator on 127.0.0.1 and prints `emulator <DISCORD_API_BASE>`; then each `ask` line on stdin
 *     dispatches /ask to the bot that logged in with <token> and prints `ok …` or `fail …`: a cited answer, and no
 *     message the bot sent could ping anyone. Closes on `quit` or end of input.
 */
import { createInterface } from 'node:readline';
import { DiscordEmulator, type JsonObject } from '../src/emulator/discordEmulator.js';
import { mentionsThatWouldPing } from '../src/emulator/payloads.js';

const QUESTION = 'How do byte-level models avoid very long sequences?';
const ANSWER_TIMEOUT_MS = 90_000;

interface Embed {
  description?: string;
  fields?: Array<{ name: string; value: string }>;
}

/** What a user would call a cited answer: `[1]` in the text and the numbered, linked sources below it. */
export function describeCitedAnswer(embeds: readonly JsonObject[]): string | undefined {
  const embed = embeds[0] as Embed | undefined;
  if (!embed?.description) return 'the answer has no embed';
  if (!/\[1\]/.test(embed.description)) return `the answer cites nothing: ${embed.description.slice(0, 200)}`;
  const sources = (embed.fields ?? []).map((field) => field.value).join('\n');
  if (!/\*\*\[1\]\*\* .*\]\(https?:\/\//.test(sources)) return `the answer lists no linked sources: ${sources}`;
  return undefined;
}

interface FeedMessage {
  loading: boolean;
  embeds: JsonObject[];
  interaction?: { commandName: string; invocation?: string };
}

/** The messages the page shows now: the `snapshot` event that opens the page's event stream. */
async function pageSnapshot(pageUrl: string): Promise<FeedMessage[]> {
  const controller = new AbortController();
  const response = await fetch(`${pageUrl}/api/events`, { signal: controller.signal });
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended before its snapshot');
      text += Buffer.from(value).toString('utf8');
      const snapshot = /event: snapshot\ndata: (.*)\n\n/.exec(text);
      if (snapshot) return JSON.parse(snapshot[1]!) as FeedMessage[];
    }
  } finally {
    controller.abort();
  }
}

async function checkPlayground(pageUrl: string): Promise<string> {
  const page = await fetch(pageUrl);
  if (page.status !== 200 || !(await page.text()).includes('papercord playground'))
    throw new Error(`the page at ${pageUrl} answered ${page.status} without the playground`);
  const invocation = `/ask ${QUESTION}`;
  const posted = await fetch(`${pageUrl}/api/command`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ask', options: { question: QUESTION }, text: invocation }),
  });
  if (posted.status !== 202) throw new Error(`POST /api/command answered ${posted.status}: ${await posted.text()}`);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  for (;;) {
    const reply = (await pageSnapshot(pageUrl)).find(
      (message) => message.interaction?.invocation === invocation && !message.loading && message.embeds.length > 0,
    );
    if (reply) {
      const problem = describeCitedAnswer(reply.embeds);
      if (problem) throw new Error(problem);
      return `page served, /ask answered with citations through the page's API`;
    }
    if (Date.now() > deadline) throw new Error(`no answer to /ask on the page within ${ANSWER_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function askDiscord(emulator: DiscordEmulator): Promise<string> {
  const before = emulator.requests.length;
  const asked = emulator.dispatchCommand('ask', { options: { question: QUESTION } });
  const answered = await emulator.waitForInteraction(
    asked.id,
    (changed) => (changed.original?.embeds.length ?? 0) > 0,
    ANSWER_TIMEOUT_MS,
  );
  const problem = describeCitedAnswer(answered.original!.embeds);
  if (problem) throw new Error(problem);
  const sent = emulator.requests.slice(before).flatMap((request) => {
    const body = (request.route.endsWith('/callback') ? request.body?.data : request.body) as JsonObject | undefined;
    return body && (body.content !== undefined || body.embeds !== undefined) ? [body] : [];
  });
  if (sent.length === 0) throw new Error('the bot sent no message');
  for (const body of sent) {
    const allowed = JSON.stringify(body.allowed_mentions);
    if (allowed !== '{"parse":[]}') throw new Error(`a message went out with allowed_mentions ${allowed}`);
    if (mentionsThatWouldPing(body).length > 0) throw new Error('a message would ping someone');
  }
  return `/ask answered with citations, ${sent.length} message(s) sent, all with allowed_mentions parse []`;
}

async function runDiscord(token: string): Promise<void> {
  const emulator = new DiscordEmulator({ token, heartbeatIntervalMs: 5_000 });
  await emulator.start();
  process.stdout.write(`emulator ${emulator.apiBase}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'quit') break;
    if (line.trim() !== 'ask') continue;
    try {
      process.stdout.write(`ok ${await askDiscord(emulator)}\n`);
    } catch (error) {
      process.stdout.write(`fail ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  await emulator.close();
}

const [mode, argument] = process.argv.slice(2);
if (mode === 'playground' && argument) {
  try {
    process.stdout.write(`ok ${await checkPlayground(argument)}\n`);
  } catch (error) {
    process.stdout.write(`fail ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
} else if (mode === 'discord' && argument) {
  await runDiscord(argument);
} else {
  process.stderr.write('usage: image-smoke-checks.ts playground <page URL> | discord <token>\n');
  process.exitCode = 2;
}
