import type { Host } from "@tether/protocol";
import { decide, decideHost, type GlobalAction, type HostAction, type HostStore, type Principal } from "@tether/core";
import { HttpError } from "./errors";

/** 403 `{"error":"forbidden"}` (CONTRACT §4): the role does not allow the call. */
export const forbidden = () => new HttpError(403, "forbidden", "your role does not allow this");

/** 404 for a host the principal may not see, exactly as for one that does not exist. */
export const unknownHost = () => new HttpError(404, "unknown_host", "no such host");

/** Throw unless the policy allows `action`. */
export function allowOrThrow(p: Principal, action: GlobalAction): void {
  if (decide(p, action) !== "allow") throw forbidden();
}

/** The host, if the policy lets `p` do `action` to it: else 404 (invisible) or 403 (role). */
export async function hostFor(hosts: HostStore, p: Principal, id: string, action: HostAction): Promise<Host> {
  const host = await hosts.get(id);
  if (!host) throw unknownHost();
  const decision = decideHost(p, action, host);
  if (decision === "hidden") throw unknownHost();
  if (decision === "forbidden") throw forbidden();
  return host;
}
