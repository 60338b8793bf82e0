import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createBot, type Bot } from '../../src/discord/bot.js';
import { coreServicesFrom } from '../../src/discord/coreServices.js';
import { DiscordTrendingPoster } from '../../src/discord/trendingPoster.js';
import { silentLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { TrendingRuntime } from '../../src/trending/runtime.js';
import { DiscordEmulator, type EmulatedMessage, type EmulatedUser } from '../../src/emulator/discordEmulator.js';
import { nextSnowflake } from '../../src/emulator/snowflake.js';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';
import { allCommands } from '../support/commands.js';
import { FeedServer, FIXTURES } from './feedServer.js';
import { fakeClock, recordingLogger, tempDataDir } from './helpers.js';

const TOKEN = 'trending-e2e-token';
// 09:00 in Tokyo is 00:00 UTC: the scheduled minute of the day 2025-07-29 is 2025-07-29T00:00Z.
const SCHEDULE = { time: '09:00', timezone: 'Asia/Tokyo' };

let emulator: DiscordEmulator;
let feed: FeedServer;

beforeAll(async () => {
  emulator = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1_000 });
  await emulator.start();
  feed = await FeedServer.start();
});
afterAll(async () => {
  await feed?.close();
  await emulator?.close();
});

/** One run of the bot process: services, a real discord.js client on the emulator, the trending runtime. */
interface BotProcess {
  services: Services;
  bot: Bot;
  runtime: TrendingRuntime;
  stop(): Promise<void>;
}

const running: BotProcess[] = [];
const dataDirs: ReturnType<typeof tempDataDir>[] = [];
afterEach(async () => {
  for (const process of running.splice(0)) await process.stop();
  dataDirs.splice(0).forEach((dir) => dir.cleanup());
});

async function bootBot(
  dataDir: string,
  now: () => Date,
  logger = silentLogger(),
  env: Record<string, string> = {},
): Promise<BotProcess> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    EMBEDDINGS: 'hashing',
    // Full text stays off unless a test turns it on: no test may reach arxiv.org.
    FULL_TEXT: 'off',
    LOG_LEVEL: 'silent',
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_BASE: emulator.apiBase,
    HF_API_BASE: feed.baseUrl,
    TRENDING_SOURCE: 'hf',
    TRENDING_GRACE_HOURS: '6',
    ...env,
  });
  const services = await createServices(config, logger);
  const runtime = TrendingRuntime.open({
    service: services.trending,
    dataDir,
    graceHours: config.TRENDING_GRACE_HOURS,
    logger,
    now,
  });
  const bot = createBot(coreServicesFrom(services), config, logger, {
    commands: allCommands(),
    extraServices: { trending: runtime },
  });
  await bot.start();
  let stopped = false;
  const process: BotProcess = {
    services,
    bot,
    runtime,
    async stop() {
      if (stopped) return;
      stopped = true;
      await runtime.close();
      await bot.stop();
      await services.close();
    },
  };
  running.push(process);
  return process;
}

function newDataDir(): string {
  const dir = tempDataDir();
  dataDirs.push(dir);
  return dir.dir;
}

/** A fresh channel per test, so posts of one test never count in another. */
function newChannel(): string {
  const channelId = String(BigInt(emulator.channelId) + BigInt(Math.floor(Math.random() * 1e9) + 1));
  emulator.channels.set(channelId, {
    ...emulator.channels.get(emulator.channelId)!,
    id: channelId,
    name: `trending-${channelId.slice(-4)}`,
  });
  return channelId;
}

const botPostsIn = (channelId: string) =>
  (emulator.messages.get(channelId) ?? []).filter(
    (message) => message.author && (message.author as { id: string }).id === emulator.bot.id,
  );
const messagePostsTo = (channelId: string) =>
  emulator.requests.filter(
    (request) => request.method === 'POST' && request.route === `/channels/${channelId}/messages`,
  );

describe('trending posts on Discord', () => {
  it('given a restart at the scheduled minute, it should post the day exactly once', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const first = await bootBot(dataDir, clock.now);
    const { subscription } = first.runtime.subscribe({
      guildId: emulator.guildId,
      channelId,
      ...SCHEDULE,
      thread: true,
    });
    await first.runtime.start(new DiscordTrendingPoster(first.bot.client, silentLogger()));

    clock.set('2025-07-29T00:00:00.500Z');
    expect(await first.runtime.schedule!.fire(subscription.id)).toMatchObject({ status: 'sent' });
    await first.stop();

    // Back up 30 seconds later, still within the scheduled minute: the catch-up and the cron tick both run.
    clock.set('2025-07-29T00:00:30Z');
    const second = await bootBot(dataDir, clock.now);
    await second.runtime.start(new DiscordTrendingPoster(second.bot.client, silentLogger()));
    expect(await second.runtime.schedule!.fire(subscription.id)).toEqual({ status: 'done-before' });

    const posts = botPostsIn(channelId);
    expect(posts).toHaveLength(1);
    const [embed] = posts[0].embeds as {
      title: string;
      description: string;
      fields: { name: string; value: string }[];
    }[];
    expect(embed.title).toBe('Trending papers · 2025-07-29');
    expect(embed.description).toMatch(
      /^\*\*1\. \[Frame-Consistent Diffusion Transformers for Long Video Generation\]\(https:\/\/huggingface\.co\/papers\/2507\.20112\)\*\*\n▲ 131 · Jonas Weber, Yuki Sato\n> /,
    );
    expect(embed.fields[0].name).toBe("Today's themes");
    const [request] = messagePostsTo(channelId);
    expect(request.body).toMatchObject({
      nonce: `pc${subscription.id}d20250729`,
      enforce_nonce: true,
      allowed_mentions: { parse: [] },
    });
    // The discussion thread was opened on the post.
    expect(emulator.channels.get(posts[0].id)).toMatchObject({ type: 11, name: 'Trending papers 2025-07-29' });
  });

  it('given a day missed while the bot was down, it should post it at start within the grace window', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const before = await bootBot(dataDir, clock.now);
    before.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE, count: 3 });
    await before.stop();

    clock.set('2025-07-29T02:30:00Z');
    const after = await bootBot(dataDir, clock.now);
    await after.runtime.start(new DiscordTrendingPoster(after.bot.client, silentLogger()));
    const posts = botPostsIn(channelId);
    expect(posts).toHaveLength(1);
    expect((posts[0].embeds[0] as { description: string }).description.match(/^\*\*\d\. /gm)).toHaveLength(3);
  });

  it('given three days missed while the bot was down, all within TRENDING_GRACE_HOURS, it should post each at start, oldest first, once', async () => {
    const day = await readFile(path.join(FIXTURES, 'hf', 'daily_papers_2025-07-29.json'), 'utf8');
    for (const date of ['2025-08-01', '2025-08-02', '2025-08-03']) feed.setDay(date, day);
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-31T12:00:00Z');
    const before = await bootBot(dataDir, clock.now, silentLogger(), { TRENDING_GRACE_HOURS: '72' });
    before.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE, count: 2 });
    await before.stop();

    // Down from before 09:00 Tokyo on August 1 until 11:30 Tokyo on August 3.
    clock.set('2025-08-03T02:30:00Z');
    const after = await bootBot(dataDir, clock.now, silentLogger(), { TRENDING_GRACE_HOURS: '72' });
    await after.runtime.start(new DiscordTrendingPoster(after.bot.client, silentLogger()));
    const titles = () => botPostsIn(channelId).map((post) => (post.embeds[0] as { title: string }).title);
    expect(titles()).toEqual([
      'Trending papers · 2025-08-01',
      'Trending papers · 2025-08-02',
      'Trending papers · 2025-08-03',
    ]);
    await after.stop();

    // Restarted again the same day: nothing is posted twice.
    const again = await bootBot(dataDir, clock.now, silentLogger(), { TRENDING_GRACE_HOURS: '72' });
    await again.runtime.start(new DiscordTrendingPoster(again.bot.client, silentLogger()));
    expect(titles()).toHaveLength(3);
    expect(messagePostsTo(channelId)).toHaveLength(3);
  });

  it('given a deleted channel, it should disable the subscription with a log line and not retry', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const log = recordingLogger();
    const process = await bootBot(dataDir, clock.now, log.logger);
    const { subscription } = process.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE });
    await process.runtime.start(new DiscordTrendingPoster(process.bot.client, log.logger));
    emulator.channels.delete(channelId);

    clock.set('2025-07-29T00:00:01Z');
    expect(await process.runtime.schedule!.fire(subscription.id)).toMatchObject({ status: 'disabled' });
    expect(
      process.runtime.status(emulator.guildId).find((status) => status.subscription.id === subscription.id),
    ).toMatchObject({
      subscription: { enabled: false, disabledReason: expect.stringContaining('the channel was deleted') },
      nextRunAt: undefined,
    });
    expect(
      log
        .lines()
        .some((line) =>
          String(line.msg).startsWith(`trending subscription ${subscription.id} disabled: Unknown Channel`),
        ),
    ).toBe(true);
    const touching = emulator.requests.filter((request) => request.route.startsWith(`/channels/${channelId}`));
    expect(touching).toHaveLength(1);
  });

  it('given the bot lost its permission to post in the channel, it should disable the subscription with a log line and not retry', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const log = recordingLogger();
    const process = await bootBot(dataDir, clock.now, log.logger);
    const { subscription } = process.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE });
    await process.runtime.start(new DiscordTrendingPoster(process.bot.client, log.logger));
    emulator.channelsWithoutSendPermission.add(channelId);

    clock.set('2025-07-29T00:00:01Z');
    expect(await process.runtime.schedule!.fire(subscription.id)).toMatchObject({ status: 'disabled' });
    expect(
      process.runtime.status(emulator.guildId).find((status) => status.subscription.id === subscription.id),
    ).toMatchObject({
      subscription: { enabled: false, disabledReason: expect.stringContaining('may not post') },
      nextRunAt: undefined,
    });
    expect(
      log
        .lines()
        .some((line) =>
          String(line.msg).startsWith(`trending subscription ${subscription.id} disabled: Missing Permissions`),
        ),
    ).toBe(true);
    // A later day does not try again.
    clock.set('2025-07-30T00:00:01Z');
    await process.runtime.schedule!.fire(subscription.id);
    expect(messagePostsTo(channelId).map((request) => request.status)).toEqual([403]);
    expect(botPostsIn(channelId)).toHaveLength(0);
  });

  it('given /trending subscribe then /trending unsubscribe sent through Discord by a manager, it should schedule, then stop, the daily post', async () => {
    const process = await bootBot(newDataDir(), fakeClock('2025-07-28T12:00:00Z').now);
    await process.runtime.start(new DiscordTrendingPoster(process.bot.client, silentLogger()));
    const channelId = newChannel();
    const manager = { ...emulator.user, permissions: String(2248473465835073n | PermissionFlagsBits.ManageGuild) };
    const reply = async (record: { id: string }) => {
      const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
      return answered.callbackBody?.data as { content: string; flags: number; allowed_mentions?: unknown };
    };

    const subscribed = await reply(
      emulator.dispatchCommand('trending', {
        subcommand: 'subscribe',
        user: manager,
        options: { time: '09:00', timezone: 'Asia/Tokyo', topics: 'video, agents', count: 4 },
        channelOptions: { channel: channelId },
      }),
    );
    expect(subscribed.content).toMatch(
      new RegExp(
        `^Subscribed\\. <#${channelId}> · 09:00 Asia/Tokyo · top 4 · topics: video, agents · next: <t:\\d+:f>$`,
      ),
    );
    expect(subscribed.flags & 64).toBe(64);
    expect(subscribed.allowed_mentions).toEqual({ parse: [] });
    const [status] = process.runtime
      .status(emulator.guildId)
      .filter((entry) => entry.subscription.channelId === channelId);
    expect(status).toMatchObject({
      subscription: { time: '09:00', timezone: 'Asia/Tokyo', count: 4, topics: ['video', 'agents'], enabled: true },
    });
    // The next 09:00 in Tokyo (the cron runs on the real clock).
    expect(status!.nextRunAt?.toISOString()).toMatch(/T00:00:00\.000Z$/);
    expect(subscribed.content).toContain(`next: <t:${status!.nextRunAt!.getTime() / 1000}:f>`);

    const unsubscribed = await reply(
      emulator.dispatchCommand('trending', {
        subcommand: 'unsubscribe',
        user: manager,
        channelOptions: { channel: channelId },
      }),
    );
    expect(unsubscribed.content).toBe(`Unsubscribed <#${channelId}>: no more daily trending posts there.`);
    expect(
      process.runtime.status(emulator.guildId).filter((entry) => entry.subscription.channelId === channelId),
    ).toEqual([]);

    const member = { ...emulator.user, permissions: String(2248473465835073n & ~PermissionFlagsBits.ManageGuild) };
    const refused = await reply(
      emulator.dispatchCommand('trending', {
        subcommand: 'subscribe',
        user: member,
        options: { time: '09:00', timezone: 'UTC' },
        channelOptions: { channel: channelId },
      }),
    );
    expect(refused.content).toBe('You need the Manage Server permission to change or see trending subscriptions.');
    expect(
      process.runtime.status(emulator.guildId).filter((entry) => entry.subscription.channelId === channelId),
    ).toEqual([]);
  });

  it('given four subscriptions with ten long topics each, /trending status should still answer, within 2,000 characters', async () => {
    const dataDir = newDataDir();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const process = await bootBot(dataDir, clock.now);
    const topics = Array.from({ length: 10 }, (_, index) =>
      `${'long topic about multimodal agents '.repeat(2)}${index}`.slice(0, 80),
    );
    const channels = [newChannel(), newChannel(), newChannel(), newChannel()];
    for (const channelId of channels)
      process.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE, topics });

    const manager = { ...emulator.user, permissions: String(2248473465835073n | PermissionFlagsBits.ManageGuild) };
    const record = emulator.dispatchCommand('trending', { subcommand: 'status', user: manager });
    const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    const content = String((answered.callbackBody?.data as { content?: string } | undefined)?.content ?? '');
    expect(content.length).toBeLessThanOrEqual(2000);
    expect(content).toContain(`<#${channels[0]}> · 09:00 Asia/Tokyo`);
    expect(content).toMatch(/…\n… and 1 more$/);
  });

  it.each([
    ['utc', 'UTC'],
    ['kolkata', 'Asia/Kolkata'],
    ['kyiv', 'Europe/Kyiv'],
    ['paris', 'Europe/Paris'],
  ])('given "%s" typed as the time zone, it should offer %s', async (typed, zone) => {
    const process = await bootBot(newDataDir(), fakeClock('2025-07-28T12:00:00Z').now);
    const record = emulator.dispatchAutocomplete('trending', {
      subcommand: 'subscribe',
      options: { time: '09:00', timezone: typed },
      focused: 'timezone',
    });
    const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 8);
    const choices = (answered.callbackBody?.data as { choices: { value: string }[] }).choices.map(
      (choice) => choice.value,
    );
    expect(choices).toContain(zone);
    // What is offered is accepted when the command runs.
    expect(
      process.runtime.subscribe({ guildId: emulator.guildId, channelId: newChannel(), time: '09:00', timezone: zone })
        .subscription.enabled,
    ).toBe(true);
  });

  it('given a member without Manage Server, /trending status should tell them privately which permission they lack', async () => {
    await bootBot(newDataDir(), fakeClock('2025-07-28T12:00:00Z').now);
    const member = { ...emulator.user, permissions: String(2248473465835073n & ~PermissionFlagsBits.ManageGuild) };

    const record = emulator.dispatchCommand('trending', { subcommand: 'status', user: member });
    const answered = await emulator.waitForInteraction(record.id, (changed) => changed.callbackType === 4);
    const data = answered.callbackBody?.data as { content?: string; flags?: number } | undefined;
    expect(data?.content).toBe('You need the Manage Server permission to change or see trending subscriptions.');
    expect((data?.flags ?? 0) & 64).toBe(64);
  });

  it('given the feed refuses the day, /trending now should answer with one readable line, not an apology', async () => {
    await bootBot(newDataDir(), fakeClock('2025-07-28T12:00:00Z').now);
    // 404 is not retried, so the failure is immediate.
    feed.failNext({ status: 404, body: 'not found' });

    const record = emulator.dispatchCommand('trending', { subcommand: 'now', options: { date: '2025-07-28' } });
    const answered = await emulator.waitForInteraction(
      record.id,
      (changed) => changed.followUps.length > 0 || changed.originalEdits.length > 0,
    );
    const sent = JSON.stringify([...answered.originalEdits, ...answered.followUps]);
    expect(sent).toMatch(
      /Could not fetch the trending papers just now \(GET http:\/\/127\.0\.0\.1:\d+\/api\/daily_papers\?date=2025-07-28 failed: HTTP 404\)\. Try again later\./,
    );
    expect(sent).not.toMatch(/Sorry|something went wrong/i);
  });

  it('given members chatting in the discussion thread of a post, it should answer only a mention there, and every follow-up in a mention thread, also after a restart', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const asker: EmulatedUser = { id: nextSnowflake(), username: 'asker' };
    const chatter: EmulatedUser = { id: nextSnowflake(), username: 'chatter' };
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const first = await bootBot(dataDir, clock.now);
    const { subscription } = first.runtime.subscribe({
      guildId: emulator.guildId,
      channelId,
      ...SCHEDULE,
      thread: true,
    });
    await first.runtime.start(new DiscordTrendingPoster(first.bot.client, silentLogger()));
    clock.set('2025-07-29T00:00:01Z');
    await first.runtime.schedule!.fire(subscription.id);
    const discussionId = botPostsIn(channelId)[0]!.id;
    const question = emulator.dispatchMessage(
      `${emulator.botMention} what makes long videos consistent across frames?`,
      { channelId, author: asker },
    );
    await emulator.waitForBotMessage(question.id);
    await first.stop();

    const second = await bootBot(dataDir, clock.now);
    emulator.dispatchMessage('did anyone try the video one?', { channelId: discussionId, author: chatter });
    emulator.dispatchMessage(`${emulator.botMention} which paper generates long videos?`, {
      channelId: discussionId,
      author: chatter,
    });
    emulator.dispatchMessage('and how long are the videos?', { channelId: question.id, author: asker });
    await emulator.waitForBotMessage(discussionId);
    await emulator.waitForBotMessage(
      question.id,
      (message) => message.embeds[0]?.title === 'and how long are the videos?',
    );
    // Stopping lets every message handler still running finish: whatever the bot would have said, it has said.
    await second.stop();

    const titles = (messages: EmulatedMessage[]) =>
      messages.map((message) => message.content || String(message.embeds[0]?.title));
    // The chatter's first line neither got a reply nor spent the chatter's cooldown.
    expect(titles(botPostsIn(discussionId))).toEqual(['which paper generates long videos?']);
    expect(titles(botPostsIn(question.id))).toEqual([
      'what makes long videos consistent across frames?',
      'and how long are the videos?',
    ]);
  });

  it('given a language model writing the TL;DRs, /trending now twice in a row should tell the member privately to wait the second time', async () => {
    const llm = await startOpenAICompatibleServer();
    try {
      llm.script({ kind: 'text', content: 'A model-written TL;DR.' });
      const env = {
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.baseURL,
        LLM_MODEL: 'test-model',
        LLM_API_KEY: 'sk-test',
        ASK_COOLDOWN_SECONDS: '60',
        ASK_BURST: '1',
      };
      await bootBot(newDataDir(), fakeClock('2025-07-29T12:00:00Z').now, silentLogger(), env);
      const member = { id: nextSnowflake(), username: 'curious' };

      const first = emulator.dispatchCommand('trending', {
        subcommand: 'now',
        options: { date: '2025-07-29' },
        user: member,
      });
      await emulator.waitForInteraction(first.id, (changed) => (changed.original?.embeds.length ?? 0) > 0, 20_000);
      const second = emulator.dispatchCommand('trending', {
        subcommand: 'now',
        options: { date: '2025-07-29' },
        user: member,
      });
      await emulator.waitForInteraction(second.id, (changed) => changed.callbackType !== undefined);

      expect((first.original?.embeds[0] as { description: string }).description).toContain('A model-written TL;DR.');
      const data = second.callbackBody?.data as { content?: string; flags?: number } | undefined;
      expect(data?.content).toMatch(/^You are asking too often: try again in \d+ s\.$/);
      expect((data?.flags ?? 0) & 64).toBe(64);
    } finally {
      await llm.close();
    }
  });

  it('given a crash between sending and recording the post, it should find the post instead of posting again', async () => {
    const dataDir = newDataDir();
    const channelId = newChannel();
    const clock = fakeClock('2025-07-28T12:00:00Z');
    const first = await bootBot(dataDir, clock.now);
    const { subscription } = first.runtime.subscribe({ guildId: emulator.guildId, channelId, ...SCHEDULE });
    await first.runtime.start(new DiscordTrendingPoster(first.bot.client, silentLogger()));
    clock.set('2025-07-29T00:00:01Z');
    await first.runtime.schedule!.fire(subscription.id);
    await first.stop();
    // What the database holds when the process dies after Discord accepted the message, before it was marked sent.
    const db = new Database(path.join(dataDir, 'papercord.sqlite'));
    db.prepare(
      `UPDATE trending_posts SET status = 'sending', message_id = NULL, claimed_at = '2025-07-29T00:00:02.000Z'`,
    ).run();
    db.close();

    clock.set('2025-07-29T00:30:00Z');
    const second = await bootBot(dataDir, clock.now);
    await second.runtime.start(new DiscordTrendingPoster(second.bot.client, silentLogger()));
    const posts = botPostsIn(channelId);
    expect(posts).toHaveLength(1);
    expect(second.runtime.store.post(subscription.id, '2025-07-29')).toMatchObject({
      status: 'sent',
      messageId: posts[0].id,
    });
  });
});
