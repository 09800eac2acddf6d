/**
 * IP address text and bytes: strict parsing, and the RFC 5952 form a socket's address has.
 */

import assert from "node:assert/strict";
import { formatIpv6, parseIpv4, parseIpv6, unmapIpv4 } from "../../src/transport/ip_address.ts";

/** The canonical text of an IPv6 address given in any form (null if refused). */
function canonical(text: string): string | null {
  const bytes = parseIpv6(text);
  return bytes === null ? null : formatIpv6(bytes);
}

Deno.test("parseIpv4 takes dotted quads without leading zeros only", () => {
  assert.deepEqual(parseIpv4("192.0.2.255"), new Uint8Array([192, 0, 2, 255]));
  assert.deepEqual(parseIpv4("0.0.0.0"), new Uint8Array(4));
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "1.2.3.",
      "a.b.c.d",
      " 1.2.3.4",
      "1.2.3.4 ",
    ]
  ) {
    assert.equal(parseIpv4(bad), null, bad);
  }
});

Deno.test("formatIpv6 writes RFC 5952's form, as Deno writes a socket address", () => {
  const cases: [string, string][] = [
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs
    ["::ffff:192.0.2.10", "::ffff:192.0.2.10"], // IPv4-mapped
    ["::ffff:c000:20a", "::ffff:192.0.2.10"],
    ["64:ff9b::192.0.2.10", "64:ff9b::c000:20a"],
  ];
  for (const [given, expected] of cases) assert.equal(canonical(given), expected, given);
});

Deno.test("parseIpv6 refuses what is not one address", () => {
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2:3:4:5:6:7:8",
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "::1.2.3",
      "1.2.3.4",
      "::ffff:1.2.3.4:1",
    ]
  ) {
    assert.equal(parseIpv6(bad), null, bad);
  }
  assert.equal(canonical("1::2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
});

Deno.test("unmapIpv4 logs an IPv4 client of a dual-stack socket as Mosquitto does", () => {
  assert.equal(unmapIpv4("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(unmapIpv4("::ffff:192.0.2.7"), "192.0.2.7");
  for (const other of ["127.0.0.1", "::1", "2001:db8::1", "::ffff:7f00:1", "::ffff:1.2.3"]) {
    assert.equal(unmapIpv4(other), other);
  }
});
