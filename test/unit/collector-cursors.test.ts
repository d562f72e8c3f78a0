import { describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { openDatabase } from '../../shared/sqlite.js';

describe('the collector cursors of the embedded queue', () => {
  it('lists cursors by a literal prefix and forgets a deleted one, across a reopen', () => {
    const db = openDatabase(':memory:');
    const cursors = new EmbeddedQueue(db).cursors();
    for (const name of ['logs:a', 'logs:b', 'logs_c', 'logsXd', 'container-logs']) cursors.set(name, '{}');
    // `_` and `%` are LIKE wildcards: a prefix must not treat them so.
    expect(cursors.names('logs:').sort()).toEqual(['logs:a', 'logs:b']);
    expect(cursors.names('logs_')).toEqual(['logs_c']);
    cursors.delete('logs:a');
    cursors.delete('logs:never-set');
    const reopened = new EmbeddedQueue(db).cursors();
    expect(reopened.get('logs:a')).toBeUndefined();
    expect(reopened.names('logs:')).toEqual(['logs:b']);
    db.close();
  });
});
