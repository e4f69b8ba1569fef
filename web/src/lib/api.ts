import type { Chunk, Command, CreateRunBody, Host, Run } from "@tether/protocol";
import type { Principal, Role } from "./access";
import type { ApiToken, AuditEntry, Team, UserRecord } from "./directory";

/** A REST call that did not succeed. `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiDeps {
  /** `fetch`, injectable for tests. */
  fetch: typeof globalThis.fetch;
  /** Called when a call that needs a session gets 401: the session is gone. */
  onUnauthorized: () => void;
  /** Prefix of every path; "" for the same origin. */
  base?: string;
}

/** What `PATCH /api/users/:id` may change. */
export interface UserChanges {
  role?: Role;
  teams?: string[] | null;
  password?: string;
}

/** The REST half of CONTRACT §2 and §4, as typed calls. */
export type Api = ReturnType<typeof createApi>;

export function createApi(deps: ApiDeps) {
  const base = deps.base ?? "";

  async function call<T>(method: string, path: string, body?: unknown, { sessionCheck = true } = {}): Promise<T> {
    const init: RequestInit = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await deps.fetch(`${base}${path}`, init);
    } catch {
      throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
    }
    if (response.status === 401 && sessionCheck) deps.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    // 202 and 204 answers may have no body at all.
    const text = await response.text();
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  const id = encodeURIComponent;
  return {
    /** The signed-in user, or null without a valid session. */
    async session(): Promise<Principal | null> {
      try {
        return (await call<{ user: Principal }>("GET", "/api/session", undefined, { sessionCheck: false })).user;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    login: (username: string, password: string) =>
      call<{ user: Principal }>("POST", "/api/session", { username, password }, { sessionCheck: false }),
    logout: () => call<void>("DELETE", "/api/session", undefined, { sessionCheck: false }),
    /** The command signing public keys agents verify with (CONTRACT §5; no session needed). */
    signingKeys: () =>
      call<{ keys: { key_id: string; public_key: string }[] }>("GET", "/api/signing-keys", undefined, { sessionCheck: false }),
    listHosts: () => call<{ hosts: Host[] }>("GET", "/api/hosts"),
    /** Without `teamId` the server puts the host in the team `default`. */
    createHost: (name: string, teamId?: string) =>
      call<{ host: Host; token: string }>("POST", "/api/hosts", teamId ? { name, team_id: teamId } : { name }),
    updateHost: (hostId: string, changes: { team_id?: string; name?: string }) =>
      call<{ host: Host }>("PATCH", `/api/hosts/${id(hostId)}`, changes),
    rotateToken: (hostId: string) => call<{ token: string }>("POST", `/api/hosts/${id(hostId)}/token`, {}),
    removeHost: (hostId: string) => call<void>("DELETE", `/api/hosts/${id(hostId)}`),
    dispatch: (hostId: string, command: string, args: string[]) =>
      call<{ command: Command }>("POST", `/api/hosts/${id(hostId)}/commands`, { command, args }),
    getCommand: (commandId: string) => call<{ command: Command; output: Chunk[] }>("GET", `/api/commands/${id(commandId)}`),
    cancel: (commandId: string) => call<void>("POST", `/api/commands/${id(commandId)}/cancel`, {}),
    /** CONTRACT §6: one command on many hosts (operators and admins). */
    createRun: (body: CreateRunBody) => call<{ run: Run }>("POST", "/api/runs", body),
    /** Runs, newest first; `before` (a run id, exclusive) pages back. */
    listRuns: (options: { before?: string; limit?: number } = {}) =>
      call<{ runs: Run[] }>(
        "GET",
        `/api/runs?${new URLSearchParams({
          ...(options.before ? { before: options.before } : {}),
          ...(options.limit ? { limit: String(options.limit) } : {}),
        }).toString()}`,
      ),
    getRun: (runId: string) => call<{ run: Run; commands: Command[] }>("GET", `/api/runs/${id(runId)}`),
    cancelRun: (runId: string) => call<void>("POST", `/api/runs/${id(runId)}/cancel`, {}),
    changePassword: (current: string, password: string) => call<void>("POST", "/api/session/password", { current, password }),
    listUsers: () => call<{ users: UserRecord[] }>("GET", "/api/users"),
    createUser: (user: { username: string; password: string; role: Role; teams?: string[] | null }) =>
      call<{ user: UserRecord }>("POST", "/api/users", user),
    updateUser: (userId: string, changes: UserChanges) => call<{ user: UserRecord }>("PATCH", `/api/users/${id(userId)}`, changes),
    removeUser: (userId: string) => call<void>("DELETE", `/api/users/${id(userId)}`),
    listTeams: () => call<{ teams: Team[] }>("GET", "/api/teams"),
    createTeam: (name: string) => call<{ team: Team }>("POST", "/api/teams", { name }),
    listTokens: () => call<{ api_tokens: ApiToken[] }>("GET", "/api/tokens"),
    createToken: (token: { name: string; role?: Role; expires_at?: number }) =>
      call<{ token: string; api_token: ApiToken }>("POST", "/api/tokens", token),
    revokeToken: (tokenId: string) => call<void>("DELETE", `/api/tokens/${id(tokenId)}`),
    audit: (after: string | undefined, limit: number) =>
      call<{ entries: AuditEntry[] }>(
        "GET",
        `/api/audit?${new URLSearchParams({ ...(after ? { after } : {}), limit: String(limit) }).toString()}`,
      ),
  };
}

/** The server's own words when it gave any (`{error: {message}}`, `{message}`, `{error}`). */
async function errorMessage(response: Response): Promise<string> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const b = body as { message?: unknown; error?: unknown } | undefined;
  const nested = typeof b?.error === "object" && b.error !== null ? (b.error as { message?: unknown }).message : undefined;
  const message = nested ?? b?.message ?? b?.error;
  // CONTRACT §4: a call the role does not allow answers 403 {"error":"forbidden"}.
  if (response.status === 403 && message === "forbidden") return "Your role does not allow this.";
  if (typeof message === "string" && message !== "") return message;
  return `The server answered ${response.status} ${response.statusText}`.trim();
}
