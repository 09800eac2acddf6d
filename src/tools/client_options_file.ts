/**
 * Options files of the client tools: where the default one lives, and how a file becomes
 * command-line arguments, line by line, as Mosquitto 2.0.11 reads `~/.config/mosquitto_pub`.
 *
 * @module
 */

/** Where to look for files: the parts of the environment the tools read. */
export interface OptionsFileEnv {
  /** `$HOME`, or undefined when unset. */
  home?: string;
  /** `$XDG_CONFIG_HOME`, or undefined when unset (an empty value counts as set). */
  xdgConfigHome?: string;
}

/**
 * The default options file of `program` (`mosquitto_pub`, ...): `$XDG_CONFIG_HOME/<program>`
 * when that variable is set (even empty: there is no fallback then), else
 * `$HOME/.config/<program>`, else none.
 */
export function defaultOptionsFile(program: string, env: OptionsFileEnv): string | undefined {
  if (env.xdgConfigHome !== undefined) return `${env.xdgConfigHome}/${program}`;
  if (env.home !== undefined) return `${env.home}/.config/${program}`;
  return undefined;
}

/** Longest line piece one read takes (C `fgets` with a 1024-byte buffer). */
const CHUNK = 1023;

/** Split the bytes of a file the way repeated `fgets(line, 1024, file)` calls do. */
function fgetsChunks(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const lineEnd = newline === -1 ? bytes.length : newline + 1;
    const end = Math.min(lineEnd, start + CHUNK);
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

/**
 * The arguments of each line of an options file: lines starting with `#` are comments; the
 * end-of-line characters go; the first word (leading spaces skipped, words split at spaces
 * only) is the option and everything after the single space that ends it, verbatim, is its
 * value. So `-t my topic` gives `["-t", "my topic"]`, and `-D publish user-property a b` gives
 * one value where `-D` wants several, as it does in Mosquitto.
 */
export function optionsFileArgs(bytes: Uint8Array): string[][] {
  const decoder = new TextDecoder();
  const lines: string[][] = [];
  for (const chunk of fgetsChunks(bytes)) {
    if (chunk[0] === 0x23) continue; // '#'
    const line = decoder.decode(chunk).replace(/[\r\n]+$/, "");
    const start = line.search(/[^ ]/);
    if (start === -1) continue;
    const space = line.indexOf(" ", start);
    if (space === -1) {
      lines.push([line.slice(start)]);
      continue;
    }
    const rest = line.slice(space + 1);
    lines.push(rest === "" ? [line.slice(start, space)] : [line.slice(start, space), rest]);
  }
  return lines;
}

/**
 * Read an options file. A file that cannot be opened gives undefined; a directory reads as
 * empty, as `fopen` + `fgets` see it.
 */
export async function readOptionsFile(path: string): Promise<string[][] | undefined> {
  try {
    return optionsFileArgs(await Deno.readFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.IsADirectory) return [];
    try {
      if ((await Deno.stat(path)).isDirectory) return [];
    } catch {
      // it does not exist or cannot be seen
    }
    return undefined;
  }
}
