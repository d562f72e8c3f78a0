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
  FP_CSRF: { status: 403, message: 'Write with a session cookie but without its CSRF header' },
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

/**
 * A listen failure as the configuration error it is (exit 2, one line): the address in use, not
 * allowed, or not this host's, naming the variables that choose it. Other errors pass through.
 */
export function listenError(error: unknown, hostVariable: string, portVariable: string): unknown {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = `${e.address ?? '?'}:${e.port ?? '?'}`;
  const problem: Record<string, string> = {
    EADDRINUSE: `${where} is already in use; stop what listens there or set ${portVariable} to another port`,
    EACCES: `not allowed to listen on ${where}; set ${portVariable} to a port above 1023`,
    EADDRNOTAVAIL: `${e.address ?? '?'} is not an address of this host; set ${hostVariable}`,
  };
  const text = typeof e?.code === 'string' ? problem[e.code] : undefined;
  return text ? new FineprintError('FP_CONFIG_INVALID', text, undefined, { cause: error }) : error;
}

/** Whether a client's error is an HTTP 404: the Docker Engine's (dockerode: `statusCode`) or Elasticsearch's (`meta.statusCode`). */
export function isNotFound(error: unknown): boolean {
  const e = error as { statusCode?: number; meta?: { statusCode?: number } } | null | undefined;
  return e?.statusCode === 404 || e?.meta?.statusCode === 404;
}

/** The `error_type` label of `fineprint_errors_total` for an error code: `FP_STORE_UNAVAILABLE` -> `store_unavailable`. */
export const errorType = (code: ErrorCode): string => code.slice('FP_'.length).toLowerCase();

/** The `error_type` of a caught error: its code when fineprint raised it, else `internal`. */
export const errorTypeOf = (error: unknown): string => errorType(error instanceof FineprintError ? error.code : 'FP_INTERNAL');
