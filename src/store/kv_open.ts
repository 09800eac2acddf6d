/**
 * Opening the Deno KV database of a store, with errors a user can act on: the directory is
 * missing or not writable, the file is not a Deno KV database (Mosquitto's mosquitto.db, for
 * one), another process holds the store, a newer Midge wrote it, or the file is empty (0
 * bytes: truncated or emptied, since Deno KV never leaves a store it made at 0 bytes, see
 * `openDatabase`).
 *
 * Only one process may use a store. It holds an exclusive `flock` on `FILE.lock` beside the
 * database, with its pid written inside so that a second opener can name it; the kernel drops
 * the lock when the process dies, however it dies.
 *
 * @module
 */

import { dirname } from "node:path";
import { StoreError } from "./store.ts";

/**
 * The schema this Midge writes; it reads this one and older ones. 2: segments and their
 * entries carry checksums (kv_header.ts, kv_segments.ts). A store of an older schema is marked
 * with this one when opened, as new segments will be of this one's format.
 */
const SCHEMA_VERSION = 2;
/** Where the schema record lives. */
const SCHEMA_KEY: Deno.KvKey = ["midge", "schema"];

/** An open database and the lock that makes it ours. */
export interface OpenedDatabase {
  /** The database. */
  kv: Deno.Kv;
  /** The lock file, locked; closing it releases the store. */
  lock: Deno.FsFile;
}

/** The first bytes of every SQLite database, which Deno KV is. */
const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Open the store at `path` for this process alone, creating it when the file does not exist
 * (or, with `allowEmpty`, is empty). Throws `StoreError` saying what is wrong and what to do.
 */
export async function openDatabase(path: string, allowEmpty: boolean): Promise<OpenedDatabase> {
  await checkPlace(path, allowEmpty);
  const lock = await takeLock(path);
  try {
    let kv: Deno.Kv;
    try {
      kv = await Deno.openKv(path);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (/not a database/i.test(message)) throw notKv(path);
      throw new StoreError(`Cannot open the store ${path}: ${message}.`, { cause: e });
    }
    try {
      await checkSchema(kv, path);
    } catch (e) {
      kv.close();
      throw e;
    }
    return { kv, lock };
  } catch (e) {
    lock.close();
    throw e;
  }
}

function notKv(path: string): StoreError {
  return new StoreError(
    `${path} is not a Midge store (not a Deno KV database). Midge does not run on ` +
      `Mosquitto's own persistence format (mosquitto.db): choose another persistence_file, ` +
      `and bring a mosquitto.db's contents over with 'midge import FILE'.`,
  );
}

/**
 * The directory must exist; the file, if there, must look like SQLite. An empty file is no
 * store Midge made (Deno KV writes its first page on opening), so it is one whose data is
 * gone: refused unless `allowEmpty`.
 */
async function checkPlace(path: string, allowEmpty: boolean): Promise<void> {
  const dir = dirname(path);
  const dirInfo = await statOrUndefined(dir);
  if (dirInfo === undefined) {
    throw new StoreError(`Cannot open the store ${path}: directory ${dir} does not exist.`);
  }
  if (!dirInfo.isDirectory) {
    throw new StoreError(`Cannot open the store ${path}: ${dir} is not a directory.`);
  }
  const fileInfo = await statOrUndefined(path);
  if (fileInfo === undefined) return;
  if (fileInfo.size === 0 && fileInfo.isFile) {
    if (allowEmpty) return;
    throw new StoreError(
      `The store ${path} is empty (0 bytes): it was truncated or emptied, and what it held is ` +
        `lost. Refusing to start from it; set persistence_allow_empty true to start with an ` +
        `empty store, or remove the file.`,
    );
  }
  if (!fileInfo.isFile) throw new StoreError(`Cannot open the store ${path}: it is not a file.`);
  const head = new Uint8Array(SQLITE_MAGIC.length);
  let read: number | null;
  try {
    using file = await Deno.open(path, { read: true });
    read = await file.read(head);
  } catch (e) {
    throw new StoreError(`Cannot read the store ${path}: ${(e as Error).message}.`, { cause: e });
  }
  if (new TextDecoder().decode(head.subarray(0, read ?? 0)) !== SQLITE_MAGIC) throw notKv(path);
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new StoreError(`Cannot open the store: ${path}: ${(e as Error).message}.`, {
      cause: e,
    });
  }
}

/** Lock `path.lock` for this process, or say who holds it. */
async function takeLock(path: string): Promise<Deno.FsFile> {
  const lockPath = `${path}.lock`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(lockPath, { read: true, write: true, create: true });
  } catch (e) {
    const why = e instanceof Deno.errors.PermissionDenied
      ? `directory ${dirname(path)} is not writable`
      : (e as Error).message;
    throw new StoreError(`Cannot open the store ${path}: ${why} (creating ${lockPath}).`, {
      cause: e,
    });
  }
  if (await file.tryLock(true)) {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    return file;
  }
  file.close();
  const pid = parseInt(await Deno.readTextFile(lockPath).catch(() => ""));
  const who = Number.isSafeInteger(pid) ? `another process (pid ${pid})` : "another process";
  throw new StoreError(
    `Cannot open the store ${path}: it is in use by ${who}, which holds ${lockPath}. ` +
      `Only one Midge may use a store at a time.`,
  );
}

/** Write the schema into a new store; refuse a store this Midge cannot read. */
async function checkSchema(kv: Deno.Kv, path: string): Promise<void> {
  const found = await kv.get<unknown>(SCHEMA_KEY);
  if (found.versionstamp === null) {
    for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) {
      throw new StoreError(
        `${path} is a Deno KV database but not a Midge store (it has no schema record): ` +
          `choose another persistence_file.`,
      );
    }
    await kv.set(SCHEMA_KEY, { version: SCHEMA_VERSION, created: new Date().toISOString() });
    return;
  }
  const version = (found.value as { version?: unknown } | null)?.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new StoreError(`${path} has an unreadable schema record: it is not a Midge store.`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      `Cannot open the store ${path}: it was written by a newer Midge (schema ${version}); ` +
        `this one reads schema ${SCHEMA_VERSION}.`,
    );
  }
  if (version < SCHEMA_VERSION) {
    await kv.set(SCHEMA_KEY, { ...found.value as object, version: SCHEMA_VERSION });
  }
}
