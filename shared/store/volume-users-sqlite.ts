import type { SqliteDatabase } from '../sqlite.js';
import { VolumeUsers, type VolumeUsersPersistence } from '../volume-users.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS volume_users (
  host TEXT NOT NULL,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (host, source, destination)
);
`;

/** Which containers used each volume, in the all-in-one database: kept across restarts. */
export class SqliteVolumeUsers implements VolumeUsersPersistence {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.statements = {
      save: db.prepare<[string, string, string, string]>(`INSERT OR REPLACE INTO volume_users (host, source, destination, body) VALUES (?, ?, ?, ?)`),
      load: db.prepare<[], { body: string }>(`SELECT body FROM volume_users`),
    };
  }

  loadVolumeUsers(): VolumeUsers[] {
    // A row that no longer parses (written by another version) is skipped, not fatal.
    return this.statements.load.all().flatMap((row) => {
      const parsed = VolumeUsers.safeParse(JSON.parse(row.body));
      return parsed.success ? [parsed.data] : [];
    });
  }

  saveVolumeUsers(users: VolumeUsers): void {
    const { host, source, destination } = users.current;
    this.statements.save.run(host, source, destination, JSON.stringify(users));
  }
}
