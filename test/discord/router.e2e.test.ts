import { SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOPPING_MESSAGE } from '../../src/discord/bot.js';
import { APOLOGY } from '../../src/discord/router.js';
import type { SlashCommand } from '../../src/discord/types.js';
import { UserError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { InteractionRecord } from '../../src/emulator/discordEmulator.js';
import { startBotHarness, type BotHarness } from '../../bench/support/botHarness.js';

const EPHEMERAL = 64;

function command(name: string, execute: SlashCommand['execute']): SlashCommand {
  return { data: new SlashCommandBuilder().setName(name).setDescription(`test command ${name}`), execute };
}

/** `/slow` holds its answer until the test lets it finish: it is still running whenever the test needs it to be. */
let letSlowFinish!: () => void;
const slowMayFinish = new Promise<void>((resolve) => (letSlowFinish = resolve));

const TEST_COMMANDS: SlashCommand[] = [
  command('bug-after-defer', async (interaction) => {
    await interaction.deferReply();
    throw new Error('database password hunter2 rejected');
  }),
  command('bug-before-defer', async () => {
    throw new TypeError('cannot read properties of undefined');
  }),
  command('slow', async (interaction) => {
    await interaction.deferReply();
    await slowMayFinish;
    await interaction.editReply({ content: 'done after a while' });
  }),
  command('refused-after-defer', async (interaction) => {
    await interaction.deferReply();
    throw new UserError('That paper is not in the library.');
  }),
];

const logLines: string[] = [];
let harness: BotHarness;

beforeAll(async () => {
  harness = await startBotHarness({
    commands: new Map(TEST_COMMANDS.map((entry) => [entry.data.name, entry])),
    logger: createLogger({ LOG_LEVEL: 'info' }, { destination: { write: (line: string) => void logLines.push(line) } }),
  });
});

afterAll(async () => {
  await harness?.close();
});

async function run(name: string): Promise<InteractionRecord> {
  const record = harness.emulator.dispatchCommand(name);
  return harness.emulator.waitForInteraction(
    record.id,
    (changed) => changed.followUps.length > 0 || changed.callbackType === 4,
  );
}

describe('the one error handler', () => {
  it('given a bug after a public defer, it should remove the reply, apologise to the user only, and log the error with context', async () => {
    const record = await run('bug-after-defer');

    expect(record.originalDeleted).toBe(true);
    expect(record.followUps[0]).toMatchObject({ content: APOLOGY });
    expect(record.followUps[0]!.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(JSON.stringify(harness.emulator.requests.map((request) => request.body))).not.toContain('hunter2');
    const logged = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'command failed');
    expect(logged).toMatchObject({ command: 'bug-after-defer', interaction: record.id });
    expect(JSON.stringify(logged)).toContain('hunter2');
  });

  it('given a bug before any reply, it should answer with an ephemeral apology', async () => {
    const record = await run('bug-before-defer');

    const data = record.callbackBody?.data as { content: string; flags: number };
    expect(data).toMatchObject({ content: APOLOGY, flags: EPHEMERAL });
  });

  it('given a UserError after a public defer, it should show its message to the user only, and log nothing as an error', async () => {
    const errorsBefore = logLines.filter((line) => line.includes('"level":50')).length;
    const record = await run('refused-after-defer');

    expect(record.followUps[0]).toMatchObject({ content: 'That paper is not in the library.', flags: EPHEMERAL });
    expect(logLines.filter((line) => line.includes('"level":50'))).toHaveLength(errorsBefore);
  });

  it('given a command the bot does not have (registered by an older version), it should say so ephemerally', async () => {
    const record = await run('summarise-everything');

    expect(record.callbackBody?.data).toMatchObject({
      content: '/summarise-everything is not available in this version of the bot.',
      flags: EPHEMERAL,
    });
  });
});

describe('stopping the bot', () => {
  it('given an answer running when stop is called, it should finish it, and refuse new commands meanwhile', async () => {
    const { emulator, bot } = harness;
    const running = emulator.dispatchCommand('slow');
    await emulator.waitForInteraction(running.id, (record) => record.callbackType === 5);

    const stopped = bot.stop();
    const refused = emulator.dispatchCommand('slow');
    await emulator.waitForInteraction(refused.id, (record) => record.callbackType !== undefined);
    expect(running.original?.content).not.toBe('done after a while');
    letSlowFinish();
    await stopped;

    expect(running.original?.content).toBe('done after a while');
    expect(refused.callbackBody?.data).toMatchObject({ content: STOPPING_MESSAGE, flags: EPHEMERAL });
  });
});
