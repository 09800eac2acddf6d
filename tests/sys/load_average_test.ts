/**
 * LoadAverages against figures read from Mosquitto 2.0.11 (`sys_interval 1`, which updates every
 * 2 s) and against the closed form of exponential smoothing.
 */

import assert from "node:assert/strict";
import { LOAD_NAMES, LoadAverages, type LoadValues } from "../../src/broker/load_average.ts";

function counts(values: Partial<LoadValues>): LoadValues {
  const all = {} as LoadValues;
  for (const name of LOAD_NAMES) all[name] = values[name] ?? 0;
  return all;
}

Deno.test("LoadAverages gives Mosquitto's figures: 2 messages and 1 socket in 2 s -> 1.97 and 0.98", () => {
  // Mosquitto 2.0.11, first update after start: messages/received/1min 1.97, sockets 0.98,
  // 5min 0.40 and 0.20, 15min 0.13 and 0.07.
  const loads = new LoadAverages(0);
  loads.update(2000, counts({ "messages/received": 2, sockets: 1 }));
  const fixed = (w: "1min" | "5min" | "15min", n: "messages/received" | "sockets") =>
    loads.values(w)[n].toFixed(2);
  assert.equal(fixed("1min", "messages/received"), "1.97");
  assert.equal(fixed("1min", "sockets"), "0.98");
  assert.equal(fixed("5min", "messages/received"), "0.40");
  assert.equal(fixed("5min", "sockets"), "0.20");
  assert.equal(fixed("15min", "messages/received"), "0.13");
  assert.equal(fixed("15min", "sockets"), "0.07");
});

Deno.test("LoadAverages: a steady rate approaches it, however often it is updated", () => {
  // 600 events a minute for ten minutes, updated every 10 s or every 1 s: the same curve,
  // 600 * (1 - e^(-t/window)).
  for (const stepMs of [10_000, 1000]) {
    const loads = new LoadAverages(0);
    for (let t = stepMs; t <= 600_000; t += stepMs) {
      loads.update(t, counts({ "publish/received": t / 100 }));
    }
    for (const [window, seconds] of [["1min", 60], ["5min", 300], ["15min", 900]] as const) {
      const expected = 600 * (1 - Math.exp(-600 / seconds));
      const actual = loads.values(window)["publish/received"];
      assert.ok(Math.abs(actual - expected) < 1e-6, `${window} every ${stepMs} ms: ${actual}`);
    }
  }
});

Deno.test("LoadAverages: time that does not move changes nothing, and its counts wait", () => {
  const loads = new LoadAverages(1000);
  loads.update(1000, counts({ "bytes/sent": 500 }));
  assert.equal(loads.values("1min")["bytes/sent"], 0);
  loads.update(61_000, counts({ "bytes/sent": 500 }));
  assert.ok(Math.abs(loads.values("1min")["bytes/sent"] - 500 * (1 - Math.exp(-1))) < 1e-9);
});
