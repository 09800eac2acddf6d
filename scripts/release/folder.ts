/**
 * One release folder: Midge bundled into JavaScript (lib/main.js and its chunks), the Deno binary
 * that runs it, a launcher with the flags of `deno task start`, links under Mosquitto's tool
 * names, the systemd unit, the example configuration and an install script. It runs with no
 * network and no Deno cache: nothing is downloaded when it starts.
 *
 * @module
 */

import { MIDGE_VERSION } from "../../src/version.ts";
import { type Arch, denoBinary } from "./deno_binary.ts";
import { startTaskFlags } from "./run_flags.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** The names under which the launcher runs one of the tools. */
const TOOL_LINKS = ["mosquitto_pub", "mosquitto_sub", "mosquitto_rr", "mosquitto_passwd"];

/** Where a release folder is made and where downloads are kept. */
export interface ReleaseOptions {
  /** The folder that receives `midge-<version>-<arch>-linux/`. */
  outDir: string;
  /** Where the Deno binaries are cached between runs. */
  cacheDir: string;
  /** Where progress lines go. */
  log: (line: string) => void;
}

/** The name of the release folder for `arch`. */
export function releaseName(arch: Arch): string {
  return `midge-${MIDGE_VERSION}-${arch}-linux`;
}

/**
 * Bundle main.ts and its npm packages into `outDir`: `main.js`, and one chunk per module main.ts
 * loads on demand, so that the broker still loads only what its configuration uses. Throws
 * with Deno's message on failure.
 */
async function bundle(outDir: string): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--code-splitting", "--outdir", outDir, "main.ts"],
    cwd: REPO,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(result.stderr).trim()}`);
  }
}

/** Make the release folder for `arch` under `options.outDir` (replacing it); returns its path. */
export async function buildRelease(arch: Arch, options: ReleaseOptions): Promise<string> {
  const folder = `${options.outDir}/${releaseName(arch)}`;
  await Deno.remove(folder, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(folder, { recursive: true });

  await Deno.copyFile(await denoBinary(arch, options), `${folder}/deno`);
  await bundle(`${folder}/lib`);
  const launcher = await Deno.readTextFile(`${REPO}packaging/midge.sh`);
  const flags = (await startTaskFlags()).join(" ");
  await Deno.writeTextFile(`${folder}/midge`, launcher.replace("@DENO_FLAGS@", flags), {
    mode: 0o755,
  });
  for (const link of TOOL_LINKS) await Deno.symlink("midge", `${folder}/${link}`);
  await Deno.copyFile(`${REPO}packaging/install.sh`, `${folder}/install.sh`);
  await Deno.copyFile(`${REPO}conf/midge.service`, `${folder}/midge.service`);
  await Deno.copyFile(`${REPO}conf/midge.toml`, `${folder}/midge.toml`);
  options.log(`made ${folder}`);
  return folder;
}
