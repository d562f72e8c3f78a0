// Worker entry of loadLogLineFilter (log-filter.ts): loads and checks the KB, answers with the
// patterns of its log detectors, and exits; the memory the load took goes with its thread.
import { parentPort, workerData } from 'node:worker_threads';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { logLinePatterns } from '../../shared/kb/prefilter.js';

const { kbDir } = workerData as { kbDir: string };
try {
  parentPort?.postMessage({ patterns: logLinePatterns(loadKnowledgeBase(kbDir)) });
} catch (error) {
  parentPort?.postMessage({
    failed: { code: error instanceof FineprintError ? error.code : undefined, message: error instanceof Error ? error.message : String(error) },
  });
}
