// Bundles the agent (with the protocol, zod and ws) into one dependency-free file for the packed
// package: `npm pack -w packages/agent` runs this first, and `npx ./tether-agent-*.tgz` then
// needs nothing but Node. The repo itself runs src/ through tsx (bin/tether-agent.js).
import { build } from "esbuild";

await build({
  entryPoints: [new URL("./src/main.ts", import.meta.url).pathname],
  outfile: new URL("./dist/tether-agent.js", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // ws loads these native speed-ups only if they are installed; without them it uses JS.
  external: ["bufferutil", "utf-8-validate"],
  legalComments: "linked",
  logLevel: "warning",
});
