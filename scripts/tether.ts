/**
 * `npm run tether -- run [options] COMMAND [ARG…]`: one command on many hosts from a script or
 * a deploy pipeline (issue 14). The API token comes from TETHER_API_TOKEN. See scripts/tether/.
 */
import { USAGE, UsageError, parseRunArgs } from "./tether/args";
import { ApiError, runCommand } from "./tether/run";

async function main(argv: string[]): Promise<number> {
  const io = { out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
  try {
    const opts = parseRunArgs(argv, process.env);
    if (opts === null) {
      io.out(USAGE);
      return 0;
    }
    const token = process.env.TETHER_API_TOKEN;
    if (!token) throw new UsageError("TETHER_API_TOKEN is not set (an API token: POST /api/tokens, or the dashboard)");
    let interrupted = 0;
    const handlers: Array<() => void> = [];
    process.on("SIGINT", () => {
      interrupted += 1;
      if (interrupted > 1) process.exit(130);
      for (const h of handlers) h();
    });
    return await runCommand(opts, token, io, { onInterrupt: (h) => handlers.push(h) });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tether: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ApiError) {
      io.err(`tether: ${err.message}`);
      return 2;
    }
    io.err(`tether: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  () => (process.exitCode = 1),
);
