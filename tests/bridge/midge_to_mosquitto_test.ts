/**
 * Midge bridged to Debian's Mosquitto 2.0.11, both as processes, with mosquitto_pub and
 * mosquitto_sub as the end clients: topic directions and prefixes, QoS, retained messages,
 * protocol versions, a password, TLS, failover between addresses, the state notifications on
 * both sides, and a loop between two Midge brokers that must not multiply messages.
 */

import assert from "node:assert/strict";
import { makeCertificates } from "../fixtures/certs.ts";
import { freePort } from "../fixtures/net.ts";
import { runMidge } from "../fixtures/midge_process.ts";
import { sleep } from "../interop/helpers.ts";
import { runCommand } from "../auth/mosquitto_tools.ts";
import {
  bridgeTest,
  connectedTo,
  connection,
  occurrences,
  publishTo,
  type Received,
  startMidge,
  startMosquitto,
  subscribeTo,
} from "./fixtures.ts";

/** How long a test waits, after the messages it expects, for any that must not come. */
const QUIET_MS = 500;

/** `messages` as "topic qos retain payload" lines, sorted. */
function summary(messages: Received[]): string[] {
  return messages.map((m) => `${m.topic} q${m.qos} r${m.retain ? 1 : 0} ${m.payload}`).sort();
}

/** `messages` as "topic retain payload" lines, sorted. */
function states(messages: Received[]): string[] {
  return messages.map((m) => `${m.topic} r${m.retain ? 1 : 0} ${m.payload}`).sort();
}

bridgeTest(
  'bridge to Mosquitto: topics go out, in and both ways, with prefixes and the "" forms',
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const midge = own(
      await startMidge(connection("dirs", [mosquitto.port], [
        "topic out/# out 1",
        "topic in/# in 1",
        "topic both/# both 1",
        "topic sensors/# out 1 home/ site1/",
        "topic cmd/# in 1 home/ site1/",
        'topic "" out 1 local/temp remote/temp',
        'topic "" in 1 local/set remote/set',
      ])),
    );
    await midge.logged(connectedTo("dirs", mosquitto.port));
    const there = own(await subscribeTo(mosquitto.port, "#"));
    const here = own(await subscribeTo(midge.port, "#"));
    const fromMidge = ["out/a", "in/a", "both/a", "home/sensors/t", "sensors/t", "local/temp"];
    const fromMosquitto = ["in/b", "out/b", "both/b", "site1/cmd/c", "cmd/c", "remote/set"];
    for (const topic of fromMidge) await publishTo(midge.port, topic, "m", { qos: 1 });
    for (const topic of fromMosquitto) await publishTo(mosquitto.port, topic, "q", { qos: 1 });
    await there.receive(fromMosquitto.length + 4);
    await here.receive(fromMidge.length + 4);
    await sleep(QUIET_MS);
    const crossedOut = ["both/a", "out/a", "remote/temp", "site1/sensors/t"];
    const crossedIn = ["both/b", "home/cmd/c", "in/b", "local/set"];
    assert.deepEqual(
      there.messages.filter((m) => m.payload === "m").map((m) => m.topic).sort(),
      crossedOut,
    );
    assert.deepEqual(
      here.messages.filter((m) => m.payload === "q").map((m) => m.topic).sort(),
      crossedIn,
    );
    // Nothing came back the way it went.
    assert.equal(there.messages.length, fromMosquitto.length + crossedOut.length);
    assert.equal(here.messages.length, fromMidge.length + crossedIn.length);
  },
);

bridgeTest(
  "bridge to Mosquitto: a message crosses at the lower of its QoS and the topic's, each way",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const midge = own(
      await startMidge(connection("qos", [mosquitto.port], [
        "topic q0/# both 0",
        "topic q1/# both 1",
        "topic q2/# both 2",
      ])),
    );
    await midge.logged(connectedTo("qos", mosquitto.port));
    const there = own(await subscribeTo(mosquitto.port, "+/#"));
    const here = own(await subscribeTo(midge.port, "+/#"));
    const expected: string[] = [];
    for (const topicQos of [0, 1, 2]) {
      for (const qos of [0, 1, 2]) {
        const topic = `q${topicQos}/p${qos}`;
        await publishTo(midge.port, topic, "from-midge", { qos });
        await publishTo(mosquitto.port, topic, "from-mosquitto", { qos });
        expected.push(`${topic} q${Math.min(qos, topicQos)} r0`);
      }
    }
    await there.receive(18);
    await here.receive(18);
    await sleep(QUIET_MS);
    const crossed = (messages: Received[], payload: string) =>
      messages.filter((m) => m.payload === payload).map((m) =>
        `${m.topic} q${m.qos} r${m.retain ? 1 : 0}`
      ).sort();
    assert.deepEqual(crossed(there.messages, "from-midge"), expected.sort());
    assert.deepEqual(crossed(here.messages, "from-mosquitto"), expected);
    assert.equal(there.messages.length, 18);
    assert.equal(here.messages.length, 18);
  },
);

bridgeTest(
  "bridge to Mosquitto: retained messages cross and are kept on the far side",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    await publishTo(mosquitto.port, "r/early", "kept there", { qos: 1, retain: true });
    const midge = own(
      await startMidge(
        connection("keep", [mosquitto.port], ["topic r/# both 1"]) +
          connection("plain", [mosquitto.port], [
            "topic p/# out 1",
            "bridge_outgoing_retain false",
          ]),
      ),
    );
    await midge.logged(connectedTo("keep", mosquitto.port));
    await midge.logged(connectedTo("plain", mosquitto.port));
    const live = own(await subscribeTo(mosquitto.port, "p/#"));
    await publishTo(midge.port, "r/late", "kept here", { qos: 1, retain: true });
    await publishTo(midge.port, "p/late", "not kept", { qos: 1, retain: true });
    // The one on p/ crosses, without its retain flag.
    assert.deepEqual(summary(await live.receive(1)), ["p/late q1 r0 not kept"]);
    await sleep(QUIET_MS);
    const newThere = own(await subscribeTo(mosquitto.port, "+/#"));
    const newHere = own(await subscribeTo(midge.port, "r/#"));
    assert.deepEqual(summary(await newHere.receive(2)), [
      "r/early q1 r1 kept there",
      "r/late q1 r1 kept here",
    ]);
    assert.deepEqual(summary(await newThere.receive(2)), [
      "r/early q1 r1 kept there",
      "r/late q1 r1 kept here",
    ]);
    await sleep(QUIET_MS);
    assert.equal(newThere.messages.length, 2, "p/late is not retained on Mosquitto");
  },
);

bridgeTest(
  "bridge to Mosquitto: bridge_protocol_version mqttv31, mqttv311 and mqttv50",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const versions = [["mqttv31", 1], ["mqttv311", 2], ["mqttv50", 5]] as const;
    const midge = own(
      await startMidge(
        versions.map(([version]) =>
          connection(`v-${version}`, [mosquitto.port], [
            `bridge_protocol_version ${version}`,
            `topic ${version}/out out 1`,
            `topic ${version}/in in 1`,
          ])
        ).join(""),
      ),
    );
    for (const [version, p] of versions) {
      await midge.logged(connectedTo(`v-${version}`, mosquitto.port));
      // Mosquitto names the protocol it was spoken to: p1 3.1, p2 3.1.1, p5 5.0.
      await mosquitto.logged(new RegExp(`as v-${version} \\(p${p}, c0, k60`));
    }
    const there = own(await subscribeTo(mosquitto.port, "+/out"));
    const here = own(await subscribeTo(midge.port, "+/in"));
    for (const [version] of versions) {
      await publishTo(midge.port, `${version}/out`, version, { qos: 1 });
      await publishTo(mosquitto.port, `${version}/in`, version, { qos: 1 });
    }
    const expected = (way: string) => versions.map(([v]) => `${v}/${way} q1 r0 ${v}`).sort();
    assert.deepEqual(summary(await there.receive(3)), expected("out"));
    assert.deepEqual(summary(await here.receive(3)), expected("in"));
  },
);

bridgeTest(
  "bridge to Mosquitto: remote_username and remote_password against its password file",
  async (own) => {
    const dir = await Deno.makeTempDir();
    own({ stop: () => Deno.remove(dir, { recursive: true }) });
    const passwords = `${dir}/passwords`;
    const made = await runCommand("mosquitto_passwd", [
      "-c",
      "-b",
      passwords,
      "bridge",
      "s3cret",
    ]);
    assert.equal(made.code, 0, made.stderr);
    const mosquitto = own(
      await startMosquitto([`password_file ${passwords}`, "allow_anonymous false"]),
    );
    const midge = own(
      await startMidge(
        connection("right", [mosquitto.port], [
          "remote_username bridge",
          "remote_password s3cret",
          "topic auth/# out 1",
        ]) +
          connection("wrong", [mosquitto.port], [
            "remote_username bridge",
            "remote_password guess",
            "topic auth/# out 1",
          ]),
      ),
    );
    await midge.logged(connectedTo("right", mosquitto.port));
    await midge.logged(/Bridge wrong: 127\.0\.0\.1:\d+ failed: .+/);
    await mosquitto.logged(
      /Sending CONNACK to 127\.0\.0\.1 \(0, 5\)\n.*Client <unknown> disconnected, not authorised\./,
    );
    const there = own(
      await subscribeTo(mosquitto.port, "auth/#", { args: ["-u", "bridge", "-P", "s3cret"] }),
    );
    await publishTo(midge.port, "auth/x", "once", { qos: 1 });
    await there.receive(1);
    await sleep(QUIET_MS);
    assert.deepEqual(summary(there.messages), ["auth/x q1 r0 once"]);
    assert.doesNotMatch(await midge.log(), /Bridge wrong connected/);
  },
);

bridgeTest(
  "bridge to Mosquitto over TLS: CA, client certificate, bridge_insecure, bridge_tls_version",
  async (own) => {
    const certs = await makeCertificates();
    own({ stop: () => Deno.remove(certs.dir, { recursive: true }) });
    const tlsListener = (version: string) => [
      `cafile ${certs.ca}`,
      `certfile ${certs.server.cert}`,
      `keyfile ${certs.server.key}`,
      "require_certificate true",
      `tls_version ${version}`,
    ];
    const mosquitto = own(await startMosquitto(tlsListener("tlsv1.2")));
    // Listening on 127.0.0.2, an address the server certificate does not name.
    const misnamed = own(await startMosquitto(tlsListener("tlsv1.3"), { address: "127.0.0.2" }));
    const ca = `bridge_cafile ${certs.ca}`;
    const cert = [`bridge_certfile ${certs.client.cert}`, `bridge_keyfile ${certs.client.key}`];
    // bridge_capath: a folder of CA files instead of one file.
    const caDir = `${certs.dir}/cas`;
    await Deno.mkdir(caDir);
    await Deno.copyFile(certs.ca, `${caDir}/ca.pem`);
    const topic = (name: string) => `topic ${name}/# out 1`;
    const at = (name: string, port: number, host: string, lines: string[]) =>
      connection(name, [port], [...lines, topic(name)]).replace("127.0.0.1", host);
    const midge = own(
      await startMidge(
        connection("tls", [mosquitto.port], [ca, ...cert, topic("tls")]) +
          connection("capath", [mosquitto.port], [`bridge_capath ${caDir}`, ...cert]) +
          connection("nocert", [mosquitto.port], [ca, topic("nocert")]) +
          connection("v13", [mosquitto.port], [
            ca,
            ...cert,
            topic("v13"),
            "bridge_tls_version tlsv1.3",
          ]) +
          at("strict", misnamed.port, "127.0.0.2", [ca, ...cert]) +
          at("insecure", misnamed.port, "127.0.0.2", [ca, ...cert, "bridge_insecure true"]) +
          at("v12", misnamed.port, "127.0.0.2", [
            ca,
            ...cert,
            "bridge_insecure true",
            "bridge_tls_version tlsv1.2",
          ]),
      ),
    );
    await midge.logged(connectedTo("tls", mosquitto.port));
    await midge.logged(connectedTo("capath", mosquitto.port));
    await midge.logged(connectedTo("v13", mosquitto.port));
    await midge.logged(
      new RegExp(`Bridge insecure connected to 127\\.0\\.0\\.2:${misnamed.port}`),
    );
    for (const refused of ["nocert", "strict", "v12"]) {
      await midge.logged(new RegExp(`Bridge ${refused}: 127\\.0\\.0\\.[12]:\\d+ failed: .+`));
    }
    const there = own(
      await subscribeTo(mosquitto.port, "tls/#", {
        args: ["--cafile", certs.ca, "--cert", certs.client.cert, "--key", certs.client.key],
      }),
    );
    await publishTo(midge.port, "tls/x", "sealed", { qos: 1 });
    assert.deepEqual(summary(await there.receive(1)), ["tls/x q1 r0 sealed"]);
    const log = await midge.log();
    for (const refused of ["nocert", "strict", "v12"]) {
      assert.doesNotMatch(log, new RegExp(`Bridge ${refused} connected`));
    }
  },
);

bridgeTest(
  "bridge to Mosquitto: failover to the second address, back to the first, round_robin",
  async (own) => {
    const mainPort = freePort();
    const backup = own(await startMosquitto([]));
    const ports = [mainPort, backup.port];
    const midge = own(
      await startMidge(
        connection("fo", ports, ["topic fo/# out 1"]) +
          connection("rr", ports, ["topic rr/# out 1", "round_robin true"]),
      ),
    );
    await midge.logged(connectedTo("fo", backup.port));
    await midge.logged(connectedTo("rr", backup.port));
    const onBackup = own(await subscribeTo(backup.port, "+/#"));
    await publishTo(midge.port, "fo/1", "to backup", { qos: 1 });
    assert.deepEqual(summary(await onBackup.receive(1)), ["fo/1 q1 r0 to backup"]);

    // The main address answers again: "fo" goes back to it, "rr" stays where it is.
    own(await startMosquitto([], { port: mainPort }));
    await midge.logged(connectedTo("fo", mainPort), 15_000);
    const onMain = own(await subscribeTo(mainPort, "+/#"));
    await publishTo(midge.port, "fo/2", "to main", { qos: 1 });
    assert.deepEqual(summary(await onMain.receive(1)), ["fo/2 q1 r0 to main"]);
    await sleep(2000);
    assert.doesNotMatch(await midge.log(), connectedTo("rr", mainPort));

    // "rr" moves on to the next address when its link ends.
    await backup.kill();
    await midge.logged(connectedTo("rr", mainPort), 15_000);
    await publishTo(midge.port, "rr/3", "round", { qos: 1 });
    await onMain.receive(2);
    assert.deepEqual(summary(onMain.messages), ["fo/2 q1 r0 to main", "rr/3 q1 r0 round"]);
    assert.equal(occurrences(await midge.log(), connectedTo("fo", mainPort)), 1);
  },
);

bridgeTest(
  "bridge to Mosquitto: notifications follow the link on both sides, will 0 on SIGKILL",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const midge = own(
      await startMidge(
        connection("noted", [mosquitto.port], ["topic n/# out 1"]) +
          connection("quiet", [mosquitto.port], ["topic q/# out 1", "notifications false"]) +
          connection("custom", [mosquitto.port], [
            "topic c/# out 1",
            "notification_topic bridges/custom/up",
          ]),
      ),
    );
    for (const name of ["noted", "quiet", "custom"]) {
      await midge.logged(connectedTo(name, mosquitto.port));
    }
    const state = "$SYS/broker/connection/noted/state";
    // Retained "1" on both sides (Mosquitto publishes it at QoS 1, Midge at QoS 0: not checked).
    for (const port of [mosquitto.port, midge.port]) {
      const watcher = own(await subscribeTo(port, "$SYS/broker/connection/#"));
      const custom = own(await subscribeTo(port, "bridges/#"));
      await watcher.receive(1);
      await custom.receive(1);
      await sleep(QUIET_MS);
      assert.deepEqual(
        states([...watcher.messages, ...custom.messages]),
        [
          `${state} r1 1`,
          "bridges/custom/up r1 1",
        ].sort(),
        `port ${port}`,
      );
    }

    // Mosquitto goes away: "0" here, then "1" again when it is back.
    const here = own(await subscribeTo(midge.port, state));
    await here.receive(1);
    await mosquitto.kill();
    await here.receive(2);
    await mosquitto.restart();
    await here.receive(3);
    assert.deepEqual(here.messages.map((m) => m.payload), ["1", "0", "1"]);

    // Midge is killed: its will says "0" there, kept as retained.
    const there = own(await subscribeTo(mosquitto.port, state));
    await there.receive(1);
    await midge.kill("SIGKILL");
    await there.receive(2);
    assert.deepEqual(there.messages.map((m) => m.payload), ["1", "0"]);
    const after = own(await subscribeTo(mosquitto.port, state));
    assert.deepEqual(states(await after.receive(1)), [`${state} r1 0`]);
  },
);

bridgeTest(
  "bridge loop between two Midge brokers on a both topic delivers each message once",
  async (own) => {
    const b = own(await startMidge(""));
    const a = own(await startMidge(connection("loop", [b.port], ["topic loop/# both 2"])));
    await a.logged(connectedTo("loop", b.port));
    const onA = own(await subscribeTo(a.port, "loop/#"));
    const onB = own(await subscribeTo(b.port, "loop/#"));
    for (const qos of [0, 1, 2]) {
      await publishTo(a.port, `loop/a${qos}`, "from a", { qos });
      await publishTo(b.port, `loop/b${qos}`, "from b", { qos });
    }
    await onA.receive(6);
    await onB.receive(6);
    await sleep(2 * QUIET_MS);
    const expected = [0, 1, 2].flatMap((
      q,
    ) => [`loop/a${q} q${q} r0 from a`, `loop/b${q} q${q} r0 from b`])
      .sort();
    assert.deepEqual(summary(onA.messages), expected);
    assert.deepEqual(summary(onB.messages), expected);
  },
);

bridgeTest(
  "bridge to Mosquitto: trusted here without local_username, checked against the ACL with it",
  async (own) => {
    const dir = await Deno.makeTempDir();
    own({ stop: () => Deno.remove(dir, { recursive: true }) });
    const passwords = `${dir}/passwd`;
    const made = await runMidge(["passwd", "-c", "-b", passwords, "edge", "secret"]);
    assert.equal(made.code, 0, made.stderr);
    // Anonymous clients read everything; the bridge's user may write in/ok/# only.
    await Deno.writeTextFile(`${dir}/acl`, "topic read #\n\nuser edge\ntopic write in/ok/#\n");
    const security = `password_file ${passwords}\nacl_file ${dir}/acl\n`;
    const mosquitto = own(await startMosquitto([]));
    const trusted = own(
      await startMidge(security + connection("trusted", [mosquitto.port], ["topic in/# in 1"])),
    );
    const checked = own(
      await startMidge(
        security + connection("checked", [mosquitto.port], [
          "topic in/# in 1",
          "local_username edge",
          "local_password secret",
        ]),
      ),
    );
    await trusted.logged(connectedTo("trusted", mosquitto.port));
    await checked.logged(connectedTo("checked", mosquitto.port));
    const toTrusted = own(await subscribeTo(trusted.port, "in/#"));
    const toChecked = own(await subscribeTo(checked.port, "in/#"));
    await publishTo(mosquitto.port, "in/no/x", "refused", { qos: 1 });
    await publishTo(mosquitto.port, "in/ok/x", "allowed", { qos: 1 });
    await toTrusted.receive(2);
    await toChecked.receive(1);
    await sleep(QUIET_MS);
    assert.deepEqual(states(toTrusted.messages), ["in/no/x r0 refused", "in/ok/x r0 allowed"]);
    assert.deepEqual(states(toChecked.messages), ["in/ok/x r0 allowed"]);
  },
);
