/**
 * What the Deno KV store tests share: a store file in a temporary directory, and the database
 * opened directly to look at or damage what the store wrote.
 *
 * @module
 */

/** Run `body` with the path of a store file in a new directory (also given), removed after. */
export async function inTempDir(
  body: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "midge_kv_" });
  try {
    await body(`${dir}/store.db`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Run `body` on the database at `path` opened directly (the store must be closed). */
export async function raw<T>(path: string, body: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(path);
  try {
    return await body(kv);
  } finally {
    kv.close();
  }
}
