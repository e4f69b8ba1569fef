import { ApiError, createApi } from "../src/lib/api";

function fakeFetch(status: number, body?: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = jest.fn(async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const text = body === undefined ? "" : JSON.stringify(body);
    return new Response(status === 204 ? null : text, { status });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

describe("api client", () => {
  it("sends JSON with the session cookie on mutating calls", async () => {
    const { fetch, calls } = fakeFetch(201, { host: { id: "h" }, token: "t" });
    const api = createApi({ fetch, onUnauthorized: jest.fn() });
    await expect(api.createHost("web-1")).resolves.toEqual({ host: { id: "h" }, token: "t" });
    expect(calls[0]?.url).toBe("/api/hosts");
    expect(calls[0]?.init).toMatchObject({ method: "POST", credentials: "same-origin", body: '{"name":"web-1"}' });
    expect((calls[0]?.init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("encodes ids in paths and accepts empty 202/204 bodies", async () => {
    const { fetch, calls } = fakeFetch(202);
    const api = createApi({ fetch, onUnauthorized: jest.fn() });
    await expect(api.cancel("a/b")).resolves.toBeUndefined();
    expect(calls[0]?.url).toBe("/api/commands/a%2Fb/cancel");
  });

  it("reports a lost session on 401, except for login and the session check", async () => {
    const onUnauthorized = jest.fn();
    const api = createApi({ fetch: fakeFetch(401, { error: { code: "unauthorized", message: "no session" } }).fetch, onUnauthorized });
    await expect(api.session()).resolves.toBeNull();
    await expect(api.login("a", "b")).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).not.toHaveBeenCalled();
    await expect(api.listHosts()).rejects.toEqual(new ApiError(401, "no session"));
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("uses the server's message, in any of the usual shapes", async () => {
    for (const body of [{ error: { message: "name: required" } }, { message: "name: required" }, { error: "name: required" }]) {
      const api = createApi({ fetch: fakeFetch(400, body).fetch, onUnauthorized: jest.fn() });
      await expect(api.createHost("")).rejects.toMatchObject({ status: 400, message: "name: required" });
    }
  });

  it("turns a network failure into status 0", async () => {
    const fetch = jest.fn(async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof globalThis.fetch;
    await expect(createApi({ fetch, onUnauthorized: jest.fn() }).listHosts()).rejects.toMatchObject({ status: 0 });
  });

  it("speaks CONTRACT §4: users, teams, tokens, audit, own password, a host's team", async () => {
    const { fetch, calls } = fakeFetch(200, {});
    const api = createApi({ fetch, onUnauthorized: jest.fn() });
    await api.createHost("web-1", "t1");
    await api.createHost("web-2");
    await api.updateHost("h/1", { team_id: "t2" });
    await api.updateUser("u1", { role: "operator", teams: null });
    await api.removeUser("u1");
    await api.createToken({ name: "ci", role: "viewer", expires_at: 5 });
    await api.revokeToken("k1");
    await api.changePassword("old", "new-password");
    await api.audit("0-5", 100);
    await api.audit(undefined, 50);
    expect(calls.map((c) => `${c.init.method} ${c.url} ${String(c.init.body ?? "")}`.trim())).toEqual([
      'POST /api/hosts {"name":"web-1","team_id":"t1"}',
      'POST /api/hosts {"name":"web-2"}',
      'PATCH /api/hosts/h%2F1 {"team_id":"t2"}',
      'PATCH /api/users/u1 {"role":"operator","teams":null}',
      "DELETE /api/users/u1",
      'POST /api/tokens {"name":"ci","role":"viewer","expires_at":5}',
      "DELETE /api/tokens/k1",
      'POST /api/session/password {"current":"old","password":"new-password"}',
      "GET /api/audit?after=0-5&limit=100",
      "GET /api/audit?limit=50",
    ]);
  });

  it("says a 403 forbidden in words", async () => {
    const api = createApi({ fetch: fakeFetch(403, { error: "forbidden" }).fetch, onUnauthorized: jest.fn() });
    await expect(api.listUsers()).rejects.toMatchObject({ status: 403, message: "Your role does not allow this." });
  });
});
