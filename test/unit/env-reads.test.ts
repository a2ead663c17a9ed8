/**
 * Configuration comes from the environment only through the configuration
 * resolvers (infra/config.ts, infra/config-schema.ts, actors/<actor>/config.ts):
 * any other source file that touches `process.env` fails here. Building a
 * child's environment (copying or scrubbing the process's own) goes through
 * infra/inherited-env.ts, the one other file allowed. The scan reads the
 * syntax tree, so a comment that names `process.env` does not count.
 * bench/ and test/ are tooling, not the package, and are not scanned.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import ts from "typescript";
import { ROOT, sourceFiles } from "../helpers/sources.ts";

const SOURCE_DIRS = ["protocol", "infra", "policies", "actors", "simulate", "cli"];

/** The configuration resolvers: the files that read configuration from the environment. */
const CONFIG_MODULES = [/^infra\/config(-schema)?\.ts$/, /^actors\/[^/]+\/config\.ts$/];

/** Files that touch `process.env` only to build a child's environment, each with why. */
const ENVIRONMENT_BUILDERS: Record<string, string> = {
  "infra/inherited-env.ts": "copies and scrubs the process's environment for its children",
};

/** `process`, `globalThis.process`. */
function isProcess(node: ts.Expression): boolean {
  return (
    (ts.isIdentifier(node) && node.text === "process") ||
    (ts.isPropertyAccessExpression(node) && node.name.text === "process")
  );
}

/**
 * The lines (1-based) where `text` touches the environment: `process.env`,
 * `process["env"]`, `const { env } = process` and `env` imported from
 * `node:process`.
 */
function environmentReads(fileName: string, text: string): number[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const at = (node: ts.Node) =>
    lines.push(source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1);
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === "env" &&
      isProcess(node.expression)
    ) {
      at(node);
    } else if (
      ts.isElementAccessExpression(node) &&
      isProcess(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === "env"
    ) {
      at(node);
    } else if (
      ts.isVariableDeclaration(node) &&
      node.initializer !== undefined &&
      isProcess(node.initializer) &&
      ts.isObjectBindingPattern(node.name) &&
      node.name.elements.some((e) => (e.propertyName ?? e.name).getText(source) === "env")
    ) {
      at(node);
    } else if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      /^(node:)?process$/.test(node.moduleSpecifier.text)
    ) {
      const bindings = node.importClause?.namedBindings;
      if (
        bindings !== undefined &&
        ts.isNamedImports(bindings) &&
        bindings.elements.some((e) => (e.propertyName ?? e.name).text === "env")
      ) {
        at(node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

const files = SOURCE_DIRS.flatMap(sourceFiles);
const reads = new Map(
  files.map((file) => [file, environmentReads(file, readFileSync(path.join(ROOT, file), "utf8"))]),
);

const isConfigModule = (file: string) => CONFIG_MODULES.some((pattern) => pattern.test(file));

test("env reads - the scan sees every way of touching the environment, and not comments", (t) => {
  const sample = [
    "const a = process.env.AGORA_X;", // 1
    'const b = process["env"];', // 2
    "const { env } = process;", // 3
    'import { env as e } from "node:process";', // 4
    "const c = globalThis.process.env;", // 5
    "// process.env in a comment", // 6
    'const d = "process.env in a string";', // 7
    "const e2 = other.env;", // 8
  ].join("\n");
  t.deepEqual(environmentReads("sample.ts", sample), [1, 2, 3, 4, 5]);
});

test("env reads - the scan covers the source folders, the config modules among them", (t) => {
  t.true(files.length > 100, `only ${files.length} files`);
  for (const file of ["infra/config.ts", "actors/executor/config.ts", "cli/runtime.ts"]) {
    t.true(reads.has(file), file);
  }
  // the resolvers do read the environment: the allow-list is not empty words
  t.true((reads.get("infra/config.ts") ?? []).length > 0);
});

test("env reads - only the configuration resolvers read process.env", (t) => {
  const offending = [...reads]
    .filter(([file, lines]) => lines.length > 0 && !isConfigModule(file))
    .filter(([file]) => ENVIRONMENT_BUILDERS[file] === undefined)
    .map(([file, lines]) => `${file}:${lines.join(",")}`);
  t.deepEqual(
    offending,
    [],
    "read configuration through infra/config.ts or actors/<actor>/config.ts",
  );
});

test("env reads - every allowed environment builder exists and touches process.env", (t) => {
  for (const file of Object.keys(ENVIRONMENT_BUILDERS)) {
    t.true((reads.get(file) ?? []).length > 0, `${file} is listed but reads nothing: drop it`);
  }
});
