import assert from "node:assert/strict";
import { decodePacket, FrameReader, MqttError, type ProtocolVersion } from "../../src/codec/mod.ts";
import { hexBytes, PACKET_FIXTURES } from "../fixtures/packets.ts";

/** All valid fixtures of one version, concatenated, with their individual byte strings. */
function validStream(version: ProtocolVersion): { stream: Uint8Array; frames: string[] } {
  const parts = PACKET_FIXTURES.filter((f) => f.packet !== undefined && f.version === version)
    .map((f) => hexBytes(f.hex));
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    stream.set(p, at);
    at += p.length;
  }
  return { stream, frames: parts.map((p) => p.join(",")) };
}

/** Feed `chunks` to a fresh reader and return every frame as a string. */
function readAll(chunks: Uint8Array[], reader = new FrameReader()): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let f = reader.next(); f !== null; f = reader.next()) out.push(f.join(","));
  }
  assert.equal(reader.hasPartialPacket, false, "bytes left over after the last chunk");
  return out;
}

for (const version of [3, 4, 5] as const) {
  Deno.test(`frame reader: every split point of the v${version} fixture stream yields the same frames`, () => {
    const { stream, frames } = validStream(version);
    assert.ok(frames.length >= 8, `only ${frames.length} valid fixtures`);
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepStrictEqual(
        readAll([stream.subarray(0, cut), stream.subarray(cut)]),
        frames,
        `split at ${cut}`,
      );
    }
  });

  Deno.test(`frame reader: every pair of split points of the v${version} stream (three chunks)`, () => {
    const { stream, frames } = validStream(version);
    const step = Math.max(1, Math.floor(stream.length / 60));
    for (let a = 0; a <= stream.length; a += step) {
      for (let b = a; b <= stream.length; b += 1) {
        const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)];
        assert.deepStrictEqual(readAll(chunks), frames, `split at ${a} and ${b}`);
      }
    }
  });

  Deno.test(`frame reader: one byte at a time, then decode, gives the fixture packets (v${version})`, () => {
    const { stream, frames } = validStream(version);
    const chunks = Array.from(stream, (b) => Uint8Array.of(b));
    const read = readAll(chunks);
    assert.deepStrictEqual(read, frames);
    for (const frame of read) {
      decodePacket(Uint8Array.from(frame.split(",").map(Number)), version);
    }
  });
}

Deno.test("frame reader: a frame inside one chunk is a view of it, not a copy", () => {
  const chunk = hexBytes("c0 00 d0 00");
  const reader = new FrameReader();
  reader.push(chunk);
  const first = reader.next()!;
  assert.equal(first.buffer, chunk.buffer);
  assert.equal(first.byteOffset, 0);
  assert.equal(reader.next()!.byteOffset, 2);
  assert.equal(reader.next(), null);
});

Deno.test("frame reader: a frame across chunks survives reuse of the read buffer", () => {
  const readBuffer = new Uint8Array(3);
  const reader = new FrameReader();
  readBuffer.set(hexBytes("30 05 00"));
  reader.push(readBuffer);
  assert.equal(reader.next(), null);
  readBuffer.set(hexBytes("03 61 2f"));
  reader.push(readBuffer);
  assert.equal(reader.next(), null);
  readBuffer.set(hexBytes("62 c0 00"));
  reader.push(readBuffer);
  const frame = reader.next()!;
  readBuffer.fill(0xff);
  assert.deepStrictEqual(Array.from(frame), [0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x62]);
});

Deno.test("frame reader: the largest four-byte remaining length is accepted", () => {
  const reader = new FrameReader();
  reader.push(hexBytes("30 ff ff ff 7f 00 01"));
  assert.equal(reader.next(), null);
  assert.equal(reader.hasPartialPacket, true);
});

function rejects(chunks: string[], code: number, options = {}): void {
  const reader = new FrameReader(options);
  assert.throws(
    () => readAll(chunks.map(hexBytes), reader),
    (e: unknown) => e instanceof MqttError && e.reasonCode === code,
  );
}

Deno.test("frame reader: a remaining length longer than 4 bytes is malformed", () => {
  rejects(["30 ff ff ff ff 01"], 0x81);
  rejects(["30 ff ff", "ff ff 01"], 0x81);
  rejects(["30", "80", "80", "80", "80", "01"], 0x81);
});

Deno.test("frame reader: a remaining length not minimally encoded is malformed [MQTT-1.5.5-1]", () => {
  rejects(["30 80 00"], 0x81);
  rejects(["30 80", "80 00"], 0x81);
});

Deno.test("frame reader: without minimalLengthOnly (3.1, 3.1.1) a longer remaining length is read", () => {
  const reader = new FrameReader({ minimalLengthOnly: false });
  // PINGREQ with its length 0 in two bytes, then in three, split inside the header.
  assert.deepEqual(readAll([hexBytes("c0 80 00 c0 80"), hexBytes("80 00")], reader), [
    "192,128,0",
    "192,128,128,0",
  ]);
  // PUBLISH "a" "x" with its length 4 in two bytes.
  assert.deepEqual(readAll([hexBytes("30 84 00 00 01 61 78")], reader), ["48,132,0,0,1,97,120"]);
});

Deno.test("frame reader: an oversize packet is refused from its header, before its body", () => {
  // 0x64 = 100 body bytes, 102 in all: refused as soon as the two header bytes are in.
  rejects(["30 64"], 0x95, { maxPacketSize: 101 });
  // 1,000,000 body bytes announced in a header that arrives a byte at a time.
  rejects(["30", "c0", "84", "3d"], 0x95, { maxPacketSize: 100 });
});

Deno.test("frame reader: a packet of exactly the maximum size is accepted", () => {
  const reader = new FrameReader({ maxPacketSize: 102 });
  const packet = new Uint8Array(102);
  packet.set(hexBytes("30 64 00 01 61"));
  assert.equal(readAll([packet.subarray(0, 50), packet.subarray(50)], reader).length, 1);
});

Deno.test("frame reader: push before draining the previous chunk is a bug and says so", () => {
  const reader = new FrameReader();
  reader.push(hexBytes("c0 00 c0 00"));
  reader.next();
  assert.throws(() => reader.push(hexBytes("c0 00")), /before next\(\) returned null/);
});
