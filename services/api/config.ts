import { z } from 'zod';
import { commonConfig } from '../../shared/config.js';

/** The API's settings (see README, "Configuration"). */
export const apiConfig = {
  ...commonConfig,
  /** Address the API listens on; loopback by default (put a reverse proxy in front to expose it). */
  FINEPRINT_API_HOST: z.string().min(1).default('127.0.0.1'),
  FINEPRINT_API_PORT: z.coerce.number().int().min(0).max(65_535).default(7777),
  /** Admin bearer token; generated on first start and kept in the data dir when unset. */
  FINEPRINT_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
};
