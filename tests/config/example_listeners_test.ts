import assert from "node:assert/strict";
import { join } from "node:path";
import { brokerOptionsFromConfig } from "../../src/cli/broker_options.ts";
import { parseMosquittoConf } from "../../src/config/mosquitto_conf.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { Logger } from "../../src/log/logger.ts";
import { ROOT } from "../../scripts/config_docs.ts";

const FILE = join(ROOT, "conf/listeners.conf");

Deno.test("conf/listeners.conf: TCP, TLS, WebSockets, a Unix socket, PROXY and HTTP at once", async () => {
  const raw = parseMosquittoConf({ file: FILE, text: await Deno.readTextFile(FILE) });
  const config = validateConfig(raw, { userName: "u", isRoot: false });
  assert.deepEqual(config.notices, []);
  const kinds = config.listeners.map((l) => {
    const tls = l.certfile !== undefined ? "+tls" : "";
    const proxy = l.enable_proxy_protocol > 0 ? `+proxy${l.enable_proxy_protocol}` : "";
    return `${l.port === 0 ? l.bind_address : l.port} ${l.protocol}${tls}${proxy}`;
  });
  assert.deepEqual(kinds, [
    "1883 mqtt",
    "8883 mqtt+tls",
    "8080 websockets",
    "8081 websockets+tls",
    "/run/midge/midge.sock mqtt",
    "1884 mqtt+proxy2",
    "9090 http",
  ]);
  // What the broker makes of them (its options; the files are read at start, not here).
  const files = { global: {}, listeners: config.listeners.map(() => ({})), problems: [] };
  const options = brokerOptionsFromConfig(config, { logger: new Logger(), files });
  const tls = options.listeners[1];
  assert.equal(tls.tls?.requireCertificate, true);
  assert.equal(tls.certificateUsername, "commonName");
  assert.equal(options.listeners[2].websockets?.httpDir, "/srv/midge/www");
  assert.equal(options.listeners[4].socketPath, "/run/midge/midge.sock");
  assert.equal(options.listeners[5].proxyProtocol, 2);
  assert.equal(options.listeners[5].mountPoint, "lb/");
});
