/**
 * The graceful close over WebSockets (ws and wss), byte by byte on a raw socket: a client that
 * goes on sending after the broker's DISCONNECT, even after its close frame, still reads both,
 * and once it answers that frame, an orderly end of stream rather than a reset (RFC 6455
 * §5.5.1).
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeCertificates } from "../fixtures/certs.ts";
import { hexBytes } from "../fixtures/packets.ts";
import { startBroker, waitFor } from "./harness.ts";

/** CONNECT, 5.0, clean start, client id "w". */
const CONNECT = "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 77";
/** PUBLISH with QoS 3: the broker answers DISCONNECT 0x81 and closes. */
const BAD_PUBLISH = "36 05 00 01 61 00 01";
/** What the client sends on after the bad PUBLISH: 16 frames of 8 KiB (128 KiB). */
const FILLER_FRAMES = 16;
const FILLER_SIZE = 8 * 1024;
/** Longest the client waits for each step (ms). */
const STEP_LIMIT_MS = 3000;

/** A masked client frame (mask key 0) with `opcode` and `payload`. */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const head = payload.length < 126
    ? [0x80 | opcode, 0x80 | payload.length]
    : [0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  return Uint8Array.from([...head, 0, 0, 0, 0, ...payload]);
}

/** The server's whole frames in `bytes`, each as "opcode: payload hex". */
function serverFrames(bytes: Uint8Array): string[] {
  const frames: string[] = [];
  for (let at = 0; at + 2 <= bytes.length;) {
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      start += 2;
    }
    if (start + length > bytes.length) break;
    const payload = [...bytes.subarray(start, start + length)];
    frames.push(
      `${bytes[at] & 0x0f}: ${payload.map((b) => b.toString(16).padStart(2, "0")).join(" ")}`,
    );
    at = start + length;
  }
  return frames;
}

/** What a raw WebSocket client read, and how its reads ended. */
interface Outcome {
  frames: string[];
  end: "eof" | "error" | "open";
}

/**
 * Upgrade `conn`, send CONNECT, the bad PUBLISH and the filler, answer the server's close
 * frame with two more filler frames and a close frame, and read to the end.
 */
async function sendOnAfterDisconnect(conn: Deno.Conn): Promise<Outcome> {
  const encoder = new TextEncoder();
  await conn.write(encoder.encode(
    "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
  ));
  let received = new Uint8Array(0);
  let end: Outcome["end"] = "open";
  let answered = false;
  const filler = clientFrame(0x2, new Uint8Array(FILLER_SIZE));
  const buf = new Uint8Array(64 * 1024);
  const reading = (async () => {
    const deadline = Date.now() + STEP_LIMIT_MS;
    while (Date.now() < deadline) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        end = "error";
        return;
      }
      if (n === null) {
        end = "eof";
        return;
      }
      received = Uint8Array.from([...received, ...buf.subarray(0, n)]);
      const text = new TextDecoder().decode(received);
      const body = received.subarray(text.indexOf("\r\n\r\n") + 4);
      if (!answered && serverFrames(body).some((f) => f.startsWith("8:"))) {
        answered = true;
        // Frames already on their way when the close frame came, then ours to answer it.
        const late = [...filler, ...filler, ...clientFrame(0x8, Uint8Array.of(0x03, 0xe8))];
        await conn.write(Uint8Array.from(late)).catch(() => {});
      }
    }
  })();
  const sent = (async () => {
    try {
      await conn.write(clientFrame(0x2, hexBytes(CONNECT)));
      await conn.write(clientFrame(0x2, hexBytes(BAD_PUBLISH)));
      for (let i = 0; i < FILLER_FRAMES && end === "open"; i++) await conn.write(filler);
    } catch {
      // a reset: the reads tell it
    }
  })();
  await Promise.all([reading, sent]);
  conn.close();
  const text = new TextDecoder().decode(received);
  assert.match(text, /^HTTP\/1\.1 101 /);
  return { frames: serverFrames(received.subarray(text.indexOf("\r\n\r\n") + 4)), end };
}

Deno.test("over ws and wss, a client that sends on after DISCONNECT reads it, the close frame, then an orderly end, not a reset", async () => {
  const certs = await makeCertificates();
  const tls = { certfile: certs.server.cert, keyfile: certs.server.key, requireCertificate: false };
  const websockets = { maxFrameSize: 65536 };
  const tb = startBroker({
    listeners: [
      { host: "127.0.0.1", port: 0, websockets },
      { host: "127.0.0.1", port: 0, tls, websockets },
    ],
  });
  try {
    await waitFor(() => tb.broker.ports.length === 2, "the listeners to open");
    const [wsPort, wssPort] = tb.broker.ports;
    const caCerts = [await Deno.readTextFile(certs.ca)];
    const dials: [string, () => Promise<Deno.Conn>][] = [
      ["ws", () => Deno.connect({ hostname: "127.0.0.1", port: wsPort })],
      ["wss", () => Deno.connectTls({ hostname: "127.0.0.1", port: wssPort, caCerts })],
    ];
    for (const [name, open] of dials) {
      const { frames, end } = await sendOnAfterDisconnect(await open());
      // The MQTT bytes (in one binary frame or more), then the close frame, then the end.
      const mqtt = frames.filter((f) => f.startsWith("2: ")).map((f) => f.slice(3)).join(" ");
      const shown = `${name}: ${frames.join(" | ")}, ${end}`;
      assert.match(mqtt, /^20 .* e0 01 81$/, shown);
      assert.equal(frames.at(-1), "8: 03 e8", shown);
      assert.equal(end, "eof", shown);
    }
  } finally {
    await tb.stop();
    await Deno.remove(certs.dir, { recursive: true });
  }
});
