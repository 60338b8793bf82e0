/** Discord's epoch (2015-01-01), the zero of every snowflake's timestamp bits. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

let increment = 0n;

/**
 * A fresh snowflake id. discord.js derives `createdTimestamp` from ids, so they must be real snowflakes,
 * not counters: timestamp in the high bits, a rolling increment in the low 12.
 */
export function nextSnowflake(now = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(now) - DISCORD_EPOCH_MS) << 22n) | increment).toString();
}
