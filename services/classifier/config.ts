import { commonConfig } from '../../shared/config.js';
import { Duration } from '../../shared/kb/schema.js';

/** The classifier's settings (docs/configuration.md). */
export const classifierConfig = {
  ...commonConfig,
  FINEPRINT_MERGE_WINDOW: Duration.prefault('60s').describe('Signals of one incident closer than this are one occurrence.'),
  FINEPRINT_CLEAN_RUN: Duration.prefault('60s').describe(
    "A container start that runs this long without dying becomes the setup its name's (or compose service's) later incidents are compared with: they list what changed since (image, command, env names, limits, restart policy, mounts, labels).",
  ),
};
