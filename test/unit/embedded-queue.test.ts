import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { openDatabase } from '../../shared/sqlite.js';
import { transportContract } from '../support/transport-contract.js';

transportContract(
  'embedded queue',
  async () => {
    const db = openDatabase(':memory:');
    const queue = new EmbeddedQueue(db);
    const sink = queue.sink();
    const insert = db.prepare('INSERT INTO queue (key, body, ts) VALUES (?, ?, ?)');
    return {
      send: (records) => sink.send(records),
      sendRaw: async (bodies) => {
        for (const body of bodies) insert.run('contract', body, Date.now());
      },
      source: (hooks) => queue.source('contract', hooks),
      close: async () => void db.close(),
    };
  },
  4_000,
);
