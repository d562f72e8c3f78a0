import { z } from 'zod';
import { ERRORS } from '../../../shared/errors.js';
import { ErrorBody } from '../plugins/errors.js';
import type { TokenScope } from '../plugins/auth.js';

/** A route as registered with Fastify: what the OpenAPI document is generated from. */
export interface RouteDoc {
  method: string | string[];
  /** The full path, prefix included, in Fastify's syntax (`/api/v1/incidents/:id`). */
  url: string;
  schema?: RouteSchema;
  config?: { public?: boolean; scope?: TokenScope };
}

/** The parts of a Fastify route schema the document reads (see the FastifySchema augmentation in plugins/openapi.ts). */
export interface RouteSchema {
  params?: unknown;
  querystring?: unknown;
  headers?: unknown;
  body?: unknown;
  /** Status code (`200`, `4xx`, `default`) -> zod schema of the body. */
  response?: unknown;
  summary?: string;
  description?: string;
  tags?: string[];
  /** Content type of the success responses; `application/json` by default. */
  produces?: string;
  hide?: boolean;
}

type JsonSchema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'patch', 'trace'] as const;

/** Status texts of the errors the API answers, with when Fastify or a route raises them. */
const ERROR_RESPONSES: Record<string, string> = {
  '400': 'The request does not match the schema (the message and `details.problems` name each field), or its JSON does not parse.',
  '401': 'No `Authorization: Bearer <token>` header (nor session cookie), or an unknown token or expired session.',
  '403': 'The token is a read token and this route needs an admin token, or a write authenticated by the session cookie lacks its `x-fineprint-csrf` header.',
  '404': 'No such resource.',
  '409': 'Not possible in the resource\'s current state.',
  '413': 'The body is larger than 1 MiB.',
  '415': 'The body is not `application/json`.',
  '500': 'An internal error; the body never holds its details (they are logged).',
  '503': 'A dependency (the incident store, the Docker engine) is unavailable; retry later.',
};

function isZod(schema: unknown): schema is z.ZodType {
  return typeof schema === 'object' && schema !== null && '_zod' in schema;
}

/**
 * Turns route schemas into JSON Schema 2020-12 (OpenAPI 3.1's dialect). Schemas that zod gave an id
 * land in `components.schemas`, so their `$ref`s resolve inside the document.
 */
class SchemaConverter {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: unknown, io: 'input' | 'output'): JsonSchema {
    if (!isZod(schema)) return (schema ?? {}) as JsonSchema;
    // 'any': a transform's output or a custom check has no JSON Schema; it is documented as any value.
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    const { $schema: _dialect, $defs, ...rest } = json;
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      this.components[name] = this.rewriteRefs(def) as JsonSchema;
    }
    return this.rewriteRefs(rest) as JsonSchema;
  }

  private rewriteRefs(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.rewriteRefs(v));
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [
        key,
        key === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : this.rewriteRefs(v),
      ]),
    );
  }
}

/** `/incidents/:id` -> `/incidents/{id}` (a regex constraint `:id(\\d+)` is dropped; `*` is `{wildcard}`). */
export function openApiPath(url: string): string {
  return url.replace(/:(\w+)(\([^)]*\))?/g, '{$1}').replace(/\*$/, '{wildcard}');
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

/** Codes of the registry the API never answers with: start-up failures and the Kafka path's. */
const NOT_FROM_THE_API = new Set(['FP_CONFIG_INVALID', 'FP_KB_INVALID', 'FP_EVENT_INVALID']);

function errorCodesOf(status: string): string[] {
  const codes = Object.entries(ERRORS)
    .filter(([code, e]) => String(e.status) === status && !NOT_FROM_THE_API.has(code))
    .map(([code]) => code);
  // Fastify's own client errors (413, 415) are reported as FP_BAD_REQUEST with their status.
  return codes.length > 0 ? codes : ['FP_BAD_REQUEST'];
}

function errorResponse(status: string): JsonSchema {
  return {
    description: `${ERROR_RESPONSES[status] ?? 'Error.'} Codes: ${errorCodesOf(status).join(', ')}.`,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
  };
}

function parametersOf(schema: RouteSchema, path: string, converter: SchemaConverter): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  const parts = [
    ['path', schema.params],
    ['query', schema.querystring],
    ['header', schema.headers],
  ] as const;
  for (const [where, part] of parts) {
    if (part === undefined) continue;
    const object = converter.convert(part, 'input');
    const required = new Set((object.required ?? []) as string[]);
    for (const [name, property] of Object.entries((object.properties ?? {}) as Record<string, JsonSchema>)) {
      // The bearer token is the security scheme, not a parameter.
      if (where === 'header' && name.toLowerCase() === 'authorization') continue;
      const { description, ...propertySchema } = property;
      parameters.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: propertySchema,
      });
    }
  }
  // A path parameter the route validates with no schema is still a parameter.
  for (const name of pathParamNames(path)) {
    if (!parameters.some((p) => p.in === 'path' && p.name === name)) {
      parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  return parameters;
}

function responsesOf(schema: RouteSchema, route: RouteDoc, method: string, path: string, converter: SchemaConverter): Record<string, JsonSchema> {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, body] of Object.entries((schema.response ?? {}) as Record<string, unknown>)) {
    const key = status.toUpperCase() === 'DEFAULT' ? 'default' : status.toUpperCase();
    if (body === ErrorBody) {
      responses[key] = errorResponse(key);
      continue;
    }
    if (key === '204') {
      responses[key] = { description: 'Success, no content.' };
      continue;
    }
    const mediaType = /^2/.test(key) ? (schema.produces ?? 'application/json') : 'application/json';
    responses[key] = { description: /^2/.test(key) ? 'Success.' : (ERROR_RESPONSES[key] ?? 'See the body.'), content: { [mediaType]: { schema: converter.convert(body, 'output') } } };
  }
  if (!Object.keys(responses).some((s) => /^2/.test(s))) responses['200'] = { description: 'Success (this route declares no response schema).' };

  // The errors every route of this kind can answer, whether or not it declares them.
  // Fastify parses a body for these even without a schema: bad JSON, a wrong type, too large.
  const parsesBody = schema.body !== undefined || ['post', 'put', 'patch'].includes(method);
  const takesInput = [schema.params, schema.querystring, schema.headers].some((p) => p !== undefined) || pathParamNames(path).length > 0;
  const automatic: string[] = [];
  if (takesInput || parsesBody) automatic.push('400');
  if (parsesBody) automatic.push('413', '415');
  if (!route.config?.public) automatic.push('401');
  if (!route.config?.public && route.config?.scope === 'admin') automatic.push('403');
  if (pathParamNames(path).length > 0) automatic.push('404');
  automatic.push('500');
  // What a token opens reads or writes the incident store, which may be down (FP_STORE_UNAVAILABLE).
  if (!route.config?.public) automatic.push('503');
  for (const status of automatic) responses[status] ??= errorResponse(status);
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]?.toUpperCase() + w.slice(1));
  return method + words.join('');
}

function tagOf(path: string): string {
  return /^\/api\/v\d+\/([^/{]+)/.exec(path)?.[1] ?? 'operations';
}

/** The OpenAPI 3.1 document of the registered routes: params, bodies, responses, errors and scopes. */
export function openApiDocument(routes: readonly RouteDoc[], info: OpenApiInfo): JsonSchema {
  const converter = new SchemaConverter();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const schema = route.schema ?? {};
    if (schema.hide) continue;
    const path = openApiPath(route.url);
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toLowerCase());
    for (const method of methods) {
      // HEAD mirrors GET (Fastify adds it); methods OpenAPI cannot describe are left out.
      if (!(METHODS as readonly string[]).includes(method)) continue;
      const scope = route.config?.scope ?? 'read';
      const operation: JsonSchema = {
        operationId: operationId(method, path),
        tags: schema.tags ?? [tagOf(path)],
        ...(schema.summary ? { summary: schema.summary } : {}),
        description: [schema.description, route.config?.public ? 'Public: no token needed.' : `Needs a bearer token of scope \`${scope}\`${scope === 'read' ? ' or `admin`' : ''}.`]
          .filter(Boolean)
          .join('\n\n'),
        'x-fineprint-scope': route.config?.public ? 'public' : scope,
        security: route.config?.public ? [] : [{ bearerAuth: [scope] }],
        parameters: parametersOf(schema, path, converter),
      };
      if (schema.body !== undefined) {
        const required = !(isZod(schema.body) && schema.body.safeParse(undefined).success);
        // An optional body is one that may be left out, not one that may be `null`: describe what is sent.
        const sent = schema.body instanceof z.ZodOptional ? schema.body.unwrap() : schema.body;
        operation.requestBody = { required, content: { 'application/json': { schema: converter.convert(sent, 'input') } } };
      }
      operation.responses = responsesOf(schema, route, method, path, converter);
      (paths[path] ??= {})[method] = operation;
    }
  }
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info,
    paths: sortedPaths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API token (`Authorization: Bearer <token>`). Scopes: `read` tokens (FINEPRINT_READ_TOKENS) may call read routes; the `admin` token (FINEPRINT_ADMIN_TOKEN, or generated into `<data dir>/admin-token` on first start) may call every route, acknowledge, resolve and silence included.',
        },
      },
      schemas: { ErrorBody: converter.convert(ErrorBody, 'output'), ...converter.components },
    },
  };
}
