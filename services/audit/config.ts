import { commonConfig } from '../../shared/config.js';
import { dockerConfig } from '../../shared/docker.js';

/** `fineprint audit` settings: the Docker Engine to audit and the knowledge base (docs/configuration.md). */
export const auditConfig = {
  ...commonConfig,
  ...dockerConfig,
};
