/**
 * Hash routes, so the API can serve one static `index.html` at `/` with no server-side
 * fallback: `#/` the fleet, `#/hosts/ID` a host, `#/hosts/ID/commands/CID` a host with one
 * command's console open.
 */
export type Route = { view: "fleet" } | { view: "host"; hostId: string; commandId?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(safeDecode);
  if (parts[0] === "hosts" && parts[1]) {
    if (parts[2] === "commands" && parts[3]) return { view: "host", hostId: parts[1], commandId: parts[3] };
    return { view: "host", hostId: parts[1] };
  }
  return { view: "fleet" };
}

export function hrefFor(route: Route): string {
  if (route.view === "fleet") return "#/";
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
