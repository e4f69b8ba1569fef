/**
 * docker-compose.yml through dclint (a maintained Compose linter: the Compose JSON schema plus
 * best-practice and style rules), with the repository's .dclintrc.yaml, which turns off or
 * tunes each rule on purpose. `npx dclint docker-compose.yml` runs the same by hand.
 * The file's meaning is checked against the code in deploy.unit.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DCLinter } from "dclint";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const COMPOSE = path.join(ROOT, "docker-compose.yml");
const rc = parse(readFileSync(path.join(ROOT, ".dclintrc.yaml"), "utf8")) as Pick<DCLinterConfig, "rules">;
type DCLinterConfig = ConstructorParameters<typeof DCLinter>[0];
const linter = new DCLinter({ rules: rc.rules, quiet: false, debug: false, exclude: [] });

/** Lints one file; returns `line rule: message` for each finding. */
function lint(file: string): string[] {
  return linter.lintFiles([file], false).flatMap((result) => result.messages.map((m) => `${m.line} ${m.rule}: ${m.message}`));
}

/** Lints a variant of docker-compose.yml (written to a temp dir, same folder layout not needed). */
function lintVariant(edit: (text: string) => string): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-dclint-"));
  try {
    const file = path.join(dir, "docker-compose.yml");
    writeFileSync(file, edit(readFileSync(COMPOSE, "utf8")));
    return lint(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("docker-compose.yml passes dclint with the repository's configuration: no errors, no warnings", () => {
  expect(lint(COMPOSE)).toEqual([]);
});

test("every rule the configuration changes is one dclint has, and says why in a comment", () => {
  const known = new Set([
    "no-build-and-image",
    "no-duplicate-container-names",
    "no-duplicate-exported-ports",
    "no-quotes-in-volumes",
    "no-unbound-port-interfaces",
    "no-version-field",
    "require-project-name-field",
    "require-quotes-in-ports",
    "service-container-name-regex",
    "service-dependencies-alphabetical-order",
    "service-image-require-explicit-tag",
    "service-keys-order",
    "service-ports-alphabetical-order",
    "services-alphabetical-order",
    "top-level-properties-order",
  ]);
  for (const rule of Object.keys(rc.rules)) expect({ rule, known: known.has(rule) }).toEqual({ rule, known: true });
  const text = readFileSync(path.join(ROOT, ".dclintrc.yaml"), "utf8");
  for (const rule of Object.keys(rc.rules)) {
    // The comment lines right above the rule's line.
    const above =
      text
        .slice(0, text.indexOf(`  ${rule}:`))
        .trimEnd()
        .split("\n")
        .at(-1) ?? "";
    expect({ rule, commented: above.trim().startsWith("#") }).toEqual({ rule, commented: true });
  }
});

test("the linter is live: the load balancer published on every interface is an error again", () => {
  const published = '- target: 80\n        published: "${LB_PORT:-8080}"\n        host_ip: "${LB_ADDRESS:-127.0.0.1}"';
  expect(readFileSync(COMPOSE, "utf8")).toContain(published);
  const found = lintVariant((text) => text.replace(published, '- "${LB_PORT:-8080}:80"'));
  expect(found).toEqual([expect.stringMatching(/no-unbound-port-interfaces: Service "lb" is exporting port "\$\{LB_PORT:-8080\}:80"/)]);
});

test("a key out of the configured order is a warning (the merge key `<<` first)", () => {
  const found = lintVariant((text) =>
    text
      .replace("  api:\n    <<: *tether-service\n    environment:", "  api:\n    environment:")
      .replace("\n  hub:\n", "\n    <<: *tether-service\n\n  hub:\n"),
  );
  expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/service-keys-order: Key "<<" in service "api" is out of order/)]));
});
