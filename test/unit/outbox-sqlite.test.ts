// The notification outbox contract against the all-in-one's SQLite database.
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteOutbox } from '../../shared/store/outbox-sqlite.js';
import { outboxContract } from '../support/outbox-contract.js';

outboxContract('sqlite', async () => {
  const db = openDatabase(':memory:');
  return { outbox: new SqliteOutbox(db), close: async () => void db.close() };
});
