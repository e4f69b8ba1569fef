/** Where an agent should connect: the hub's `/ws` on the origin serving this page. */
export function agentUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

/**
 * `--server-key=$'…'` for each SPKI PEM (CONTRACT §5): ANSI-C quoting keeps the key's newlines on
 * one pasteable line (bash, zsh, ksh); PEMs hold only base64, dashes and spaces.
 */
export function serverKeyArgs(serverKeys: readonly string[]): string {
  return serverKeys.map((pem) => ` --server-key=$'${pem.trim().replace(/[\\']/g, "").replace(/\n/g, "\\n")}'`).join("");
}

/**
 * The exact commands to paste on a server to start the reference agent (CONTRACT §1, §5). The token
 * goes in the environment (`TETHER_TOKEN`), never in the agent's arguments: a process's command
 * line is visible to every user of the machine (`ps`), its environment only to its owner.
 */
export function agentCommands(url: string, token: string, serverKeys: readonly string[] = []): { npm: string; npx: string } {
  // Tokens are URL-safe today; quote anything else so the pasted line still works.
  if (!/^[\w.~+/=-]+$/.test(token)) token = `'${token.replace(/'/g, `'"'"'`)}'`;
  const keys = serverKeyArgs(serverKeys);
  return {
    npm: `TETHER_TOKEN=${token} npm run agent -- --url ${url}${keys}`,
    npx: `TETHER_TOKEN=${token} npx tether-agent --url ${url}${keys}`,
  };
}

/**
 * Has the host's agent registered? The hub marks a host online as soon as it holds the agent's
 * socket, before `register`; only `register` reports the hostname. So "online with a hostname"
 * is what tells a new host's agent is up and serving, not merely connected.
 */
export function agentRegistered(host: { status: string; hostname?: string | undefined } | undefined): boolean {
  return host?.status === "online" && host.hostname !== undefined && host.hostname !== "";
}
