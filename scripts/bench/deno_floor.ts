/**
 * Deno's own floor for the figures Step 13 sets, measured as the broker is: the least a Deno
 * program must do to pass mqttbench's `conns` and `pairs` scenarios, with no broker at all.
 *
 *   deno run -A --v8-flags=... scripts/bench/deno_floor.ts accept PORT
 *     accepts, reads a CONNECT and writes a fixed CONNACK: the connect rate and memory per
 *     idle connection Deno itself allows (`mqttbench conns`);
 *   deno run -A --v8-flags=... scripts/bench/deno_floor.ts relay PORT
 *     MQTT 3.1.1 relay by exact topic (CONNACK, SUBACK, PUBACK, PINGRESP, forwarding): the
 *     latency tail Deno itself allows (`mqttbench pairs -r 10000`).
 *
 * Figures and how they compare are in README.md (Broker speed). Not a broker: no sessions,
 * no checks, no wildcards.
 *
 * @module
 */

const CONNACK = new Uint8Array([0x20, 2, 0, 0]);
const PINGRESP = new Uint8Array([0xd0, 0]);

/** Accept connections and answer each CONNECT with CONNACK; one pending read per connection. */
async function acceptOnly(port: number): Promise<void> {
  for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) {
    const buf = new Uint8Array(64);
    const onRead = (n: number | null): void => {
      if (n === null) return;
      if (buf[0] === 0x10) conn.write(CONNACK).catch(() => {});
      conn.read(buf).then(onRead, () => {});
    };
    conn.read(buf).then(onRead, () => {});
  }
}

/** Output collected during a turn, written once per connection at its end. */
const pending = new Map<Deno.Conn, Uint8Array[]>();

function send(conn: Deno.Conn, bytes: Uint8Array): void {
  if (pending.size === 0) queueMicrotask(flush);
  const queue = pending.get(conn);
  if (queue === undefined) pending.set(conn, [bytes]);
  else queue.push(bytes);
}

function flush(): void {
  for (const [conn, queue] of pending) {
    const out = new Uint8Array(queue.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const bytes of queue) {
      out.set(bytes, at);
      at += bytes.length;
    }
    conn.write(out).catch(() => {});
  }
  pending.clear();
}

/** Where the body of the frame at `at` in `buf` starts and where the frame ends; -1s until whole. */
function frameLength(buf: Uint8Array, at: number): [number, number] {
  let remaining = 0;
  let factor = 1;
  for (let i = at + 1; i < buf.length && i < at + 5; i++) {
    remaining += (buf[i] & 127) * factor;
    factor *= 128;
    if ((buf[i] & 128) === 0) {
      const body = i + 1;
      return body + remaining <= buf.length ? [body, body + remaining] : [-1, -1];
    }
  }
  return [-1, -1];
}

/** Relay one connection's packets until it closes. */
async function relayConnection(conn: Deno.Conn, subscribers: Map<string, Deno.Conn>) {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(32 * 1024);
  let rest = new Uint8Array(0);
  for (let n = await conn.read(chunk).catch(() => null); n !== null;) {
    const buf = new Uint8Array(rest.length + n);
    buf.set(rest);
    buf.set(chunk.subarray(0, n), rest.length);
    let at = 0;
    for (let [body, end] = frameLength(buf, at); body >= 0; [body, end] = frameLength(buf, at)) {
      const type = buf[at] >> 4;
      if (type === 1) send(conn, CONNACK);
      else if (type === 8) { // SUBSCRIBE: one filter, granted its QoS
        const length = (buf[body + 2] << 8) | buf[body + 3];
        subscribers.set(decoder.decode(buf.subarray(body + 4, body + 4 + length)), conn);
        send(conn, new Uint8Array([0x90, 3, buf[body], buf[body + 1], buf[body + 4 + length]]));
      } else if (type === 3) {
        const length = (buf[body] << 8) | buf[body + 1];
        const topic = decoder.decode(buf.subarray(body + 2, body + 2 + length));
        if ((buf[at] >> 1) & 3) {
          send(conn, new Uint8Array([0x40, 2, buf[body + 2 + length], buf[body + 3 + length]]));
        }
        const subscriber = subscribers.get(topic);
        if (subscriber !== undefined) send(subscriber, buf.slice(at, end));
      } else if (type === 12) send(conn, PINGRESP);
      else if (type === 14) return conn.close();
      at = end;
    }
    rest = buf.slice(at);
    n = await conn.read(chunk).catch(() => null);
  }
}

/** Relay every connection accepted on `port`. */
async function relay(port: number): Promise<void> {
  const subscribers = new Map<string, Deno.Conn>();
  for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) {
    relayConnection(conn, subscribers).catch(() => {});
  }
}

if (import.meta.main) {
  const [mode, port] = Deno.args;
  if (mode === "accept") await acceptOnly(Number(port));
  else if (mode === "relay") await relay(Number(port));
  else {
    console.error("usage: deno run -A scripts/bench/deno_floor.ts accept|relay PORT");
    Deno.exit(2);
  }
}
