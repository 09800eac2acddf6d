/**
 * Release folders for the release tests: made as `deno task dist` makes them, into a temporary
 * folder (Deno's binaries come from `.cache/release/`, downloaded the first time), and run in a
 * bare environment: no DENO_DIR, a new empty HOME (so an empty Deno cache), nothing else.
 *
 * @module
 */

import type { Arch } from "../../scripts/release/deno_binary.ts";
import { buildRelease } from "../../scripts/release/folder.ts";

const CACHE = new URL("../../.cache/release", import.meta.url).pathname;

/** A release folder and a scratch folder beside it, both removed by `remove()`. */
export interface TestRelease {
  /** The release folder (deno, lib/, midge, the mosquitto_* links, ...). */
  folder: string;
  /** An empty folder for configuration, password and store files. */
  work: string;
  /** The environment to run the folder's commands in. */
  env: Record<string, string>;
  /** Remove everything. */
  remove(): Promise<void>;
}

/** Make the release folder for `arch` in a new temporary folder. */
export async function makeRelease(arch: Arch): Promise<TestRelease> {
  const root = await Deno.makeTempDir({ prefix: "midge-release-" });
  try {
    const folder = await buildRelease(arch, { outDir: root, cacheDir: CACHE, log: console.log });
    const work = `${root}/work`;
    const home = `${root}/home`;
    await Deno.mkdir(work);
    await Deno.mkdir(home);
    return {
      folder,
      work,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1" },
      remove: () => Deno.remove(root, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw error;
  }
}

/** The text of a midge.toml: one listener on 127.0.0.1, logins from `passwordFile`, a store. */
export function releaseConf(port: number, passwordFile: string, store: string): string {
  return [
    "[log]",
    `log_type = ["all"]`,
    "[persistence]",
    "persistence = true",
    `persistence_location = "${store}"`,
    "[security]",
    "allow_anonymous = false",
    `password_file = "${passwordFile}"`,
    "[[listener]]",
    `port = ${port}`,
    `bind_address = "127.0.0.1"`,
    "",
  ].join("\n");
}

/** The V8 flags of deno.json's `start` task, as written there. */
export async function startTaskV8Flags(): Promise<string> {
  const json = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const flags = /--v8-flags=\S+/.exec(json.tasks.start);
  return flags === null ? "" : flags[0];
}
