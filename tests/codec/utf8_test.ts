import assert from "node:assert/strict";
import { decodeValidUtf8, utf8Length, utf8Problem, writeUtf8 } from "../../src/codec/utf8.ts";

const SAMPLES = [
  "",
  "a",
  "sensors/kitchen/temperature",
  "é",
  "日本語/トピック",
  "😀/🚀",
  "\ufeffbom",
  "x".repeat(40),
  "ü".repeat(40),
  "mixed ascii and ä and 😀 and 中",
];

Deno.test("utf8Length agrees with TextEncoder, lone surrogates included", () => {
  const lone = ["\ud800", "a\udc00b", "\ud83d", "\ud83d\ud83d\ude00"];
  for (const s of [...SAMPLES, ...lone]) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
});

Deno.test("writeUtf8 then decodeValidUtf8 returns the string, short and long", () => {
  for (const s of SAMPLES) {
    const n = utf8Length(s);
    const buf = new Uint8Array(n + 4);
    assert.equal(writeUtf8(buf, 2, s, n), n + 2);
    assert.equal(utf8Problem(buf, 2, n + 2), undefined);
    assert.equal(decodeValidUtf8(buf, 2, n + 2), s);
  }
});

Deno.test("utf8Problem agrees with a fatal TextDecoder on every two-byte sequence [MQTT-1.5.4-1]", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const buf = new Uint8Array(2);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      buf[0] = a;
      buf[1] = b;
      let ok = true;
      try {
        fatal.decode(buf);
      } catch {
        ok = false;
      }
      if (a === 0 || b === 0) ok = false; // U+0000 is refused too [MQTT-1.5.4-2]
      assert.equal(utf8Problem(buf, 0, 2) === undefined, ok, `${a.toString(16)} ${b.toString(16)}`);
    }
  }
});

Deno.test("utf8Problem refuses encoded surrogates and code points past U+10FFFF", () => {
  for (const hex of ["eda080", "edbfbf", "f4908080", "f7bfbfbf", "c080", "e08080", "f0808080"]) {
    const bytes = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
    assert.notEqual(utf8Problem(bytes, 0, bytes.length), undefined, hex);
  }
  const max = Uint8Array.of(0xf4, 0x8f, 0xbf, 0xbf);
  assert.equal(utf8Problem(max, 0, 4), undefined);
});
