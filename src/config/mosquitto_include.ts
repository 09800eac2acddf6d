/**
 * `include_dir` for mosquitto.conf: which files a directory contributes and in which order.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fsReason } from "./errors.ts";

/** A file's name and text. */
export interface ConfText {
  /** The file, as named in origins. */
  file: string;
  /** Its contents. */
  text: string;
}

/** What one `include_dir` line loads: its files in load order, or why it could not. */
export type IncludedFiles = { files: ConfText[] } | { error: string };

/**
 * Mosquitto's `include_dir` order: character by character, letters compared case-blind first
 * and then upper case before lower case (`00.conf 01.conf A.conf a.conf B.conf b.conf`).
 */
export function compareIncludeNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const ux = upper(x);
    const uy = upper(y);
    return ux !== uy ? ux - uy : x - y;
  }
  return a.length - b.length;
}

function upper(code: number): number {
  return code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
}

/**
 * The `*.conf` files of `dir` in Mosquitto's order, read; or the first reason they cannot be
 * (the directory, one of its files, or the main file found among them).
 */
export async function readIncludeDir(dir: string, mainFile: string): Promise<IncludedFiles> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.length > 5 && entry.name.endsWith(".conf")) names.push(entry.name);
    }
  } catch (error) {
    return { error: `cannot read directory ${dir}: ${fsReason(error)}` };
  }
  names.sort(compareIncludeNames);
  const files: ConfText[] = [];
  for (const name of names) {
    const file = join(dir, name);
    if (resolve(file) === resolve(mainFile)) {
      return { error: `${dir} must not contain the main configuration file` };
    }
    try {
      files.push({ file, text: await Deno.readTextFile(file) });
    } catch (error) {
      return { error: `cannot read ${file}: ${fsReason(error)}` };
    }
  }
  return { files };
}
