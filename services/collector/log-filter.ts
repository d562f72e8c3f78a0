import { Worker } from 'node:worker_threads';
import { type ErrorCode, FineprintError } from '../../shared/errors.js';
import { type LogLinePattern, logLineFilterOf } from '../../shared/kb/prefilter.js';

type WorkerAnswer = { patterns: LogLinePattern[] } | { failed: { code: ErrorCode | undefined; message: string } };

/**
 * The collector's container-log filter (logLineFilter) for the KB in `kbDir`. Loading and checking
 * the KB takes seconds and leaves the heap some 20 MiB larger than the filter needs; done in a worker
 * thread that exits after it, the collector keeps only the log detectors' regexes.
 */
export async function loadLogLineFilter(kbDir: string): Promise<(message: string) => boolean> {
  const worker = new Worker(new URL('./log-filter-worker.js', import.meta.url), { workerData: { kbDir } });
  const answer = await new Promise<WorkerAnswer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the KB loader exited with ${code} before answering`)));
  });
  await worker.terminate();
  if ('failed' in answer) {
    const { code, message } = answer.failed;
    throw code ? new FineprintError(code, message) : new Error(message);
  }
  return logLineFilterOf(answer.patterns);
}
