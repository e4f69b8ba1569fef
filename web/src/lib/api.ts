import type { Chunk, Command, Host, User } from "@tether/protocol";

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

/** The REST half of CONTRACT §2, as typed calls. */
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
    async session(): Promise<User | null> {
      try {
        return (await call<{ user: User }>("GET", "/api/session", undefined, { sessionCheck: false })).user;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    login: (username: string, password: string) =>
      call<{ user: User }>("POST", "/api/session", { username, password }, { sessionCheck: false }),
    logout: () => call<void>("DELETE", "/api/session", undefined, { sessionCheck: false }),
    /** The command signing public keys agents verify with (CONTRACT §5; no session needed). */
    signingKeys: () =>
      call<{ keys: { key_id: string; public_key: string }[] }>("GET", "/api/signing-keys", undefined, { sessionCheck: false }),
    listHosts: () => call<{ hosts: Host[] }>("GET", "/api/hosts"),
    createHost: (name: string) => call<{ host: Host; token: string }>("POST", "/api/hosts", { name }),
    rotateToken: (hostId: string) => call<{ token: string }>("POST", `/api/hosts/${id(hostId)}/token`, {}),
    removeHost: (hostId: string) => call<void>("DELETE", `/api/hosts/${id(hostId)}`),
    dispatch: (hostId: string, command: string, args: string[]) =>
      call<{ command: Command }>("POST", `/api/hosts/${id(hostId)}/commands`, { command, args }),
    getCommand: (commandId: string) => call<{ command: Command; output: Chunk[] }>("GET", `/api/commands/${id(commandId)}`),
    cancel: (commandId: string) => call<void>("POST", `/api/commands/${id(commandId)}/cancel`, {}),
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
  if (typeof message === "string" && message !== "") return message;
  return `The server answered ${response.status} ${response.statusText}`.trim();
}
