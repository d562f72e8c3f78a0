import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { incidentStoreContract } from '../support/store-contract.js';

const kb = loadKnowledgeBase();

incidentStoreContract('embedded SQLite', async () => new SqliteIncidentStore(openDatabase(':memory:'), kb));
