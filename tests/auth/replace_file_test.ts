/**
 * Replacing a password file: atomically (no temporary file left, old or new content only),
 * keeping its permissions, 0600 for a new file, through symbolic links.
 */

import assert from "node:assert/strict";
import {
  NEW_FILE_MODE,
  ReplaceError,
  replaceFile,
  resolvePath,
} from "../../src/auth/replace_file.ts";

const encoder = new TextEncoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

Deno.test("replaceFile creates a new file 0600 whatever the umask, and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    await replaceFile(`${dir}/pw`, encoder.encode("a:b\n"));
    assert.equal(await Deno.readTextFile(`${dir}/pw`), "a:b\n");
    assert.equal((await Deno.stat(`${dir}/pw`)).mode! & 0o777, NEW_FILE_MODE);
    assert.deepStrictEqual(await names(dir), ["pw"]);
  });
});

Deno.test("replaceFile keeps an existing file's permissions and replaces its inode", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pw`, "old\n");
    await Deno.chmod(`${dir}/pw`, 0o640);
    const before = await Deno.stat(`${dir}/pw`);
    await replaceFile(`${dir}/pw`, encoder.encode("new\n"));
    const after = await Deno.stat(`${dir}/pw`);
    assert.equal(after.mode! & 0o7777, 0o640);
    assert.notEqual(after.ino, before.ino);
    assert.equal(await Deno.readTextFile(`${dir}/pw`), "new\n");
    assert.deepStrictEqual(await names(dir), ["pw"]);
  });
});

Deno.test("replaceFile: a file that cannot be replaced is a ReplaceError, and no temporary file stays", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    await assert.rejects(() => replaceFile(`${dir}/sub`, encoder.encode("x")), (error) => {
      assert.ok(error instanceof ReplaceError);
      assert.equal(error.stage, "write");
      assert.match(error.message, /Is a directory/);
      return true;
    });
    await assert.rejects(() => replaceFile(`${dir}/none/pw`, encoder.encode("x")), (error) => {
      assert.ok(error instanceof ReplaceError);
      assert.equal(error.stage, "temp");
      return true;
    });
    assert.deepStrictEqual(await names(dir), ["sub"]);
  });
});

Deno.test("resolvePath: canonical path of a file, the path given for a missing one, a dangling link's target", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pw`, "");
    await Deno.symlink("pw", `${dir}/link`);
    await Deno.symlink("target", `${dir}/dangling`);
    assert.deepStrictEqual(await resolvePath(`${dir}/link`), {
      display: `${dir}/pw`,
      target: `${dir}/pw`,
    });
    assert.deepStrictEqual(await resolvePath(`${dir}/missing`), {
      display: `${dir}/missing`,
      target: `${dir}/missing`,
    });
    assert.deepStrictEqual(await resolvePath(`${dir}/dangling`), {
      display: `${dir}/dangling`,
      target: `${dir}/target`,
    });
    await assert.rejects(() => resolvePath(`${dir}/pw/x`), Deno.errors.NotADirectory);
    await Deno.symlink("loop2", `${dir}/loop1`);
    await Deno.symlink("loop1", `${dir}/loop2`);
    await assert.rejects(() => resolvePath(`${dir}/loop1`));
  });
});
