/**
 * The in-memory pair of Conns: bytes in order both ways, bounded buffering, the end of the
 * stream and the errors after a close as a Deno socket gives them.
 */

import assert from "node:assert/strict";
import { memoryPair } from "../../src/transport/memory_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Whether `promise` has settled after the pending jobs have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

/** Read until `n` bytes have arrived (at most 100 reads). */
async function readBytes(conn: { read(buf: Uint8Array): Promise<number | null> }, n: number) {
  const out = new Uint8Array(n);
  let got = 0;
  for (let i = 0; got < n && i < 100; i++) {
    const r = await conn.read(out.subarray(got));
    if (r === null) break;
    got += r;
  }
  return out.subarray(0, got);
}

Deno.test("memoryPair carries bytes in order both ways", async () => {
  const [a, b] = memoryPair();
  await a.write(enc.encode("hello "));
  await a.write(enc.encode("world"));
  assert.equal(dec.decode(await readBytes(b, 11)), "hello world");
  await b.write(enc.encode("back"));
  assert.equal(dec.decode(await readBytes(a, 4)), "back");
  a.close();
  b.close();
});

Deno.test("memoryPair: a read waits for bytes and takes no more than its buffer", async () => {
  const [a, b] = memoryPair();
  const buf = new Uint8Array(3);
  const read = b.read(buf);
  assert.equal(await settled(read), false);
  await a.write(enc.encode("abcdef"));
  assert.equal(await read, 3);
  assert.equal(dec.decode(buf), "abc");
  assert.equal(await b.read(buf), 3);
  assert.equal(dec.decode(buf), "def");
  a.close();
  b.close();
});

Deno.test("memoryPair: the writer's buffer may be reused once write resolves", async () => {
  const [a, b] = memoryPair();
  const data = enc.encode("first");
  await a.write(data);
  data.set(enc.encode("XXXXX"));
  assert.equal(dec.decode(await readBytes(b, 5)), "first");
  a.close();
  b.close();
});

Deno.test("memoryPair buffers at most its capacity: a write takes what fits, then waits", async () => {
  const [a, b] = memoryPair({ capacity: 4 });
  assert.equal(await a.write(enc.encode("0123456789")), 4);
  const blocked = a.write(enc.encode("456789"));
  assert.equal(await settled(blocked), false, "a full pipe makes the writer wait");
  assert.equal(dec.decode(await readBytes(b, 2)), "01");
  assert.equal(await blocked, 2, "the write goes on with the room the read made");
  assert.equal(dec.decode(await readBytes(b, 4)), "2345");
  a.close();
  b.close();
});

Deno.test("memoryPair: after the peer closes, reads drain then see null and writes fail", async () => {
  const [a, b] = memoryPair();
  const pending = a.read(new Uint8Array(8));
  await b.write(enc.encode("last"));
  b.close();
  assert.equal(await pending, 4, "what was written before the close is read");
  assert.equal(await a.read(new Uint8Array(8)), null);
  assert.equal(await a.read(new Uint8Array(8)), null);
  await assert.rejects(a.write(enc.encode("x")), Deno.errors.BrokenPipe);
  a.close();
});

Deno.test("memoryPair: a read waiting when the peer closes resolves to null", async () => {
  const [a, b] = memoryPair();
  const pending = a.read(new Uint8Array(8));
  b.close();
  assert.equal(await pending, null);
  a.close();
});

Deno.test("memoryPair: a write waiting for room fails when the peer closes", async () => {
  const [a, b] = memoryPair({ capacity: 2 });
  await a.write(enc.encode("ab"));
  const blocked = a.write(enc.encode("cd"));
  b.close();
  await assert.rejects(blocked, Deno.errors.BrokenPipe);
  a.close();
});

Deno.test("memoryPair: after its own close an end's read, write and close throw BadResource", async () => {
  const [a, b] = memoryPair();
  a.close();
  await assert.rejects(a.read(new Uint8Array(1)), Deno.errors.BadResource);
  await assert.rejects(a.write(enc.encode("x")), Deno.errors.BadResource);
  assert.throws(() => a.close(), Deno.errors.BadResource);
  b.close();
});

Deno.test("memoryPair: a read waiting when its own end closes resolves to null", async () => {
  const [a, b] = memoryPair();
  const pending = a.read(new Uint8Array(1));
  a.close();
  assert.equal(await pending, null);
  b.close();
});

Deno.test("memoryPair: each end's remoteAddr names the other", () => {
  const [a, b] = memoryPair();
  assert.deepEqual(a.remoteAddr, { transport: "tcp", hostname: "memory", port: 2 });
  assert.deepEqual(b.remoteAddr, { transport: "tcp", hostname: "memory", port: 1 });
  a.close();
  b.close();
});

Deno.test("memoryPair refuses a capacity under one byte", () => {
  assert.throws(() => memoryPair({ capacity: 0 }), RangeError);
});
