import { readFileSync } from "node:fs";
import os from "node:os";
import type { AgentToHub } from "@tether/protocol";
import { version } from "../package.json";

/** The agent's version, as registered and printed by `--version`. */
export const AGENT_VERSION: string = version;

/** "Ubuntu 22.04.4 LTS (Linux 6.5.0)" from /etc/os-release when present, else "Linux 6.5.0". */
function describeOs(): string {
  const kernel = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
    if (pretty) return `${pretty} (${kernel})`.slice(0, 255);
  } catch {
    // not Linux, or a minimal container: the kernel string will do
  }
  return kernel.slice(0, 255);
}

/** The `register` payload: who this host is. Read once; it does not change while we run. */
export function buildRegister(hostname: string, labels: Record<string, string>): Extract<AgentToHub, { type: "register" }>["payload"] {
  return { hostname, os: describeOs(), arch: os.arch(), version: AGENT_VERSION, labels };
}
