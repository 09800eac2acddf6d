/**
 * Shared by the mosquitto.conf tests: the fixtures, an in-memory parse and ways to read the
 * result.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, formatProblem } from "../../src/config/errors.ts";
import { parseMosquittoConf, readMosquittoConf } from "../../src/config/mosquitto_conf.ts";
import type { Config } from "../../src/config/options.ts";
import type { RawConfig, RawSection } from "../../src/config/raw.ts";
import { validateConfig } from "../../src/config/validate.ts";

/** The fixture directory, ending in "/". */
export const FIXTURES = new URL("./fixtures/mosquitto/", import.meta.url).pathname;

/** Process facts for validation. */
export const FACTS = { userName: "u", isRoot: false };

/** The path of a fixture. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/**
 * Parse `text` as m.conf; `dirs` maps an include_dir value to its files (name -> text, in
 * load order).
 */
export function parse(text: string, dirs: Record<string, Record<string, string>> = {}): RawConfig {
  return parseMosquittoConf({ file: "m.conf", text }, (dir) => {
    const files = dirs[dir];
    if (files === undefined) return { error: `cannot read directory ${dir}: not found` };
    return {
      files: Object.entries(files).map(([name, text]) => ({ file: `${dir}/${name}`, text })),
    };
  });
}

/** The values of `key` in `section`, in file order. */
export function values(section: RawSection, key: string): unknown[] {
  return (section.entries.get(key) ?? []).map((e) => e.value);
}

/** Where the values of `key` in `section` came from, as FILE:LINE. */
export function origins(section: RawSection, key: string): string[] {
  return (section.entries.get(key) ?? []).map((e) => `${e.origin.file}:${e.origin.line}`);
}

/** The formatted problems of the ConfigError `fn` throws. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  assert.fail("expected a ConfigError");
}

/** The formatted problems of the ConfigError `fn` rejects with. */
export async function problemsOfAsync(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  assert.fail("expected a ConfigError");
}

/** Read and validate a fixture. */
export async function load(name: string): Promise<Config> {
  return validateConfig(await readMosquittoConf(fixture(name)), FACTS);
}

/** The listeners' ports. */
export function ports(config: Config): number[] {
  return config.listeners.map((l) => l.port);
}

const EXAMPLE_DIR = "/usr/share/doc/mosquitto/examples";

/**
 * The text of Mosquitto's example mosquitto.conf as installed on this machine (plain or
 * gzipped, as Debian ships it), or undefined when it is not installed. The tests read it where
 * it is rather than keep a copy of Mosquitto's prose in this repository.
 */
export function mosquittoExample(): { file: string; text: Promise<string> } | undefined {
  for (const name of ["mosquitto.conf", "mosquitto.conf.gz", "mosquitto.conf.example"]) {
    const file = `${EXAMPLE_DIR}/${name}`;
    try {
      Deno.statSync(file);
    } catch {
      continue;
    }
    return { file, text: readMaybeGzip(file) };
  }
  return undefined;
}

async function readMaybeGzip(file: string): Promise<string> {
  const bytes = await Deno.readFile(file);
  if (!file.endsWith(".gz")) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
