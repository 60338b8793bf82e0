/**
 * The Discord side of the Discord benchmark, in a process of its own: the loopback emulator stands in for Discord's
 * servers, which never share the bot's CPU, so it should not share the bot's thread either. The parent process runs
 * the bot; over the IPC channel it asks for a burst and gets back what the users got.
 */
import { DiscordEmulator } from '../src/emulator/discordEmulator.js';
import { runBurst, type BurstOutcome, type BurstRequest } from './discordBurst.js';

export type EmulatorProcessRequest = { burst: BurstRequest } | { close: true };
export type EmulatorProcessReply = { ready: string } | { outcome: BurstOutcome } | { error: string };

const send = (reply: EmulatorProcessReply) => process.send!(reply);

// The bot's token, from the parent (argv), so that this process loads the emulator and nothing of the bot.
const emulator = new DiscordEmulator({ token: process.argv[2]!, heartbeatIntervalMs: 10_000 });
await emulator.start();
process.on('message', (message: EmulatorProcessRequest) => {
  if ('burst' in message) {
    runBurst(emulator, message.burst).then(
      (outcome) => send({ outcome }),
      (error: unknown) => send({ error: String(error) }),
    );
  } else {
    void emulator.close().finally(() => process.disconnect());
  }
});
// The parent gone (killed, crashed): nothing left to emulate for.
process.on('disconnect', () => void emulator.close().finally(() => process.exit(0)));
send({ ready: emulator.apiBase });
