// Child process of loadLogLineFilter (log-filter.ts): loads and checks the KB of the directory in
// its first argument, answers with the patterns of its log detectors, and exits; the memory the
// load took goes with it.
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { logLinePatterns } from '../../shared/kb/prefilter.js';

function answer(): unknown {
  try {
    return { patterns: logLinePatterns(loadKnowledgeBase(process.argv[2])) };
  } catch (error) {
    return { failed: { code: error instanceof FineprintError ? error.code : undefined, message: error instanceof Error ? error.message : String(error) } };
  }
}

process.send?.(answer(), () => process.disconnect());
