/**
 * One registry of errors with stable codes, like Fastify's FST_ERR_*. Codes never change meaning;
 * the HTTP status says how the API reports it.
 */
export const ERRORS = {
  FP_CONFIG_INVALID: { status: 500, message: 'Invalid configuration' },
  FP_KB_INVALID: { status: 500, message: 'Invalid knowledge base entry' },
  FP_EVENT_INVALID: { status: 400, message: 'Invalid event record' },
  FP_BAD_REQUEST: { status: 400, message: 'Invalid request' },
  FP_UNAUTHORIZED: { status: 401, message: 'Missing or invalid bearer token' },
  FP_FORBIDDEN: { status: 403, message: 'Token not allowed to do this' },
  FP_NOT_FOUND: { status: 404, message: 'Not found' },
  FP_HOST_NOT_ALLOWED: { status: 421, message: 'Host header not allowed' },
  FP_QUERY_TOO_COMPLEX: { status: 400, message: 'Search query too complex' },
  FP_CONFLICT: { status: 409, message: 'Not possible in the current state' },
  FP_STORE_UNAVAILABLE: { status: 503, message: 'Incident store unavailable' },
  FP_QUERY_TIMEOUT: { status: 503, message: 'Search took longer than its time budget' },
  FP_DOCKER_UNAVAILABLE: { status: 503, message: 'Docker engine unavailable' },
  FP_INTERNAL: { status: 500, message: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class FineprintError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Structured details safe to show the caller (field paths, limits). */
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'FineprintError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}
