/**
 * Writing a password file safely: the new content goes to a temporary file in the same
 * directory, which is flushed to disk and then renamed over the old file, so a reader (the
 * broker reloading) sees the old file or the new one, never half of one. The new file keeps
 * the old one's permissions (and owner, where allowed); a new file is created 0600.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** Permissions of a password file that did not exist. */
export const NEW_FILE_MODE = 0o600;

/** The most symbolic links followed to find where a dangling link points. */
const MAX_LINKS = 40;

/** A path to show in messages, and the file it stands for. */
export interface ResolvedPath {
  /** The canonical path when the file exists (as realpath(3) gives it), else the path given. */
  display: string;
  /** The file to read and replace: symbolic links followed, even a dangling one. */
  target: string;
}

/**
 * Resolve `path` as `mosquitto_passwd` does with realpath(3): an existing file by its
 * canonical path; a missing one by the path given (through a dangling link: where it points,
 * so that the link is kept). Other failures (not a directory, a loop) are thrown.
 */
export async function resolvePath(path: string): Promise<ResolvedPath> {
  try {
    const real = await Deno.realPath(path);
    return { display: real, target: real };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  let current = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch {
      break;
    }
    if (!info.isSymlink) break;
    const link = await Deno.readLink(current);
    current = link.startsWith("/") ? link : join(dirname(current), link);
  }
  return { display: path, target: current };
}

/** Which step of `replaceFile` failed. */
export class ReplaceError extends Error {
  /** `temp`: the temporary file could not be created; `write`: a later step failed. */
  readonly stage: "temp" | "write";

  /** A failure at `stage`, caused by `cause`. */
  constructor(stage: "temp" | "write", cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "ReplaceError";
    this.stage = stage;
  }
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function createTemp(path: string): Promise<{ file: Deno.FsFile; temp: string }> {
  const dir = dirname(path);
  const base = basename(path);
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const tag = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
    const temp = join(dir, `.${base}.${tag}.tmp`);
    try {
      const file = await Deno.open(temp, { write: true, createNew: true, mode: NEW_FILE_MODE });
      return { file, temp };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  // Each write takes at least one byte (or throws).
  for (let i = 0; off < data.length && i <= data.length; i++) {
    off += await file.write(data.subarray(off));
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // not every system lets a directory be flushed; the rename is done either way
  }
}

/**
 * Replace the file at `path` (a resolved target) by `data`, atomically, keeping its
 * permissions and owner; create it with `NEW_FILE_MODE` when it does not exist. Throws a
 * ReplaceError.
 */
export async function replaceFile(path: string, data: Uint8Array): Promise<void> {
  let old: Deno.FileInfo | undefined;
  let created: { file: Deno.FsFile; temp: string };
  try {
    old = await statOrUndefined(path);
    created = await createTemp(path);
  } catch (error) {
    throw new ReplaceError("temp", error);
  }
  const { file, temp } = created;
  try {
    try {
      await writeAll(file, data);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, old === undefined ? NEW_FILE_MODE : old.mode! & 0o7777);
    if (old !== undefined && old.uid !== null && old.gid !== null) {
      const mine = await Deno.stat(temp);
      if (mine.uid !== old.uid || mine.gid !== old.gid) {
        try {
          await Deno.chown(temp, old.uid, old.gid);
        } catch {
          // only root may give a file away; the new file is then ours
        }
      }
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new ReplaceError("write", error);
  }
  await syncDirectory(dirname(path));
}
