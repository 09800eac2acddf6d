/**
 * Reading passwords from standard input: lines from a pipe, and keys typed on a terminal in
 * raw mode (with a stand-in terminal that records raw mode).
 */

import assert from "node:assert/strict";
import { PasswordReader, type PromptInput } from "../../src/auth/password_prompt.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Standard input that yields `chunks` one read at a time, then the end of input. */
function fakeInput(chunks: (string | Uint8Array)[], terminal = false) {
  const queue = chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c);
  const rawModes: boolean[] = [];
  const input: PromptInput = {
    isTerminal: () => terminal,
    setRaw: (mode) => {
      rawModes.push(mode);
    },
    read(buffer) {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(buffer.length, next.length);
      buffer.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  };
  return { input, rawModes };
}

async function readAll(reader: PasswordReader, count: number): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const line = await reader.readLine();
    out.push(line instanceof Uint8Array ? decoder.decode(line) : line);
  }
  return out;
}

Deno.test("PasswordReader from a pipe: lines as they come, trailing \\r and \\n dropped, blanks kept", async () => {
  const { input, rawModes } = fakeInput(["sec", "ret\nsecret\r\r\n a b \t\n", "x\ry\nlast"]);
  const reader = new PasswordReader(input);
  assert.deepStrictEqual(await readAll(reader, 6), [
    "secret",
    "secret",
    " a b \t",
    "x\ry",
    "last",
    "eof",
  ]);
  assert.deepStrictEqual(rawModes, []);
});

Deno.test("PasswordReader from a pipe: an empty line is empty, and the end of input is eof", async () => {
  const reader = new PasswordReader(fakeInput(["\n\n"]).input);
  assert.deepStrictEqual(await readAll(reader, 3), ["", "", "eof"]);
});

Deno.test("PasswordReader on a terminal: raw mode while reading, Backspace, Ctrl-U, Enter", async () => {
  const { input, rawModes } = fakeInput(
    ["sec\x7fcret\r", "ab\x15s", "ecreu\x08t\rtyped ahead\n"],
    true,
  );
  const reader = new PasswordReader(input);
  assert.deepStrictEqual(await readAll(reader, 3), ["secret", "secret", "typed ahead"]);
  assert.deepStrictEqual(rawModes, [true, false, true, false, true, false]);
});

Deno.test("PasswordReader on a terminal: Backspace removes a whole UTF-8 character", async () => {
  const reader = new PasswordReader(fakeInput(["wörd\x7f\x7f\x7fird\r"], true).input);
  assert.deepStrictEqual(await readAll(reader, 1), ["wird"]);
});

Deno.test("PasswordReader on a terminal: Ctrl-C interrupts, Ctrl-D ends input on an empty line only", async () => {
  const { input, rawModes } = fakeInput(["ab\x03", "\x04", "a\x04b\r"], true);
  const reader = new PasswordReader(input);
  assert.deepStrictEqual(await readAll(reader, 3), ["interrupted", "eof", "ab"]);
  assert.deepStrictEqual(rawModes, [true, false, true, false, true, false]);
});

Deno.test("PasswordReader: raw mode is turned off even when reading fails", async () => {
  const rawModes: boolean[] = [];
  const reader = new PasswordReader({
    isTerminal: () => true,
    setRaw: (mode) => {
      rawModes.push(mode);
    },
    read: () => Promise.reject(new Error("gone")),
  });
  await assert.rejects(() => reader.readLine(), /gone/);
  assert.deepStrictEqual(rawModes, [true, false]);
});
