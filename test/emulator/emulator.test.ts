import { Client, Events, GatewayIntentBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DiscordEmulator } from '../../src/emulator/discordEmulator.js';

/**
 * The emulator's own fidelity: the Discord behaviours papercord's tests (and the playground) rely on, checked with
 * raw HTTP and WebSocket clients and with discord.js itself.
 */
const TOKEN = 'emulator-self-test';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function emulator(options: { now?: () => number } = {}): Promise<DiscordEmulator> {
  const started = new DiscordEmulator({ token: TOKEN, heartbeatIntervalMs: 1000, ...options });
  await started.start();
  cleanups.push(() => started.close());
  return started;
}

async function connectedClient(server: DiscordEmulator): Promise<Client> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: server.apiBase },
    allowedMentions: { parse: [] },
  });
  cleanups.push(() => client.destroy());
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(TOKEN);
  await ready;
  return client;
}

function api(server: DiscordEmulator, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.apiBase}/v10${route}`, init);
}

describe('the Discord emulator', () => {
  it('given discord.js, it should bring the client to ready as the emulated bot in the emulated guild and channel', async () => {
    const server = await emulator();
    const client = await connectedClient(server);

    expect(client.user?.id).toBe(server.bot.id);
    expect(client.application?.id).toBe(server.applicationId);
    expect(client.guilds.cache.get(server.guildId)?.channels.cache.has(server.channelId)).toBe(true);
  });

  it('given a REST request without the bot token, it should answer 401 JSON', async () => {
    const server = await emulator();
    const response = await api(server, '/users/@me');

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
  });

  it('given a gateway IDENTIFY with a wrong token, it should close with 4004', async () => {
    const server = await emulator();
    const socket = new WebSocket(`${server.gatewayUrl}/?v=10&encoding=json`);
    cleanups.push(async () => socket.terminate());
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('message', () =>
      socket.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } })),
    );

    expect(await closed).toBe(4004);
  });

  it('given a callback with with_response=true, it should answer 200 with the interaction and the created message', async () => {
    const server = await emulator();
    await connectedClient(server);
    const record = server.dispatchCommand('ask');
    const response = await api(server, `/interactions/${record.id}/${record.token}/callback?with_response=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 4, data: { content: 'hello' } }),
    });

    const body = (await response.json()) as { interaction: { id: string }; resource: { message: { content: string } } };
    expect(response.status).toBe(200);
    expect(body.interaction.id).toBe(record.id);
    expect(body.resource.message.content).toBe('hello');
  });

  it('given a second acknowledgement, or one after the deadline, it should refuse as Discord does', async () => {
    // The deadline is checked on a clock the test steps, so a busy machine can neither miss nor pass it by accident.
    let clock = 1_000_000;
    const server = await emulator({ now: () => clock });
    await connectedClient(server);
    const callback = (id: string, token: string) =>
      api(server, `/interactions/${id}/${token}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 5 }),
      });

    const onTime = server.dispatchCommand('ask');
    expect((await callback(onTime.id, onTime.token)).status).toBe(204);
    const twice = await callback(onTime.id, onTime.token);
    expect(await twice.json()).toMatchObject({ code: 40060 });

    const justInTime = server.dispatchCommand('ask');
    clock += 3_000;
    expect((await callback(justInTime.id, justInTime.token)).status).toBe(204);

    const late = server.dispatchCommand('ask');
    clock += 3_001;
    const tooLate = await callback(late.id, late.token);
    expect(tooLate.status).toBe(404);
    expect(await tooLate.json()).toMatchObject({ code: 10062 });
  });

  it("given a message over Discord's limits, it should answer 400 Invalid Form Body naming the field", async () => {
    const server = await emulator();
    await connectedClient(server);
    const response = await api(server, `/channels/${server.channelId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bot ${TOKEN}` },
      body: JSON.stringify({ content: 'x'.repeat(2001) }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 50035, errors: { content: expect.any(Object) } });
  });

  it('given discord.js sending a DM, it should open the DM channel and keep the message; with DMs closed, it should refuse with 50007', async () => {
    const server = await emulator();
    const client = await connectedClient(server);
    const reader = { id: '1234567890123', username: 'reader-two' };

    const sent = await client.users.send(reader.id, { content: 'hello', allowedMentions: { parse: [] } });
    expect(sent.channel.isDMBased()).toBe(true);
    expect(server.directMessagesTo(reader.id).map((message) => message.content)).toEqual(['hello']);
    expect(server.directMessagesTo(reader.id)[0]).not.toHaveProperty('guild_id');

    server.setDmsClosed(reader.id);
    await expect(client.users.send(reader.id, { content: 'again' })).rejects.toMatchObject({ code: 50007 });
    expect(server.directMessagesTo(reader.id)).toHaveLength(1);
  });

  it('given a click on a button of a DM, it should dispatch a component interaction carrying the message and custom id', async () => {
    const server = await emulator();
    const client = await connectedClient(server);
    await client.users.send(server.user.id, { content: 'a paper', allowedMentions: { parse: [] } });
    const clicked = new Promise<{ customId: string; messageId: string; dm: boolean }>((resolve) =>
      client.on(Events.InteractionCreate, (interaction) => {
        if (interaction.isButton())
          resolve({
            customId: interaction.customId,
            messageId: interaction.message.id,
            dm: interaction.channel?.isDMBased() ?? false,
          });
      }),
    );
    const message = server.directMessagesTo(server.user.id)[0]!;
    server.dispatchButton(message, 'feed:like:arxiv:2501.00001');

    expect(await clicked).toEqual({ customId: 'feed:like:arxiv:2501.00001', messageId: message.id, dm: true });
  });
});
