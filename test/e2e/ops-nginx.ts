/**
 * nginx as a real child process for the load-balancer tests: Debian's binary running the repo's
 * template (deploy/nginx/tether.conf.template), rendered by deploy/nginx/render.ts the way the
 * official image renders it, inside a minimal main config of its own in a temp dir.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NGINX_TEMPLATE, renderTemplate } from "../../deploy/nginx/render";
import { readLines, signalOwned, spawnOwned, type ExitInfo } from "../support/children";
import { tail, withTimeout } from "../support/wait";

/** Debian's nginx (`apt-get install nginx`; scripts/test.sh installs it), or `NGINX_BIN`. */
export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

/** Values for the template's placeholders. */
export interface NginxUpstreams {
  /** `host:port` of each hub node. */
  hubs: readonly string[];
  /** `host:port` of each api node. */
  api: readonly string[];
}

/** A running nginx. */
export interface NginxProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:port`: also the Origin browsers send. */
  readonly url: string;
  /** `ws://127.0.0.1:port/ws` */
  readonly wsUrl: string;
  /** The rendered template it runs. */
  readonly config: string;
  lines(): string[];
  /** SIGTERM to its pid, await the exit, remove its temp dir. */
  stop(): Promise<ExitInfo>;
}

/** The template rendered for these upstreams, listening on 127.0.0.1:port. */
export function renderForLocal(port: number, upstreams: NginxUpstreams): string {
  const servers = (addresses: readonly string[], params = "") => addresses.map((a) => `server ${a}${params};`).join(" ");
  return renderTemplate(readFileSync(NGINX_TEMPLATE, "utf8"), {
    TETHER_LISTEN: `127.0.0.1:${port}`,
    // Hubs with max_fails=0, as the template asks (see its upstream block).
    TETHER_HUB_SERVERS: servers(upstreams.hubs, " max_fails=0"),
    TETHER_API_SERVERS: servers(upstreams.api),
  });
}

/** `nginx -v` as [major, minor, patch]. */
export function nginxVersion(): [number, number, number] {
  const out = spawnSync(NGINX_BIN, ["-v"], { encoding: "utf8" });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${out.stderr}${out.stdout}`);
  if (!m) throw new Error(`cannot read the version of ${NGINX_BIN}: ${out.stderr}${out.error ? String(out.error) : ""}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** A temp prefix dir with a main config that includes `siteConfig` (what conf.d holds in the image). */
function prepareDir(siteConfig: string): { dir: string; mainConf: string } {
  if (!existsSync(NGINX_BIN)) {
    throw new Error(
      `${NGINX_BIN} not found: install Debian's nginx (apt-get install -y nginx; npm test does it when run as root) or set NGINX_BIN`,
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-nginx-"));
  // Run as root, nginx's workers drop to `nobody` and must reach the temp paths in here.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, "temp"));
  writeFileSync(path.join(dir, "tether.conf"), siteConfig);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `    ${kind}_temp_path ${dir}/temp/${kind};`).join("\n");
  const mainConf = path.join(dir, "nginx.conf");
  writeFileSync(
    mainConf,
    [
      "worker_processes 2;",
      "events { worker_connections 512; }",
      "http {",
      `    access_log ${dir}/access.log;`,
      temp,
      `    include ${dir}/tether.conf;`,
      "}",
      "",
    ].join("\n"),
  );
  return { dir, mainConf };
}

const baseArgs = (dir: string, mainConf: string) => ["-p", `${dir}/`, "-e", "stderr", "-c", mainConf];

/** `nginx -t` on a site config: resolves with nginx's own verdict (status and output). */
export function testConfig(siteConfig: string): { status: number | null; output: string } {
  const { dir, mainConf } = prepareDir(siteConfig);
  try {
    const res = spawnSync(NGINX_BIN, [...baseArgs(dir, mainConf), "-t", "-g", `pid ${dir}/nginx.pid;`], { encoding: "utf8" });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts nginx on `port` in front of `upstreams` and resolves once its workers are started (the
 * listening socket is bound before that, so connections from then on are served).
 */
export async function startNginx(port: number, upstreams: NginxUpstreams): Promise<NginxProcess> {
  const config = renderForLocal(port, upstreams);
  const { dir, mainConf } = prepareDir(config);
  const owned = spawnOwned(NGINX_BIN, [...baseArgs(dir, mainConf), "-g", `daemon off; pid ${dir}/nginx.pid; error_log stderr notice;`]);
  const lines: string[] = [];
  const verbose = process.env.TETHER_TEST_VERBOSE === "1";
  let onLine: ((line: string) => void) | undefined;
  readLines(owned.child, (line) => {
    lines.push(line);
    if (verbose) process.stderr.write(`[nginx ${owned.pid}] ${line}\n`);
    onLine?.(line);
  });
  const exited = owned.exited.catch((err: unknown): ExitInfo => {
    lines.push(`[harness] spawn failed: ${String(err)}`);
    return { code: null, signal: null };
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const started = new Promise<void>((resolve, reject) => {
    onLine = (line) => /start worker process \d+/.test(line) && resolve();
    if (lines.some((line) => /start worker process \d+/.test(line))) resolve();
    void exited.then((info) => reject(new Error(`nginx exited (${JSON.stringify(info)}) before starting its workers:\n${tail(lines)}`)));
  });
  try {
    await withTimeout(started, 10_000, () => `nginx did not start its workers:\n${tail(lines)}`);
  } catch (err) {
    signalOwned(owned, "SIGKILL");
    await exited;
    cleanup();
    throw err;
  }
  let stopping: Promise<ExitInfo> | undefined;
  return {
    pid: owned.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    config,
    lines: () => [...lines],
    stop() {
      // SIGTERM: nginx's fast shutdown (SIGQUIT would wait for every open WebSocket to close).
      stopping ??= (async () => {
        signalOwned(owned, "SIGTERM");
        const info = await withTimeout(exited, 10_000, () => `nginx (pid ${owned.pid}) did not exit on SIGTERM:\n${tail(lines)}`);
        cleanup();
        return info;
      })();
      return stopping;
    },
  };
}
