/**
 * Hash routes, so the API can serve one static `index.html` at `/` with no server-side
 * fallback: `#/` the fleet, `#/hosts/ID` a host, `#/hosts/ID/commands/CID` a host with one
 * command's console open; `#/users`, `#/teams`, `#/audit` (admins), `#/tokens` and
 * `#/account` (everyone) the pages of CONTRACT §4; `#/runs` the runs list and `#/runs/ID` one run
 * (`#/runs/ID/hosts/HID` with that host's output open), CONTRACT §6.
 */
export type Route =
  | { view: "fleet" }
  | { view: "host"; hostId: string; commandId?: string }
  | { view: "run"; runId: string; hostId?: string }
  | { view: PageView };

/** The single pages, each reached by its own name. */
export const PAGE_VIEWS = ["runs", "users", "teams", "audit", "tokens", "account"] as const;
export type PageView = (typeof PAGE_VIEWS)[number];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(safeDecode);
  if (parts[0] === "hosts" && parts[1]) {
    if (parts[2] === "commands" && parts[3]) return { view: "host", hostId: parts[1], commandId: parts[3] };
    return { view: "host", hostId: parts[1] };
  }
  if (parts[0] === "runs" && parts[1]) {
    if (parts[2] === "hosts" && parts[3]) return { view: "run", runId: parts[1], hostId: parts[3] };
    return { view: "run", runId: parts[1] };
  }
  const page = PAGE_VIEWS.find((view) => view === parts[0]);
  if (page && parts.length === 1) return { view: page };
  return { view: "fleet" };
}

export function hrefFor(route: Route): string {
  if (route.view === "fleet") return "#/";
  if (route.view === "run") {
    const run = `#/runs/${encodeURIComponent(route.runId)}`;
    return route.hostId ? `${run}/hosts/${encodeURIComponent(route.hostId)}` : run;
  }
  if (route.view !== "host") return `#/${route.view}`;
  const host = `#/hosts/${encodeURIComponent(route.hostId)}`;
  return route.commandId ? `${host}/commands/${encodeURIComponent(route.commandId)}` : host;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
