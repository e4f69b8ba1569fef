import type { Host } from "@tether/protocol";

/**
 * Does `host` match what the user typed in the filter box? Every whitespace-separated term
 * must match (case-insensitive): `key=value` (or `key:value`) matches a label exactly by key
 * and by value prefix; any other term is a substring of the name, hostname, OS, or a label
 * key or value.
 */
export function matchesFilter(host: Host, query: string): boolean {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  const labels = Object.entries(host.labels ?? {}).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const);
  const haystack = [host.name, host.hostname ?? "", host.os ?? "", ...labels.flat()].map((s) => s.toLowerCase());
  return terms.every((term) => {
    const pair = /^([^=:]+)[=:](.*)$/.exec(term);
    if (pair) {
      const [, key, value] = pair as unknown as [string, string, string];
      return labels.some(([k, v]) => k === key && v.startsWith(value));
    }
    return haystack.some((field) => field.includes(term));
  });
}

/** `{online, offline}` counts. */
export function countByStatus(hosts: Iterable<Host>): { online: number; offline: number } {
  let online = 0;
  let offline = 0;
  for (const host of hosts) {
    if (host.status === "online") online++;
    else offline++;
  }
  return { online, offline };
}
