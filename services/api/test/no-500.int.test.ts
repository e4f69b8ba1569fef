/**
 * Issue 11.5, as a property: whatever the path, method, headers and body, the api answers below
 * 500. The real app over a real Redis, with a live session, so requests reach every route.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { loginCookie, send, startApiServer, type ApiServer } from "./support/api-server";

let server: ApiServer;
let cookie: string;
let hostId: string;

beforeAll(async () => {
  server = await startApiServer();
  cookie = await loginCookie(server);
  const created = await send(server.url, "POST", "/api/hosts", { cookie, body: { name: "fuzz" } });
  hostId = (JSON.parse(created.text) as { host: { id: string } }).host.id;
});
afterAll(() => server?.close());

// Path segments: real ids and route words, key-name tricks, and raw bytes (percent escapes,
// valid or not) drawn from what a request line may carry.
const segment = fc.oneof(
  fc.constantFrom("hosts", "commands", "events", "session", "token", "cancel", "api", "", ".."),
  fc.constantFrom(":cmds", ":pending", ":out", "%zz", "%", "%E0%A4%A", "%00", "%2F", "%3A"),
  fc.constant("ID"),
  fc.string({ unit: fc.constantFrom(..."abcXYZ019-_.:~%!$&'()*+,;=@"), maxLength: 12 }),
);
const path = fc
  .tuple(
    fc.array(segment, { minLength: 1, maxLength: 5 }),
    fc.option(fc.string({ unit: fc.constantFrom(..."after=limit&%zx0-19"), maxLength: 24 })),
  )
  .map(([parts, query]) => `/api/${parts.join("/").replace(/ID/g, () => hostId)}${query === null ? "" : `?${query}`}`);

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const body = fc.oneof(
  fc.constant(undefined),
  jsonValue.map((v) => ({ bytes: Buffer.from(JSON.stringify(v)), encoding: undefined })),
  fc
    .record({ name: fc.string(), command: fc.string(), args: fc.anything({ maxDepth: 1 }) })
    .map((v) => ({ bytes: Buffer.from(JSON.stringify(v)), encoding: undefined })),
  jsonValue.map((v) => ({ bytes: gzipSync(JSON.stringify(v)), encoding: "gzip" })),
  fc
    .tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(undefined, "gzip", "deflate", "br", "x-zip"))
    .map(([bytes, encoding]) => ({ bytes: Buffer.from(bytes), encoding })),
);
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=x",
  "text/plain",
  "multipart/form-data; boundary=x",
);

test("no path, method, header or body makes a 500", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH"),
      path,
      body,
      contentType,
      fc.boolean(),
      async (method, p, b, type, withCookie) => {
        const headers: Record<string, string> = {};
        if (type) headers["content-type"] = type;
        if (b?.encoding) headers["content-encoding"] = b.encoding;
        const res = await send(server.url, method, p, { headers, body: b?.bytes, cookie: withCookie ? cookie : undefined });
        if (res.status >= 500) throw new Error(`${method} ${p} (${JSON.stringify(headers)}) → ${res.status} ${res.text.slice(0, 200)}`);
      },
    ),
    { numRuns: 400 },
  );
});

test("a host id used as a command id is a 404 (the shapes agree, the kinds do not)", async () => {
  // A fresh session: the property above may have sent `DELETE /api/session` with the shared cookie.
  const fresh = await loginCookie(server);
  const res = await send(server.url, "GET", `/api/commands/${hostId}`, { cookie: fresh });
  expect(res.status).toBe(404);
});
