import { OpenAPIRegistry, OpenApiGeneratorV31, zodToOpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z, type ZodObject, type ZodType } from "zod";
import { ErrorBodySchema, ForbiddenBodySchema } from "@tether/protocol";
import { API_OPERATIONS, NAMED_SCHEMAS } from "./openapi-routes";

/** HTTP statuses of the uniform error body (`errors.ts`) that an operation can answer with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/** How an operation authenticates: `public` needs nothing; `user` a session cookie or an API token. */
export type Access = "public" | "user";

/**
 * One route of the api, as the OpenAPI document describes it. The schemas are the very ones
 * the route validates with (from `@tether/protocol`), so the document cannot drift from them.
 */
export interface ApiOperation {
  method: "get" | "post" | "patch" | "delete";
  /** Express-style path as served, parameters as `:name`: `/api/hosts/:id`. */
  path: string;
  /** Stable name for generated clients (`listHosts`). */
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: ZodObject;
  query?: ZodObject;
  body?: ZodType;
  response: {
    status: 200 | 201 | 202 | 204;
    description: string;
    /** JSON body; none for a 204. */
    schema?: ZodType;
    /** Another media type than JSON (the docs page), with a plain description of its body. */
    mediaType?: string;
  };
  /**
   * Errors this route gives beyond the ones every route of its kind gives (added by
   * {@link buildOpenApiDocument}: 400/413/415 with a body, 400 with parameters or a query, 401
   * unless public, 403 `forbidden_origin` when mutating): status → what it means, codes first.
   */
  errors?: Partial<Record<ErrorStatus, string>>;
}

/** Components every error response shares, by status (each names `Error` or `Forbidden` as its body). */
const errorResponses = (maxBody: string): Record<ErrorStatus, { name: string; description: string }> => ({
  400: { name: "BadRequest", description: "The request is malformed or a field is invalid; `message` names the field." },
  401: { name: "Unauthenticated", description: "`unauthenticated`: no valid session cookie or API token." },
  403: {
    name: "Forbidden",
    description:
      'Refused: `{"error":"forbidden"}` when the role does not allow the call (CONTRACT §4), `forbidden_origin` for a mutating call without an allowed `Origin`.',
  },
  404: { name: "NotFound", description: "No such thing, or one the caller may not see (the same answer)." },
  409: { name: "Conflict", description: "The call conflicts with the current state." },
  413: { name: "TooLarge", description: `\`too_large\`: the body is over ${maxBody}.` },
  415: { name: "UnsupportedMediaType", description: "`unsupported_media_type`: a body that is not `application/json`." },
  429: { name: "RateLimited", description: "`rate_limited`: too many attempts; wait for the window to pass." },
  503: { name: "Busy", description: "`busy`: overloaded for the moment; retry after `Retry-After` seconds." },
});

/** A 403's body is either shape: `{"error":"forbidden"}` (a role refusal) or the usual one. */
const ForbiddenOrErrorSchema = z.union([ForbiddenBodySchema, ErrorBodySchema]);
const ERROR_SCHEMAS: ReadonlyArray<readonly [string, ZodType]> = [
  ["Error", ErrorBodySchema],
  ["ForbiddenError", ForbiddenBodySchema],
  ["Forbidden", ForbiddenOrErrorSchema],
];

const MUTATING = new Set(["post", "patch", "delete"]);

/** The errors an operation can answer with: the ones its kind implies, then its own. */
export function errorsOf(op: ApiOperation, maxBody: string): Map<ErrorStatus, string> {
  const out = new Map<ErrorStatus, string>();
  const add = (status: ErrorStatus, text: string) => out.set(status, out.has(status) ? `${out.get(status)!} ${text}` : text);
  if (op.params) add(400, "`invalid_path`: a path parameter with malformed percent-encoding.");
  if (op.query || op.body) add(400, "`invalid_request`: a field fails its schema (the message names it).");
  if (op.body) add(400, "`invalid_json`, `invalid_body`: the body is not valid (compressed) JSON.");
  if (op.access !== "public") add(401, "`unauthenticated`: log in or send `Authorization: Bearer tta_…`.");
  // Every mutating call, login included, is behind the Origin check (CONTRACT §2).
  if (MUTATING.has(op.method)) add(403, "`forbidden_origin`: a call without an API token and without an allowed `Origin`.");
  if (op.body) {
    add(413, `\`too_large\`: the body is over ${maxBody}.`);
    add(415, "`unsupported_media_type`: the body is not `application/json`.");
  }
  for (const [status, text] of Object.entries(op.errors ?? {})) add(Number(status) as ErrorStatus, text);
  return new Map([...out].sort(([a], [b]) => a - b));
}

/** `/api/hosts/:id` → `/api/hosts/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, "{$1}");
}

/**
 * Names the shared schemas in zod-to-openapi's registry, on the very instances the routes use,
 * so every place one appears becomes a `$ref` to `components/schemas/<name>` (a `.openapi(name)`
 * would name a copy, and the originals nested elsewhere would be inlined). Idempotent.
 */
function nameSchemas(): void {
  for (const [name, schema] of [...NAMED_SCHEMAS, ...ERROR_SCHEMAS]) {
    if (!zodToOpenAPIRegistry.has(schema)) zodToOpenAPIRegistry.add(schema, { _internal: { refId: name } });
  }
}

/**
 * The OpenAPI 3.1 document of the whole api (`GET /api/openapi.json`): every operation of
 * {@link API_OPERATIONS}, its parameters and body from the schemas the route validates with, its
 * success response and every error response it can give, as shared components.
 */
export function buildOpenApiDocument(opts: {
  /** The JSON body limit (`MAX_BODY`), for the 413's description. */
  maxBody: string;
  operations?: readonly ApiOperation[];
}): Record<string, unknown> {
  const { maxBody, operations = API_OPERATIONS } = opts;
  const errorResponse = errorResponses(maxBody);
  nameSchemas();
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "tether.sid",
    description:
      "The session cookie `POST /api/session` sets (HttpOnly, SameSite=Lax). Mutating calls with it also need an allowed `Origin` header.",
  });
  registry.registerComponent("securitySchemes", "apiToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "tta_…",
    description: "An API token from `POST /api/tokens` (CONTRACT §4). With it the cookie is ignored and no `Origin` is needed.",
  });
  const json = (schema: ZodType) => ({ "application/json": { schema } });
  for (const [status, { name, description }] of Object.entries(errorResponse)) {
    registry.registerComponent("responses", name, {
      description,
      content: { "application/json": { schema: { $ref: `#/components/schemas/${status === "403" ? "Forbidden" : "Error"}` } } },
      ...(status === "503" ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait." } } } : {}),
    });
  }

  for (const op of operations) {
    const { status, description, schema, mediaType } = op.response;
    const content = mediaType ? { [mediaType]: { schema: { type: "string" as const } } } : schema ? json(schema) : undefined;
    const responses: Record<number, object> = { [status]: { description, ...(content ? { content } : {}) } };
    // A `$ref` with a `description` beside it (OpenAPI 3.1): the shared response, this route's codes.
    for (const [code, text] of errorsOf(op, maxBody)) {
      responses[code] = { $ref: `#/components/responses/${errorResponse[code].name}`, description: text };
    }
    registry.registerPath({
      method: op.method,
      path: openApiPath(op.path),
      operationId: op.operationId,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      security: op.access === "public" ? [] : [{ session: [] }, { apiToken: [] }],
      request: {
        ...(op.params ? { params: op.params } : {}),
        ...(op.query ? { query: op.query } : {}),
        ...(op.body ? { body: { required: true, content: json(op.body) } } : {}),
      },
      responses,
    });
  }

  // The error bodies appear only behind the responses' `$ref`s: listed here so they are generated.
  const errorSchemas = ERROR_SCHEMAS.map(([, schema]) => ({ type: "schema" as const, schema }));
  return new OpenApiGeneratorV31([...registry.definitions, ...errorSchemas]).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Tether API",
      version: "2",
      description:
        "The REST API of Tether, a real-time control plane for server fleets (docs/contract.md §2, §4, §5, §6). " +
        "Every `/api/*` call but login, this document, the docs page and the signing keys needs a session cookie " +
        "(`POST /api/session`) or an API token (`Authorization: Bearer tta_…`). Errors are `{error: {code, message}}` " +
        'with a stable `code`; a call the role does not allow is `403 {"error":"forbidden"}`.',
    },
    tags: TAGS,
  }) as unknown as Record<string, unknown>;
}

/** Tags in the order the docs page lists them. */
const TAGS = [
  { name: "session", description: "Logging in and out (CONTRACT §2, §4)." },
  { name: "hosts", description: "Hosts, their agent tokens and commands (CONTRACT §2, §4)." },
  { name: "commands", description: "One command and its output (CONTRACT §2)." },
  { name: "runs", description: "One command on many hosts (CONTRACT §6)." },
  { name: "events", description: "The event log (CONTRACT §2)." },
  { name: "users", description: "Users and their roles and teams; admins only (CONTRACT §4)." },
  { name: "teams", description: "Teams (CONTRACT §4)." },
  { name: "tokens", description: "API tokens (CONTRACT §4)." },
  { name: "audit", description: "The audit log; admins only (CONTRACT §4)." },
  { name: "meta", description: "Signing keys (CONTRACT §5), this document and its docs page." },
];
