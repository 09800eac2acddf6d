import assert from "node:assert/strict";
import { REPO } from "./readme_commands.ts";

/** What `deno info --json` says (the fields read here). */
interface ModuleInfo {
  modules: { kind?: string; npmPackage?: string }[];
  npmPackages: Record<string, { dependencies?: string[] }>;
}

/** The npm packages the module graph imports, with the packages they depend on. */
function reachedPackages(info: ModuleInfo): Set<string> {
  const reached = new Set<string>();
  const pending = info.modules.flatMap((m) =>
    m.kind === "npm" && m.npmPackage ? [m.npmPackage] : []
  );
  for (let i = 0; i < pending.length && i < 10_000; i++) {
    if (reached.has(pending[i])) continue;
    reached.add(pending[i]);
    pending.push(...info.npmPackages[pending[i]]?.dependencies ?? []);
  }
  return reached;
}

/**
 * Deno installs every npm package of the lock file it runs with, used or not: a package in
 * deno.lock is downloaded by the first `deno run -A main.ts` of every user.
 */
Deno.test("deno.lock lists only the npm packages main.ts reaches, so a first run downloads nothing for the tests", async () => {
  const lock = JSON.parse(await Deno.readTextFile(`${REPO}deno.lock`));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: REPO,
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info: ModuleInfo = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(
    Object.keys(lock.npm ?? {}).sort(),
    [...reachedPackages(info)].sort(),
    "test-only packages belong in tests/deno.lock: run tests through `deno task test`, or " +
      "with --lock=tests/deno.lock",
  );
});
