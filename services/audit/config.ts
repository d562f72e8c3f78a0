import { commonConfig } from '../../shared/config.js';
import { collectorConfig } from '../collector/config.js';

/** `fineprint audit` settings: the Docker Engine to audit and the knowledge base (see README, "Configuration"). */
export const auditConfig = {
  ...commonConfig,
  DOCKER_HOST: collectorConfig.DOCKER_HOST,
};
