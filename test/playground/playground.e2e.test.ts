import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import { playgroundTrending } from '../../src/playground/main.js';
import type { Playground } from '../../src/playground/server.js';
import { createServices, type Services } from '../../src/services.js';
import { startOpenAICompatibleServer, type OpenAICompatibleServer } from '../helpers/openaiServer.js';
import { startTestPlayground } from '../support/playground.js';
import { missingService } from '../support/services.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve('artifacts');
const withoutChromium = missingService(
  'Chromium',
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; .ci/run does it)`,
);

const LINKED_PAPERS: Paper[] = [
  {
    title: 'Byte Latent Transformer: Patches Scale Better Than Tokens',
    abstract:
      'Byte-level language models avoid very long sequences by grouping bytes into dynamically sized patches, so that the transformer runs over far fewer positions than bytes while matching tokenizer-based models.',
    url: 'https://arxiv.org/abs/2412.09871',
  },
].map((paper) => ({ ...paper, id: paperId(paper), source: 'test' }));

let dataDir: string;
let services: Services;
let playground: Playground;
let browser: Browser;
let page: Page;

describe.skipIf(withoutChromium)('the playground in a browser', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-playground-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      // Full text stays off unless a test turns it on: no test may reach arxiv.org.
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      LLM_PROVIDER: 'none',
      ASK_COOLDOWN_SECONDS: '0',
      TRENDING_SOURCE: 'seeds',
    });
    services = await createServices(config, silentLogger());
    // The seed pages carry no links; papers from the feeds do, and answers link their sources.
    await services.library.add([...(await loadPapersFromSource('seeds')), ...LINKED_PAPERS]);
    playground = await startTestPlayground(services, config, {
      extraServices: { trending: playgroundTrending(services) },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
    await services?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(playground.url);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#connection.ok').waitFor();
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      await page.screenshot({
        path: path.join(ARTIFACTS, `failed-${context.task.name.slice(6, 40).replace(/\W+/g, '-')}.png`),
      });
    }
    await page.close();
  });

  async function send(text: string): Promise<void> {
    await page.locator('#composer').fill(text);
    await page.locator('#composer').press('Enter');
  }

  /** The bot's reply to the command typed as `invocation`. */
  const replyTo = (invocation: string) =>
    page
      .locator('#messages .message.from-bot')
      .filter({ has: page.locator('.interaction-command', { hasText: invocation }) });

  it('given a question typed as /ask, it should show the answer the bot sent, citing [1] with a link to the source', async () => {
    const question = 'How do byte-level models avoid very long sequences?';
    await send(`/ask ${question}`);

    const reply = replyTo(`/ask ${question}`);
    await reply.locator('.embed-field-name', { hasText: 'Sources' }).waitFor({ timeout: 20_000 });
    await expect(reply.locator('.embed-title').textContent()).resolves.toBe(question);
    await expect(reply.locator('.embed-description').textContent()).resolves.toMatch(/\[1\]/);
    const sources = reply.locator('.embed-field', { hasText: 'Sources' });
    await expect(sources.locator('strong', { hasText: '[1]' }).count()).resolves.toBe(1);
    const links = await sources
      .locator('a')
      .evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
    expect(links.length).toBeGreaterThan(0);
    expect(links).toContain('https://arxiv.org/abs/2412.09871');
    expect(await reply.locator('.thinking').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-ask.png') });
  });

  it('given two papers picked by autocomplete, /compare should show them side by side in inline fields', async () => {
    const composer = page.locator('#composer');
    await composer.fill('/compare ');
    await composer.pressSequentially('SEED of Vision');
    const firstChoice = page.locator('#suggestions .suggestion', { hasText: 'Planting a SEED of Vision' });
    await firstChoice.waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-autocomplete.png') });
    await firstChoice.click();
    await expect(composer.inputValue()).resolves.toMatch(/paper_a: Planting a SEED of Vision.* paper_b: $/);
    await composer.pressSequentially('Mixture-of-Recursions');
    await page.locator('#suggestions .suggestion', { hasText: 'Mixture-of-Recursions' }).first().click();
    await composer.press('Enter');

    const reply = page.locator('#messages .message.from-bot', {
      has: page.locator('.embed-title', { hasText: 'Comparison' }),
    });
    await reply.waitFor({ timeout: 20_000 });
    const header = await reply.locator('.embed-description').textContent();
    expect(header).toContain('Planting a SEED of Vision');
    expect(header).toContain('Mixture-of-Recursions');
    const [left, right] = await Promise.all(
      ['Problem · 1', 'Problem · 2'].map((name) =>
        reply.locator('.embed-field.inline', { hasText: name }).boundingBox(),
      ),
    );
    expect(left && right && Math.abs(left.y - right.y) < 2 && right.x > left.x).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-compare.png') });
  });

  it("given /ask with no question, it should show the bot's error only to the user", async () => {
    await send('/ask');

    const reply = replyTo('/ask').filter({ hasText: 'question is empty' });
    await reply.waitFor({ timeout: 10_000 });
    await expect(reply.getAttribute('class')).resolves.toContain('ephemeral');
    await expect(reply.locator('.ephemeral-note').textContent()).resolves.toContain('Only you can see this');
  });

  it('given a mention carrying HTML, it should show the text as typed, answer in a new thread, and answer a follow-up there', async () => {
    await send('@papercord <img src=x onerror="document.title=1"> what does **LoRA** tuning change?');

    const asked = page.locator('#messages .message:not(.from-bot)').last();
    await asked.waitFor();
    await expect(asked.locator('.message-content').textContent()).resolves.toBe(
      '@papercord <img src=x onerror="document.title=1"> what does LoRA tuning change?',
    );
    expect(await asked.locator('img').count()).toBe(0);
    await expect(asked.locator('strong').textContent()).resolves.toBe('LoRA');
    const threadAnswer = page.locator('#thread-panel .message.from-bot .embed');
    await threadAnswer.first().waitFor({ timeout: 20_000 });
    await expect(page.locator('#thread-title').textContent()).resolves.toContain('what does **LoRA** tuning change?');
    expect(await page.title()).toBe('papercord playground');

    await page.locator('#thread-composer').fill('And which paper works on raw bytes?');
    await page.locator('#thread-composer').press('Enter');
    await page
      .locator('#thread-panel .message:not(.from-bot)', { hasText: 'And which paper works on raw bytes?' })
      .waitFor();
    await expect.poll(() => threadAnswer.count(), { timeout: 20_000 }).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-thread.png') });
  });

  it('given a paper picked by autocomplete, /paper should show its card with the title linking to the paper', async () => {
    const composer = page.locator('#composer');
    await composer.fill('/paper ');
    await composer.pressSequentially('Byte Latent');
    await page.locator('#suggestions .suggestion', { hasText: 'Byte Latent Transformer' }).first().click();
    await composer.press('Enter');

    const title = replyTo('/paper paper: Byte Latent Transformer').locator('.embed-title a');
    await title.waitFor({ timeout: 20_000 });
    await expect(title.textContent()).resolves.toBe('Byte Latent Transformer: Patches Scale Better Than Tokens');
    await expect(title.getAttribute('href')).resolves.toBe('https://arxiv.org/abs/2412.09871');
  });

  it('given a phone-width window, the channel should get the width and an answer should fit it', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await send('/ask which models merge or delete byte tokens on the fly?');
    const reply = replyTo('/ask which models merge or delete byte tokens on the fly?');
    await reply.locator('.embed-field-name', { hasText: 'Sources' }).waitFor({ timeout: 20_000 });

    const messages = await page.locator('#messages').boundingBox();
    expect(messages!.width).toBeGreaterThanOrEqual(360);
    const embed = await reply.locator('.embed').boundingBox();
    expect(embed!.x + embed!.width).toBeLessThanOrEqual(375);
    expect(await page.locator('html').evaluate((root) => root.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-phone.png') });
  });
});

describe.skipIf(withoutChromium)('the playground with a streaming language model', () => {
  let llm: OpenAICompatibleServer;
  let llmDataDir: string;
  let llmServices: Services;
  let llmPlayground: Playground;
  let llmBrowser: Browser;

  beforeAll(async () => {
    llm = await startOpenAICompatibleServer();
    llmDataDir = await mkdtemp(path.join(tmpdir(), 'papercord-playground-llm-'));
    const config = loadConfig({
      DATA_DIR: llmDataDir,
      EMBEDDINGS: 'hashing',
      // Full text stays off unless a test turns it on: no test may reach arxiv.org.
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      ASK_COOLDOWN_SECONDS: '0',
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.baseURL,
      LLM_MODEL: 'test-model',
      LLM_API_KEY: 'sk-test',
    });
    llmServices = await createServices(config, silentLogger());
    await llmServices.library.add(await loadPapersFromSource('seeds'));
    llmPlayground = await startTestPlayground(llmServices, config);
    llmBrowser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await llmBrowser?.close();
    await llmPlayground?.close();
    await llmServices?.close();
    await llm?.close();
    if (llmDataDir) await rm(llmDataDir, { recursive: true, force: true });
  });

  it('given a long streamed answer, it should edit the one reply in place and show the rest as follow-ups of the same command', async () => {
    const text = Array.from(
      { length: 175 },
      (_, index) => `Point ${index}: byte-level models merge tokens early [1].`,
    ).join(' ');
    llm.script({ kind: 'text', content: text });
    const llmPage = await llmBrowser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await llmPage.goto(llmPlayground.url);
      await llmPage.locator('#connection.ok').waitFor();
      await llmPage.locator('#composer').fill('/ask How do byte-level models avoid long sequences?');
      await llmPage.locator('#composer').press('Enter');

      const replies = llmPage.locator('#messages .message.from-bot');
      await replies
        .locator('.embed-footer', { hasText: 'Model: openai/test-model' })
        .first()
        .waitFor({ timeout: 20_000 });
      await llmPage.locator('#messages', { hasText: 'Point 174:' }).waitFor({ timeout: 20_000 });
      const record = [...llmPlayground.emulator.interactions.values()].find(
        (candidate) => candidate.commandName === 'ask',
      )!;
      expect(record.originalEdits.length).toBeGreaterThan(0);
      expect(await replies.count()).toBe(1 + record.followUps.length);
      expect(await replies.locator('.interaction-command', { hasText: '/ask How do byte-level models' }).count()).toBe(
        await replies.count(),
      );
      expect(await llmPage.locator('#messages .thinking').count()).toBe(0);
    } finally {
      await llmPage.close();
    }
  });
});
