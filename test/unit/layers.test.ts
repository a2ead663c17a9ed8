/**
 * The layering of the sources, read from their imports (README "Layers"):
 * protocol at the ground, infra beside it, policies pure over the policy
 * context, actors above them, the simulator on the master's seam, the CLI on
 * top, and no import circle anywhere. Type-only imports count: a layer that
 * names another's types depends on it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import ts from "typescript";
import { ROOT, sourceFiles } from "../helpers/sources.ts";

const SOURCE_DIRS = ["protocol", "infra", "policies", "actors", "simulate", "cli", "bench"];

/** Repository-relative source file → what it imports: source files (relative) or `pkg:<name>`. */
type ImportGraph = Map<string, string[]>;

function importGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    // every `import`, `export … from`, `import type` and `import()` of the file
    const { importedFiles } = ts.preProcessFile(text, true, true);
    graph.set(
      file,
      importedFiles.map(({ fileName }) =>
        fileName.startsWith(".")
          ? path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName))
          : `pkg:${fileName}`,
      ),
    );
  }
  return graph;
}

const graph = importGraph();

function edges(): Array<[from: string, to: string]> {
  return [...graph].flatMap(([from, tos]) => tos.map((to): [string, string] => [from, to]));
}

function under(file: string, dir: string): boolean {
  return file.startsWith(`${dir}/`);
}

/** `from → to` for every import of a file under `from` that `forbidden` rejects. */
function offending(fromDir: string, forbidden: (to: string) => boolean): string[] {
  return edges()
    .filter(([from, to]) => under(from, fromDir) && forbidden(to))
    .map(([from, to]) => `${from} → ${to}`);
}

const anyOf =
  (...dirs: string[]) =>
  (to: string) =>
    dirs.some((dir) => under(to, dir));

const isNats = (to: string) => /^pkg:(@nats-io\/|nats$)/.test(to);

/**
 * For each file under `fromDir` that reaches a NATS package through its
 * imports (directly or through infra's NATS parts), the chain of imports.
 */
function chainsToNats(fromDir: string): string[] {
  const chains: string[] = [];
  for (const start of graph.keys()) {
    if (!under(start, fromDir)) continue;
    const parent = new Map<string, string>([[start, start]]);
    const queue = [start];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const hit = (graph.get(file) ?? []).find(isNats);
      if (hit !== undefined) {
        const chain = [hit];
        for (let at = file; ; at = parent.get(at) ?? start) {
          chain.unshift(at);
          if (at === start) break;
        }
        chains.push(chain.join(" → "));
        break;
      }
      for (const to of graph.get(file) ?? []) {
        if (graph.has(to) && !parent.has(to)) {
          parent.set(to, file);
          queue.push(to);
        }
      }
    }
  }
  return chains;
}

test("layers - the import graph covers the source folders", (t) => {
  for (const dir of SOURCE_DIRS) {
    t.true(
      [...graph.keys()].some((file) => under(file, dir)),
      `no source file found under ${dir}/`,
    );
  }
  t.true(edges().length > 100, "the import graph has hardly any edges: imports are not read");
});

test("layers - protocol imports nothing of infra, policies, actors, simulate, cli or bench", (t) => {
  t.deepEqual(
    offending("protocol", anyOf("infra", "policies", "actors", "simulate", "cli", "bench")),
    [],
  );
});

test("layers - infra imports nothing of policies, actors, simulate, cli or bench", (t) => {
  t.deepEqual(offending("infra", anyOf("policies", "actors", "simulate", "cli", "bench")), []);
});

test("layers - policies import nothing of actors, simulate, cli or bench, and no NATS", (t) => {
  t.deepEqual(offending("policies", anyOf("actors", "simulate", "cli", "bench")), []);
  t.deepEqual(chainsToNats("policies"), []);
});

test("layers - actors import nothing of simulate, cli or bench", (t) => {
  t.deepEqual(offending("actors", anyOf("simulate", "cli", "bench")), []);
});

test("layers - the agent and the executor do not import each other; actors/shared imports no actor", (t) => {
  t.deepEqual(offending("actors/agent", anyOf("actors/executor")), []);
  t.deepEqual(offending("actors/executor", anyOf("actors/agent")), []);
  const otherActors = (to: string) => under(to, "actors") && !under(to, "actors/shared");
  t.deepEqual(offending("actors/shared", otherActors), []);
});

test("layers - the framework SDKs (scheduler, executor) import no other actor than actors/shared", (t) => {
  for (const sdk of ["actors/scheduler", "actors/executor"]) {
    const otherActors = (to: string) =>
      under(to, "actors") && !under(to, sdk) && !under(to, "actors/shared");
    t.deepEqual(offending(sdk, otherActors), []);
  }
});

test("layers - the simulator imports nothing of cli or bench, and the master only through its seam", (t) => {
  t.deepEqual(offending("simulate", anyOf("cli", "bench")), []);
  t.deepEqual(
    offending("simulate", (to) => under(to, "actors") && to !== "actors/master/embedded.ts"),
    [],
  );
});

/** The import circles of the graph: its strongly connected components of more than one file (Tarjan). */
function circles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const to of graph.get(file) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) {
        found.push(component.sort());
      }
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

test("layers - no import circle anywhere in the sources", (t) => {
  t.deepEqual(
    circles().map((files) => files.join(" ↔ ")),
    [],
  );
});
