import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { z, type ZodType } from 'zod';
import { ERRORS, FineprintError, type ErrorCode } from '../../../shared/errors.js';
import { precompile } from '../../../shared/precompile.js';
import { formatIssues } from '../../../shared/zod-issues.js';

/** The body of every error response: a stable code, a sentence, and safe details. */
export const ErrorBody = z.object({
  /** The HTTP status, repeated for clients that only keep the body. */
  statusCode: z.number().int(),
  /** A stable code of the shared/errors.ts registry. */
  code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
  /** The status text (`Not Found`). */
  error: z.string(),
  /** What went wrong, in a sentence that says what to change. */
  message: z.string(),
  /** Structured details of a 4xx (the failing fields); never on a 5xx. */
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * Route schemas are zod schemas: this plugin makes Fastify validate with them and maps every error
 * to one shape. Client mistakes get a 4xx that says what to change; 5xx never leak internals.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setValidatorCompiler<ZodType>(({ schema, httpPart }) => {
      // At start-up rather than on the route's first request.
      precompile(schema);
      return (data: unknown) => {
        const result = schema.safeParse(data);
        if (result.success) return { value: result.data };
        const problems = formatIssues(result.error.issues, httpPart ?? '(request)', httpPart ? [httpPart] : []);
        return { error: new FineprintError('FP_BAD_REQUEST', problems.join('; '), { problems }) };
      };
    });
    // Response schemas (zod) document the API (plugins/openapi.ts); the wire format stays JSON.stringify.
    app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));

    app.setNotFoundHandler((request, reply) => {
      const error = new FineprintError('FP_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
      void reply.code(404).send(bodyOf(error));
    });

    app.setErrorHandler((error: FastifyError | FineprintError | Error, request, reply) => {
      if (error instanceof FineprintError) {
        if (error.status >= 500) request.log.error({ err: error }, 'request failed');
        return reply.code(error.status).send(bodyOf(error));
      }
      const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
      if (status < 500) {
        // Fastify's own client errors: bad JSON, wrong content type, body too large.
        return reply.code(status).send({ statusCode: status, code: 'FP_BAD_REQUEST', error: 'Bad Request', message: error.message });
      }
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send(bodyOf(new FineprintError('FP_INTERNAL')));
    });
  },
  { name: 'errors' },
);

/**
 * Fastify's `frameworkErrors`: what it rejects before routing (a malformed URL, a path parameter
 * longer than `maxParamLength`) gets the same body and a stable code as every other error.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped = (error.statusCode ?? 500) < 500 ? new FineprintError('FP_BAD_REQUEST', error.message) : new FineprintError('FP_INTERNAL');
  void reply.code(mapped.status).send(bodyOf(mapped));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  421: 'Misdirected Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function bodyOf(error: FineprintError): ErrorBody {
  return {
    statusCode: error.status,
    code: error.code,
    error: STATUS_TEXT[error.status] ?? 'Error',
    message: error.message,
    ...(error.details !== undefined && error.status < 500 ? { details: error.details } : {}),
  };
}
