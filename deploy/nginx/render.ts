/**
 * Renders deploy/nginx/tether.conf.template the way the official nginx image does at start
 * (envsubst over /etc/nginx/templates/*.template, with every variable of its environment):
 * `${NAME}` and `$NAME` become the value of NAME when NAME is defined, and everything else —
 * nginx's own lowercase `$variables` — is left as it is.
 *
 * For nginx outside Docker (and for the load-balancer test):
 *   TETHER_LISTEN=8080 TETHER_HUB_SERVERS='server 10.0.0.2:8000 max_fails=0; server 10.0.0.3:8000 max_fails=0;' \
 *   TETHER_API_SERVERS='server 10.0.0.4:8000;' npx tsx deploy/nginx/render.ts > /etc/nginx/conf.d/tether.conf
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** The template the compose file mounts and the load-balancer test runs. */
export const NGINX_TEMPLATE = path.join(__dirname, "tether.conf.template");

/** Placeholders the template must get values for: the `TETHER_*` names in `${…}`. */
export function templateVariables(template: string): string[] {
  return [...new Set([...withoutComments(template).matchAll(/\$\{(TETHER_[A-Z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

/** Thrown when a placeholder has no value; names every missing variable. */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

/**
 * envsubst semantics for the names defined in `env`; afterwards every `${TETHER_*}` placeholder
 * must be gone, else {@link TemplateError} names the missing ones (envsubst would leave them,
 * and nginx would fail later with a less helpful message).
 */
export function renderTemplate(template: string, env: Readonly<Record<string, string | undefined>>): string {
  const missing = templateVariables(template).filter((name) => env[name] === undefined);
  if (missing.length > 0) throw new TemplateError(`nginx template: set ${missing.join(", ")}`);
  return template.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const value = env[(braced ?? bare)!];
    return value === undefined ? whole : value;
  });
}

/** The template's text with `#` comments removed (placeholders named in comments need no value). */
function withoutComments(template: string): string {
  return template.replace(/#[^\n]*/g, "");
}

if (require.main === module) {
  const file = process.argv[2] ?? NGINX_TEMPLATE;
  try {
    process.stdout.write(renderTemplate(readFileSync(file, "utf8"), process.env));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
