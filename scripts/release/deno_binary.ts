/**
 * Deno's own Linux builds, taken from the npm registry (`@deno/linux-x64-glibc`,
 * `@deno/linux-arm64-glibc`): the tarball is checked against the integrity the registry gives,
 * and the `deno` binary in it is kept in a cache folder, so that it is downloaded once.
 *
 * @module
 */

/** The Deno version the release folders carry (2.9.6 has no arm64 package). */
export const DENO_VERSION = "2.9.5";

/** The CPU architectures a release folder is made for, and the npm package of each. */
export const DENO_PACKAGES = {
  x86_64: "@deno/linux-x64-glibc",
  aarch64: "@deno/linux-arm64-glibc",
} as const;

/** A CPU architecture a release folder is made for. */
export type Arch = keyof typeof DENO_PACKAGES;

/** What the registry says of one version of a package. */
interface NpmVersion {
  dist: { tarball: string; integrity: string };
}

/** Where a Deno binary is fetched from and kept. */
export interface DenoBinaryOptions {
  /** The cache folder. */
  cacheDir: string;
  /** Where the lines saying what is downloaded go. */
  log: (line: string) => void;
  /** The npm registry; default `npm_config_registry` as npm reads it, or the public one. */
  registry?: string;
}

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Throw unless `data` has the `sha512-<base64>` digest `integrity` names. */
async function checkIntegrity(data: Uint8Array<ArrayBuffer>, integrity: string): Promise<void> {
  if (!integrity.startsWith("sha512-")) throw new Error(`unsupported integrity '${integrity}'`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
  const actual = `sha512-${btoa(String.fromCharCode(...digest))}`;
  if (actual !== integrity) {
    throw new Error(`integrity check failed: the registry gives ${integrity}, got ${actual}`);
  }
}

/** Fetch `url` and throw on an HTTP error status. */
async function fetchOk(url: string | URL): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  return response;
}

/**
 * The path of Deno `DENO_VERSION`'s binary for `arch`, under `options.cacheDir`: downloaded
 * from the npm registry (saying so), checked and unpacked the first time, reused after.
 */
export async function denoBinary(arch: Arch, options: DenoBinaryOptions): Promise<string> {
  const { cacheDir, log } = options;
  const registry = options.registry ?? Deno.env.get("npm_config_registry") ??
    "https://registry.npmjs.org/";
  const folder = `${cacheDir}/deno-${DENO_VERSION}-${arch}-linux`;
  const binary = `${folder}/deno`;
  if (await exists(binary)) return binary;

  const name = DENO_PACKAGES[arch];
  const meta: NpmVersion =
    await (await fetchOk(new URL(`${name}/${DENO_VERSION}`, registry.replace(/\/?$/, "/")))).json();
  const { tarball, integrity } = meta.dist;
  log(`downloading Deno ${DENO_VERSION} for ${arch} Linux: ${tarball}`);
  const data = new Uint8Array(await (await fetchOk(tarball)).arrayBuffer());
  await checkIntegrity(data, integrity);
  log(`  ${(data.length / 2 ** 20).toFixed(1)} MiB, ${integrity.slice(0, 23)}... verified`);

  await Deno.mkdir(cacheDir, { recursive: true });
  const unpack = await Deno.makeTempDir({ dir: cacheDir, prefix: ".unpack-" });
  try {
    await Deno.writeFile(`${unpack}/package.tgz`, data);
    const tar = await new Deno.Command("tar", {
      args: ["-xzf", `${unpack}/package.tgz`, "-C", unpack, "package/deno"],
      stderr: "inherit",
    }).output();
    if (!tar.success) throw new Error(`tar could not unpack ${tarball}`);
    await Deno.chmod(`${unpack}/package/deno`, 0o755);
    // Renaming the finished folder into place leaves no half-written binary in the cache. It
    // fails only if another run has put the same binary there meanwhile.
    await Deno.rename(`${unpack}/package`, folder).catch(async (e) => {
      if (!(await exists(binary))) throw e;
    });
  } finally {
    await Deno.remove(unpack, { recursive: true });
  }
  return binary;
}
