// Builds the dashboard: src/main.ts → dist/app.js (one ESM bundle), plus index.html and
// app.css. `node build.mjs [--outdir DIR] [--watch]`; the API serves the output at `/`.
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: "string" }, watch: { type: "boolean" } } });
const outdir = resolve(values.outdir ?? join(root, "dist"));

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: [join(root, "src/main.ts")],
  // app.js, plus chunks loaded on demand (xterm, for the console) under content-hashed names.
  outdir,
  entryNames: "app",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  tsconfig: join(root, "tsconfig.json"),
  legalComments: "linked",
  // xterm's stylesheet (`@xterm/xterm/css/xterm.css`) is imported as text and adopted in the
  // output view's shadow root as a constructed stylesheet: bundled, no CDN, nothing inline.
  loader: { ".css": "text" },
  logLevel: "warning",
  plugins: [
    {
      // zod re-exports all its error-message translations (`z.locales`, ~260 kB minified);
      // nothing here uses them, and English stays the default.
      name: "zod-without-locales",
      setup: (build) => {
        build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
          /[\\/]zod[\\/]/.test(args.importer) ? { path: "zod-locales", namespace: "empty" } : undefined,
        );
        build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {}", loader: "js" }));
      },
    },
    { name: "static", setup: (build) => build.onEnd((result) => result.errors.length || copyStatic()) },
  ],
};

/** Copies index.html, app.css and the icon (a file, not a data: URL, which the CSP would refuse), pointing index.html at `app.js?v=<hash>` so a new build is never served stale from cache. */
async function copyStatic() {
  const bundle = await readFile(join(outdir, "app.js"));
  const css = await readFile(join(root, "src/app.css"));
  const version = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 12);
  const html = (await readFile(join(root, "index.html"), "utf8"))
    .replace(`src="app.js"`, `src="app.js?v=${version(bundle)}"`)
    .replace(`href="app.css"`, `href="app.css?v=${version(css)}"`);
  await writeFile(join(outdir, "index.html"), html);
  await copyFile(join(root, "src/app.css"), join(outdir, "app.css"));
  await copyFile(join(root, "favicon.svg"), join(outdir, "favicon.svg"));
}

await mkdir(outdir, { recursive: true });
if (values.watch) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log(`watching; writing to ${outdir}`);
} else {
  const result = await esbuild.build(options);
  if (result.errors.length) process.exit(1);
  console.log(`built ${join(outdir, "app.js")}`);
}
