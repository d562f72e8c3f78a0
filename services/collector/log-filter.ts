import { fork } from 'node:child_process';
import { type ErrorCode, FineprintError } from '../../shared/errors.js';
import { type LogLinePattern, logLineFilterOf } from '../../shared/kb/prefilter.js';

type ChildAnswer = { patterns: LogLinePattern[] } | { failed: { code: ErrorCode | undefined; message: string } };

/**
 * The collector's container-log filter (logLineFilter) for the KB in `kbDir`. Loading and checking
 * the KB takes seconds and some 20 MiB; done in a child process that exits after it, the collector
 * keeps only the log detectors' regexes. (A worker thread gives its heap back too, but the memory
 * its thread allocated outside the heap stays with the process: 6 MiB more resident, measured.)
 */
export async function loadLogLineFilter(kbDir: string): Promise<(message: string) => boolean> {
  const child = fork(new URL('./log-filter-worker.js', import.meta.url), [kbDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answer = await new Promise<ChildAnswer>((resolve, reject) => {
    child.once('message', (message) => resolve(message as ChildAnswer));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the KB loader exited with ${code} before answering`)));
  });
  child.kill();
  if ('failed' in answer) {
    const { code, message } = answer.failed;
    throw code ? new FineprintError(code, message) : new Error(message);
  }
  return logLineFilterOf(answer.patterns);
}
