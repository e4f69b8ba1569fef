/**
 * `npm run build`: each service's JavaScript and the dashboard bundle, for production.
 *
 * Every service's `src/main.ts` is bundled by esbuild into `services/<name>/dist/main.js` (CommonJS
 * for Node 20, source map beside it). The workspace packages (`@tether/core`, `@tether/protocol`)
 * are bundled in, because their package.json points at TypeScript; every other package stays
 * external and is loaded from node_modules at run time, so the image's `npm ci --omit=dev` tree
 * is what runs and native or dynamically loaded modules (pino's transports, BullMQ's Lua files)
 * behave as they do unbundled. The output sits at the same depth as `src/`, so paths the code
 * makes from `__dirname` (the api's `../../../web/dist`) resolve the same built or not. The Lua
 * scripts (packages/core/src/lua/*.lua) are read at run time from beside the code that loads them
 * (`__dirname`), so they are copied beside each main.js; the image takes dist/ whole.
 *
 * Run it as `node dist/main.js` with `--enable-source-maps` for TypeScript lines in stack traces.
 * Development and the tests keep running the TypeScript through tsx.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build, type BuildOptions, type Plugin } from "esbuild";

const ROOT = path.resolve(__dirname, "..");

/** The services that ship as built JavaScript, and where each one's entry and output live. */
export const BUILT_SERVICES = ["api", "hub", "worker"] as const;
export type BuiltService = (typeof BUILT_SERVICES)[number];

/** `services/<name>/dist/main.js`, relative to the repository root. */
export const builtEntry = (name: BuiltService): string => `services/${name}/dist/main.js`;

/** Bare imports stay external unless they are one of our own workspaces (which ship TypeScript). */
const externalDependencies: Plugin = {
  name: "external-node-modules",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@tether/") ? undefined : { path: args.path, external: true }));
  },
};

/** esbuild options for one service (exported for the test that checks what is external). */
export function serviceBuildOptions(name: BuiltService): BuildOptions {
  return {
    absWorkingDir: ROOT,
    entryPoints: [`services/${name}/src/main.ts`],
    outfile: builtEntry(name),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: true,
    // Class and function names stay as written: they appear in logs and error messages.
    keepNames: true,
    tsconfig: "tsconfig.base.json",
    plugins: [externalDependencies],
    logLevel: "warning",
  };
}

/** The Lua scripts (read at run time, see packages/core/src/lua/scripts.ts). */
const LUA_DIR = path.join(ROOT, "packages/core/src/lua");

/**
 * Bundles every service (in parallel; esbuild takes well under a second for all three), each with
 * the Lua scripts beside it. Every file is replaced whole (written aside, then renamed over the
 * old one): tests and the bench build while services started from an earlier build may be
 * reading these files, and must see the old file or the new one, never a truncated one.
 */
export async function buildServices(): Promise<void> {
  await Promise.all(
    BUILT_SERVICES.map(async (name) => {
      const { outputFiles } = await build({ ...serviceBuildOptions(name), write: false });
      const dist = path.join(ROOT, path.dirname(builtEntry(name)));
      await mkdir(dist, { recursive: true });
      const lua = (await readdir(LUA_DIR)).filter((f) => f.endsWith(".lua"));
      await Promise.all([
        ...outputFiles.map((f) => replaceFile(f.path, f.contents)),
        ...lua.map(async (f) => replaceFile(path.join(dist, f), await readFile(path.join(LUA_DIR, f)))),
      ]);
    }),
  );
}

/** Write `file` aside under a name of its own, then rename it over `file` (atomic on one filesystem). */
async function replaceFile(file: string, contents: Uint8Array): Promise<void> {
  const aside = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, contents);
  await rename(aside, file);
}

async function main(): Promise<void> {
  const started = Date.now();
  await buildServices();
  process.stdout.write(`built ${BUILT_SERVICES.map(builtEntry).join(", ")} in ${Date.now() - started} ms\n`);
  if (process.argv.includes("--services-only")) return;
  // The dashboard has its own build (web/build.mjs, esbuild too).
  const web = spawnSync("npm", ["run", "--silent", "build", "-w", "web"], { cwd: ROOT, stdio: "inherit" });
  if (web.status !== 0) process.exit(web.status ?? 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`build failed: ${String(err)}\n`);
    process.exit(1);
  });
}
