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
CREATE TABLE IF NOT EXISTS adder_roles (
  guild_id TEXT NOT NULL PRIMARY KEY,
  role_id TEXT NOT NULL,
  set_by TEXT NOT NULL,
  set_at TEXT NOT NULL
);
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
 * Which channels have link pickup switched on (`/library links on|off`) and which role may add papers (`/library
 * adders`), in SQLite so it survives restarts and is
 * shared by every shard. `isEnabled` runs for every message the bot sees, so it is one indexed lookup, cached.
 */
export class LinkChannelStore {
  private readonly cache = new Map<string, boolean>();
  /** Guild id → the role that may add papers, or null for everyone; read on every intake, so cached. */
  private readonly adderRoles = new Map<string, string | null>();

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

  /**
   * The role a member needs to add papers in a server (`/library adders`), or undefined when everyone may: set in
   * the same database as the link-pickup channels, so it survives restarts and holds for every shard.
   */
  adderRole(guildId: string): string | undefined {
    let roleId = this.adderRoles.get(guildId);
    if (roleId === undefined) {
      const row = this.db.prepare('SELECT role_id FROM adder_roles WHERE guild_id = ?').get(guildId) as
        { role_id: string } | undefined;
      roleId = row?.role_id ?? null;
      this.adderRoles.set(guildId, roleId);
    }
    return roleId ?? undefined;
  }

  /** Only members with `roleId` may add papers in the server from now on; null: everyone may again. */
  setAdderRole(guildId: string, roleId: string | null, setBy: string): void {
    if (roleId === null) this.db.prepare('DELETE FROM adder_roles WHERE guild_id = ?').run(guildId);
    else
      this.db
        .prepare(
          'INSERT INTO adder_roles (guild_id, role_id, set_by, set_at) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT (guild_id) DO UPDATE SET role_id = excluded.role_id, set_by = excluded.set_by, set_at = excluded.set_at',
        )
        .run(guildId, roleId, setBy, this.now().toISOString());
    this.adderRoles.set(guildId, roleId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
