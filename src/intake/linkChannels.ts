import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** A channel where paper links posted by members are added to the library. */
export interface LinkChannel {
  guildId: string;
  channelId: string;
  /** The member who switched it on. */
  enabledBy: string;
  enabledAt: string;
}

export interface LinkChannelStoreOptions {
  /** `DATA_DIR`; the table lives in `<dataDir>/papercord.sqlite`, beside the trending subscriptions. */
  dataDir: string;
  now?: () => Date;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS link_channels (
  guild_id TEXT NOT NULL,
  channel_id TEXT NOT NULL PRIMARY KEY,
  enabled_by TEXT NOT NULL,
  enabled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS link_channels_guild ON link_channels (guild_id);
`;

interface LinkChannelRow {
  guild_id: string;
  channel_id: string;
  enabled_by: string;
  enabled_at: string;
}

const toLinkChannel = (row: LinkChannelRow): LinkChannel => ({
  guildId: row.guild_id,
  channelId: row.channel_id,
  enabledBy: row.enabled_by,
  enabledAt: row.enabled_at,
});

/**
 * Which channels have link pickup switched on (`/library links on|off`), in SQLite so it survives restarts and is
 * shared by every shard. `isEnabled` runs for every message the bot sees, so it is one indexed lookup, cached.
 */
export class LinkChannelStore {
  private readonly cache = new Map<string, boolean>();

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  static open(options: LinkChannelStoreOptions): LinkChannelStore {
    mkdirSync(options.dataDir, { recursive: true });
    const db = new Database(path.join(options.dataDir, 'papercord.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new LinkChannelStore(db, options.now ?? (() => new Date()));
  }

  /** Switches pickup on; true when it was off before. */
  enable(guildId: string, channelId: string, enabledBy: string): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO link_channels (guild_id, channel_id, enabled_by, enabled_at) VALUES (?, ?, ?, ?)')
      .run(guildId, channelId, enabledBy, this.now().toISOString());
    this.cache.set(channelId, true);
    return result.changes > 0;
  }

  /** Switches pickup off; true when it was on before. */
  disable(channelId: string): boolean {
    const result = this.db.prepare('DELETE FROM link_channels WHERE channel_id = ?').run(channelId);
    this.cache.set(channelId, false);
    return result.changes > 0;
  }

  isEnabled(channelId: string): boolean {
    let enabled = this.cache.get(channelId);
    if (enabled === undefined) {
      enabled = this.db.prepare('SELECT 1 FROM link_channels WHERE channel_id = ?').get(channelId) !== undefined;
      this.cache.set(channelId, enabled);
    }
    return enabled;
  }

  list(guildId: string): LinkChannel[] {
    const rows = this.db
      .prepare('SELECT * FROM link_channels WHERE guild_id = ? ORDER BY enabled_at')
      .all(guildId) as LinkChannelRow[];
    return rows.map(toLinkChannel);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
