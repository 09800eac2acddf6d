/**
 * Deno's binary for a release folder, fetched from an npm registry: here a local one over
 * HTTP on port 0, serving a small tarball shaped like `@deno/linux-x64-glibc`'s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DENO_PACKAGES, DENO_VERSION, denoBinary } from "../../scripts/release/deno_binary.ts";

/** A .tgz holding `package/deno` with `text` in it, and its npm integrity string. */
async function tarball(
  dir: string,
  text: string,
): Promise<{ data: Uint8Array; integrity: string }> {
  await Deno.mkdir(`${dir}/package`, { recursive: true });
  await Deno.writeTextFile(`${dir}/package/deno`, text);
  const tar = await new Deno.Command("tar", { args: ["-czf", "p.tgz", "package"], cwd: dir })
    .output();
  assert.ok(tar.success);
  const data = await Deno.readFile(`${dir}/p.tgz`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
  return { data, integrity: `sha512-${btoa(String.fromCharCode(...digest))}` };
}

/** A registry serving one version of the x64 package: `integrity` is what it claims. */
function registry(
  data: Uint8Array,
  integrity: string,
): { server: Deno.HttpServer; url: string; hits: string[] } {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    hits.push(path);
    if (path === `/${DENO_PACKAGES.x86_64}/${DENO_VERSION}`) {
      const tarball = new URL("/deno.tgz", request.url).href;
      return Response.json({ dist: { tarball, integrity } });
    }
    if (path === "/deno.tgz") return new Response(data.slice());
    return new Response("not found", { status: 404 });
  });
  return { server, url: `http://127.0.0.1:${server.addr.port}/`, hits };
}

Deno.test("denoBinary keeps the binary of a tarball whose integrity matches, and fetches it once", async () => {
  const dir = await Deno.makeTempDir();
  const { data, integrity } = await tarball(dir, "the binary");
  const { server, url, hits } = registry(data, integrity);
  try {
    const lines: string[] = [];
    const options = { cacheDir: `${dir}/cache`, log: (l: string) => lines.push(l), registry: url };
    const binary = await denoBinary("x86_64", options);
    assert.equal(await Deno.readTextFile(binary), "the binary");
    assert.equal((await Deno.stat(binary)).mode! & 0o777, 0o755);
    assert.match(
      lines[0],
      /^downloading Deno 2\.9\.5 for x86_64 Linux: http:\/\/127\.0\.0\.1:\d+\/deno\.tgz$/,
    );
    assert.equal(await denoBinary("x86_64", options), binary);
    assert.equal(hits.length, 2, "the second call uses the cache");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoBinary refuses a tarball whose integrity is not the registry's, and caches nothing", async () => {
  const dir = await Deno.makeTempDir();
  const { data } = await tarball(dir, "the binary");
  const other = await tarball(`${dir}/other`, "another binary");
  const { server, url } = registry(data, other.integrity);
  try {
    const options = { cacheDir: `${dir}/cache`, log: () => {}, registry: url };
    await assert.rejects(denoBinary("x86_64", options), /integrity check failed/);
    await assert.rejects(Deno.stat(`${dir}/cache`), Deno.errors.NotFound);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
