/**
 * log_dest syslog: datagrams as the C library's syslog() sends them, to a Unix datagram socket
 * standing in for /dev/log.
 */

import assert from "node:assert/strict";
import { loggerFromConfig } from "../../src/log/from_config.ts";
import { ALL_LOG_TYPES } from "../../src/log/logger.ts";
import { strftime } from "../../src/log/strftime.ts";
import { syslogPriority, SyslogSink } from "../../src/log/syslog_sink.ts";
import { logConfig } from "./config_helpers.ts";
import { delay } from "../integration/harness.ts";

const NOW_MS = 1_700_000_000_000;
const HEADER = strftime("%b %e %H:%M:%S", new Date(NOW_MS)); // "Nov 14 22:13:20" in UTC

/** A syslog daemon's socket in a temporary directory. */
async function fakeSyslog(): Promise<{
  path: string;
  receive(): Promise<string>;
  close(): Promise<void>;
}> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log`;
  const socket = Deno.listenDatagram({ path, transport: "unixpacket" });
  return {
    path,
    async receive() {
      const [data] = await socket.receive();
      return new TextDecoder().decode(data);
    },
    async close() {
      socket.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("syslog PRI is facility * 8 + severity, daemon by default, localN with log_facility", () => {
  assert.equal(syslogPriority("error"), 27); // daemon.err
  assert.equal(syslogPriority("notice"), 29);
  assert.equal(syslogPriority("information", 0), 134); // local0.info
  // Severities as Mosquitto 2.0 sends them (observed with log_facility 5).
  const local5 = ALL_LOG_TYPES.map((t) => [t, syslogPriority(t, 5)]);
  assert.deepEqual(Object.fromEntries(local5), {
    error: 171,
    warning: 172,
    notice: 173,
    information: 174,
    debug: 175,
    subscribe: 173,
    unsubscribe: 173,
    websockets: 175,
  });
});

Deno.test("log_dest syslog sends <PRI>Mmm dd hh:mm:ss midge[PID]: line datagrams", async () => {
  const daemon = await fakeSyslog();
  try {
    const logger = loggerFromConfig(
      logConfig({ log_dest: ["syslog"], log_type: ["all"], log_facility: 5 }),
      { syslogPath: daemon.path, now: () => NOW_MS },
    );
    logger.notice("New client connected from 127.0.0.1:50000 as c1 (p2, c1, k60).");
    logger.log("subscribe", "c1 0 a/b");
    logger.debug("Sending CONNACK to c1 (0, 0)");
    await logger.close();
    const prefix = `${HEADER} midge[${Deno.pid}]: 1700000000: `;
    assert.equal(
      await daemon.receive(),
      `<173>${prefix}New client connected from 127.0.0.1:50000 as c1 (p2, c1, k60).`,
    );
    assert.equal(await daemon.receive(), `<173>${prefix}c1 0 a/b`);
    assert.equal(await daemon.receive(), `<175>${prefix}Sending CONNACK to c1 (0, 0)`);
  } finally {
    await daemon.close();
  }
});

Deno.test("syslog datagrams follow log_timestamp: no timestamp in the line when it is off", async () => {
  const daemon = await fakeSyslog();
  try {
    const logger = loggerFromConfig(logConfig({ log_dest: ["syslog"], log_timestamp: false }), {
      syslogPath: daemon.path,
      now: () => NOW_MS,
    });
    logger.error("Error: out of memory.");
    await logger.close();
    assert.equal(await daemon.receive(), `<27>${HEADER} midge[${Deno.pid}]: Error: out of memory.`);
  } finally {
    await daemon.close();
  }
});

Deno.test("a missing syslog socket gives one warning and lines are dropped", async () => {
  const warnings: string[] = [];
  const sink = new SyslogSink({ path: "/nonexistent/log", warn: (m) => warnings.push(m) });
  assert.equal(sink.connected, false);
  sink.write("dropped", "error");
  sink.reopen(); // still missing: one more warning, still no crash
  await sink.close();
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /^Warning: cannot log to syslog: \/nonexistent\/log: .*dropped\.$/);
});

Deno.test("a syslog socket that appears later is used after reopen (SIGHUP)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log`;
  const sink = new SyslogSink({ path, warn: () => {}, now: () => NOW_MS, pid: 42 });
  const socket = Deno.listenDatagram({ path, transport: "unixpacket" });
  try {
    sink.reopen();
    assert.equal(sink.connected, true);
    sink.write("1700000000: back", "warning");
    const [data] = await socket.receive();
    assert.equal(new TextDecoder().decode(data), `<28>${HEADER} midge[42]: 1700000000: back`);
  } finally {
    await sink.close();
    socket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a syslog daemon that goes away is reported once; the broker goes on", async () => {
  const daemon = await fakeSyslog();
  const warnings: string[] = [];
  const sink = new SyslogSink({ path: daemon.path, warn: (m) => warnings.push(m) });
  await daemon.close();
  sink.write("one", "notice");
  sink.write("two", "notice");
  await sink.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^Warning: cannot send to syslog at /);
});

Deno.test("a stalled syslog daemon does not block: lines over the queue are dropped, counted and reported", async () => {
  const daemon = await fakeSyslog();
  const sink = new SyslogSink({ path: daemon.path, warn: () => {}, now: () => NOW_MS, pid: 42 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (let i = 0; i < 3000; i++) sink.write(`line ${i}`, "notice");
    await delay(50); // timers run while the daemon reads nothing
    // One datagram in flight and 1000 queued; the rest dropped.
    assert.equal(sink.dropped, 1999);
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("datagrams missing after 5 s")), 5000);
    });
    const received: string[] = [];
    for (let i = 0; i < 1002; i++) received.push(await Promise.race([daemon.receive(), late]));
    assert.equal(received[1000], `<29>${HEADER} midge[42]: line 1000`);
    assert.equal(
      received[1001],
      `<28>${HEADER} midge[42]: Warning: 1999 log lines dropped: log output was not being read.`,
    );
  } finally {
    clearTimeout(timer);
    await sink.close();
    await daemon.close();
  }
});
