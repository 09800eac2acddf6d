/**
 * The house rules of ARCHITECTURE.md, checked against the real import graph: every folder of
 * `src/` is a room placed in the `rooms` block, imports point down that order (never sideways
 * to a room on the same line, never up), `main.ts` imports only `src/cli/`, and no module is in
 * an import cycle, type-only imports included.
 *
 * The graph is `deno info --json`'s (see tests/fixtures/module_graph.ts): it lists type-only
 * and dynamic imports with their lines, so no second parser of import statements is needed.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  cycleThrough,
  importCycles,
  type ImportEdge,
  type ModuleGraph,
  readModuleGraph,
} from "./fixtures/module_graph.ts";

const ROOT = new URL("../", import.meta.url);

let graph: Promise<ModuleGraph> | undefined;

/** The module graph, read once for all the tests of this file. */
function moduleGraph(): Promise<ModuleGraph> {
  graph ??= readModuleGraph(ROOT);
  return graph;
}

/** Each room's level in ARCHITECTURE.md's `rooms` block: 0 for the first line, and so on down. */
async function roomLevels(): Promise<Map<string, number>> {
  const text = await Deno.readTextFile(new URL("ARCHITECTURE.md", ROOT));
  const block = /^```rooms\n([\s\S]*?)^```/m.exec(text);
  assert.ok(block, "ARCHITECTURE.md has no ```rooms block");
  const levels = new Map<string, number>();
  const lines = block[1].split("\n").map((line) => line.trim()).filter((line) => line !== "");
  lines.forEach((line, level) => {
    for (const room of line.split(/\s+/)) {
      assert.ok(!levels.has(room), `room ${room} is on two lines of the rooms block`);
      levels.set(room, level);
    }
  });
  return levels;
}

/** The room of a module under `src/`: its first folder, or its own name if it sits in src/. */
function roomOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 1 ? parts[1] : undefined;
}

/** Where an import is written, e.g. `src/http/api.ts:8 (type)`. */
function site(edge: ImportEdge): string {
  return `${edge.from}:${edge.line}${edge.typeOnly ? " (type)" : ""}`;
}

/**
 * The imports between rooms of `src/` that break the order of `levels`: one line each, naming
 * the import and the rule. Imports inside one room, and rooms not placed, are left to others.
 */
function roomOrderBreaches(edges: readonly ImportEdge[], levels: Map<string, number>): string[] {
  const breaches: string[] = [];
  const inOrder = [...edges].sort((a, b) => a.from.localeCompare(b.from) || a.line - b.line);
  for (const edge of inOrder) {
    const from = roomOf(edge.from);
    const to = roomOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    const fromLevel = levels.get(from);
    const toLevel = levels.get(to);
    if (fromLevel === undefined || toLevel === undefined || toLevel > fromLevel) continue;
    const rule = toLevel === fromLevel
      ? `${from} and ${to} share a line, and rooms on one line do not import each other`
      : `${to} is above ${from}, and imports point down`;
    breaches.push(`${site(edge)} imports ${edge.to}: ${rule}`);
  }
  return breaches;
}

Deno.test("every import in src/ resolves to a module", async () => {
  const { modules, unresolved } = await moduleGraph();
  assert.deepEqual(unresolved, []);
  assert.ok(modules.includes("main.ts") && modules.includes("src/cli/dispatch.ts"));
});

Deno.test("no module is in an import cycle, type-only imports included", async () => {
  const { edges } = await moduleGraph();
  const chains = importCycles(edges).map((cycle) => cycleThrough(edges, cycle[0]));
  assert.deepEqual(chains, [], `import cycles:\n${chains.join("\n")}`);
});

Deno.test("every entry of src/ is a room on a line of ARCHITECTURE.md's rooms block", async () => {
  const levels = await roomLevels();
  const entries: string[] = [];
  for await (const entry of Deno.readDir(new URL("src/", ROOT))) entries.push(entry.name);
  const unplaced = entries.filter((name) => !levels.has(name)).sort();
  assert.deepEqual(unplaced, [], "place these in the rooms block of ARCHITECTURE.md");
  const missing = [...levels.keys()].filter((room) => !entries.includes(room)).sort();
  assert.deepEqual(missing, [], "the rooms block names these, and src/ has no such entry");
});

Deno.test("imports in src/ point down the room order of ARCHITECTURE.md", async () => {
  const breaches = roomOrderBreaches((await moduleGraph()).edges, await roomLevels());
  assert.deepEqual(breaches, [], `imports against the room order:\n${breaches.join("\n")}`);
});

Deno.test("main.ts imports only from src/cli/", async () => {
  const { edges } = await moduleGraph();
  const stray = edges.filter((edge) => edge.from === "main.ts" && !edge.to.startsWith("src/cli/"));
  assert.deepEqual(stray.map((edge) => `${site(edge)} imports ${edge.to}`), []);
});

/** An import for the tests of the checks themselves. */
function edge(from: string, to: string, line = 1, typeOnly = false): ImportEdge {
  return { from, to, line, typeOnly };
}

Deno.test("readModuleGraph reads type-only, dynamic and unreached modules, with lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files: Record<string, string> = {
      "main.ts": 'await import("./src/a/one.ts");\n',
      "src/a/one.ts": 'import type { Two } from "../b/two.ts";\nexport type One = Two;\n',
      "src/b/two.ts": 'export type Two = 2;\nexport { x } from "./gone.ts";\n',
      "src/b/alone.ts": 'import "../a/one.ts";\n',
    };
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    const read = await readModuleGraph(new URL(`file://${dir}/`));
    assert.deepEqual(read.modules, ["main.ts", "src/a/one.ts", "src/b/alone.ts", "src/b/two.ts"]);
    const sorted = read.edges.sort((a, b) => a.from.localeCompare(b.from));
    assert.deepEqual(sorted, [
      edge("main.ts", "src/a/one.ts", 1),
      edge("src/a/one.ts", "src/b/two.ts", 1, true),
      edge("src/b/alone.ts", "src/a/one.ts", 1),
      edge("src/b/two.ts", "src/b/gone.ts", 2),
    ]);
    assert.equal(read.unresolved.length, 1);
    assert.match(read.unresolved[0], /^src\/b\/gone\.ts: Module not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importCycles finds a cycle closed by a type-only import; cycleThrough names it", () => {
  const edges = [
    edge("src/a/one.ts", "src/a/two.ts", 3),
    edge("src/a/two.ts", "src/a/three.ts", 5),
    edge("src/a/three.ts", "src/a/one.ts", 7, true),
    edge("src/a/three.ts", "src/b/leaf.ts", 8),
    edge("src/b/self.ts", "src/b/self.ts", 2),
  ];
  assert.deepEqual(importCycles(edges), [
    ["src/a/one.ts", "src/a/three.ts", "src/a/two.ts"],
    ["src/b/self.ts"],
  ]);
  assert.equal(
    cycleThrough(edges, "src/a/two.ts"),
    "src/a/two.ts:5 -> src/a/three.ts:7 (type) -> src/a/one.ts:3 -> src/a/two.ts",
  );
  assert.equal(cycleThrough(edges, "src/b/self.ts"), "src/b/self.ts:2 -> src/b/self.ts");
  assert.equal(cycleThrough(edges, "src/b/leaf.ts"), undefined);
  assert.deepEqual(importCycles(edges.slice(0, 2)), []);
});

Deno.test("roomOrderBreaches names upward and sideways imports with file, line and rule", () => {
  const levels = new Map([["cli", 0], ["broker", 1], ["store", 2], ["log", 2], ["codec", 3]]);
  const edges = [
    edge("src/cli/main.ts", "src/broker/broker.ts"),
    edge("src/broker/broker.ts", "src/broker/session.ts"),
    edge("src/store/kv.ts", "src/codec/mod.ts"),
    edge("src/codec/mod.ts", "src/broker/session.ts", 4, true),
    edge("src/store/kv.ts", "src/log/logger.ts", 9),
    edge("main.ts", "src/broker/broker.ts"),
  ];
  assert.deepEqual(roomOrderBreaches(edges, levels), [
    "src/codec/mod.ts:4 (type) imports src/broker/session.ts: broker is above codec, and imports point down",
    "src/store/kv.ts:9 imports src/log/logger.ts: store and log share a line, and rooms on one line do not import each other",
  ]);
});
