/**
 * A `redis-server` that asks for credentials, or speaks only TLS: for the tests of REDIS_URL with
 * a user and password and of `rediss://` (README "Redis with a password, ACL users and TLS").
 * The binary is Debian's, which is built with TLS. Certificates come from a throwaway CA made
 * with `openssl` in a temp dir, removed with the server.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readLines, signalOwned, spawnOwned, type OwnedChild } from "./children";
import { freePort } from "./ports";
import { tail, withTimeout } from "./wait";

/** PEM files of a throwaway CA and of a server certificate it signed (for 127.0.0.1 and localhost). */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Makes a CA and a server certificate in `dir` (RSA 2048, one day), as an operator with a private CA would. */
export function makeTlsFiles(dir: string): TlsFiles {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=tether-test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  );
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "san.ext",
    "-out",
    "server.crt",
  );
  // redis-server runs as us and must read its key; nobody else needs to.
  fs.chmodSync(file("server.key"), 0o600);
  return { ca: file("ca.crt"), cert: file("server.crt"), key: file("server.key") };
}

/** A running secured Redis. */
export interface SecureRedis {
  readonly port: number;
  /** Its temp dir (ACL file, certificates). */
  readonly dir: string;
  /** Every line it printed so far. */
  output(): string;
  /** SIGTERM and await the exit, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startSecureRedis}. */
export interface SecureRedisOptions {
  /** Lines of an ACL file (`user … on >password …`), written to `users.acl` and passed as `--aclfile`. */
  acl?: string[];
  /** `--requirepass` (the `default` user's password). */
  requirepass?: string;
  /** Serve TLS only (`--port 0 --tls-port`), with a certificate from a fresh CA; clients need no certificate. */
  tls?: boolean;
}

/** Starts `redis-server` on a free port with the given protections; resolves once it accepts connections. */
export async function startSecureRedis(options: SecureRedisOptions): Promise<SecureRedis & { tlsFiles?: TlsFiles }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-redis-secure-"));
  const port = await freePort();
  const args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"];
  let tlsFiles: TlsFiles | undefined;
  if (options.tls) {
    tlsFiles = makeTlsFiles(dir);
    args.push("--port", "0", "--tls-port", String(port), "--tls-cert-file", tlsFiles.cert, "--tls-key-file", tlsFiles.key);
    args.push("--tls-ca-cert-file", tlsFiles.ca, "--tls-auth-clients", "no");
  } else {
    args.push("--port", String(port));
  }
  if (options.acl) {
    fs.writeFileSync(path.join(dir, "users.acl"), `${options.acl.join("\n")}\n`, { mode: 0o600 });
    args.push("--aclfile", path.join(dir, "users.acl"));
  }
  if (options.requirepass !== undefined) args.push("--requirepass", options.requirepass);
  let server: RedisChild;
  try {
    server = await runRedisServer(args, dir, `redis-secure:${port}`);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= server.stop().finally(() => fs.rmSync(dir, { recursive: true, force: true }));
    return stopped;
  };
  return { port, dir, tlsFiles, output: () => server.output(), stop };
}

/** One `redis-server` child (a server, a replica or a Sentinel) owned by the test. */
export interface RedisChild {
  readonly child: OwnedChild;
  /** Every line it printed so far. */
  output(): string;
  /** SIGTERM and await the exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `redis-server args` in `cwd` and resolves once it logs that it is ready (a server: "Ready
 * to accept connections"; a Sentinel: "Sentinel ID is"), or rejects with its output.
 */
export async function runRedisServer(
  args: readonly string[],
  cwd: string,
  label: string,
  ready = /Ready to accept connections|Sentinel ID is/,
  /** A node restarted on a long AOF replays it first: give it longer. */
  timeoutMs = 10_000,
): Promise<RedisChild> {
  const server = spawnOwned("redis-server", args, { cwd });
  const lines: string[] = [];
  const isReady = new Promise<void>((resolve, reject) => {
    readLines(server.child, (line) => {
      lines.push(line);
      if (process.env.TETHER_TEST_VERBOSE === "1") process.stderr.write(`[${label}] ${line}\n`);
      if (ready.test(line)) resolve();
    });
    server.exited.then(
      (info) => reject(new Error(`${label}: redis-server exited before it was ready (code ${info.code}):\n${tail(lines)}`)),
      reject,
    );
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= stopChild(server));
  try {
    await withTimeout(isReady, timeoutMs, () => `${label}: redis-server never got ready:\n${tail(lines)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { child: server, output: () => lines.join("\n"), stop };
}

async function stopChild(child: OwnedChild): Promise<void> {
  if (child.exitInfo) return;
  signalOwned(child, "SIGTERM");
  try {
    await withTimeout(child.exited, 10_000, () => `redis-server (pid ${child.pid}) ignored SIGTERM`);
  } catch {
    signalOwned(child, "SIGKILL");
    await child.exited.catch(() => undefined);
  }
}
