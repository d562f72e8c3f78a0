import { commonConfig } from '../../shared/config.js';
import { Duration } from '../../shared/kb/schema.js';

/** The classifier's settings (see README, "Configuration"). */
export const classifierConfig = {
  ...commonConfig,
  /** Signals of one incident closer than this are one occurrence (e.g. 60s). */
  FINEPRINT_MERGE_WINDOW: Duration.default(60_000),
};
