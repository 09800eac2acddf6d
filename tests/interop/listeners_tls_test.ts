/**
 * Interop: TLS listeners of a real Midge process (configured by mosquitto.conf) against
 * Mosquitto 2.0's mosquitto_pub and mosquitto_sub: server certificates (`--cafile`), client
 * certificates (`require_certificate`, refused ones and why, `use_identity_as_username` feeding
 * the ACL, `use_subject_as_username`), the wrong protocol on either kind of port, and the
 * certificates re-read on SIGHUP.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeCertificates, type TestCertificates } from "../fixtures/certs.ts";
import { freePort } from "../fixtures/net.ts";
import { connect, RawClient } from "../integration/harness.ts";
import { interopTest, MOSQUITTO_CLIENTS } from "./helpers.ts";
import { logLines, type MidgeContext, withMidge } from "./listener_process.ts";

const SUB = "mosquitto_sub";
const PUB = "mosquitto_pub";

/** Make the test certificates, run `fn` with them, remove them. */
async function withCertificates(fn: (certs: TestCertificates) => Promise<void>): Promise<void> {
  const certs = await makeCertificates();
  try {
    await fn(certs);
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
}

/** The mosquitto.conf lines of a TLS listener on `port` serving `certs.server`. */
function tlsListener(port: number, certs: TestCertificates, extra: string[] = []): string {
  return [
    `listener ${port} 127.0.0.1`,
    `certfile ${certs.server.cert}`,
    `keyfile ${certs.server.key}`,
    ...extra,
    "",
  ].join("\n");
}

/** mosquitto_sub for one message on `topic` at QoS 1, waiting until the broker has it. */
async function subscribeOne(
  ctx: MidgeContext,
  id: string,
  topic: string,
  connection: string[],
) {
  const sub = ctx.spawn(SUB, [
    ...connection,
    "-i",
    id,
    "-t",
    topic,
    "-q",
    "1",
    "-C",
    "1",
    "-W",
    "10",
    "-v",
  ]);
  await ctx.logged(new RegExp(`^${id} 1 ${topic.replace("#", "\\#")}$`));
  return sub;
}

/** Run mosquitto_pub and fail unless it exits with 0. */
async function publish(ctx: MidgeContext, args: string[]): Promise<void> {
  const pub = await ctx.run(PUB, args);
  assert.equal(pub.code, 0, pub.describe());
}

interopTest({
  name: "TLS listener: mosquitto_sub and mosquitto_pub with --cafile exchange a QoS 1 message",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withCertificates(async (certs) => {
      const port = freePort();
      await withMidge(`allow_anonymous true\n${tlsListener(port, certs)}`, async (ctx) => {
        const tls = ["-h", "127.0.0.1", "-p", String(port), "--cafile", certs.ca];
        const sub = await subscribeOne(ctx, "tls-sub", "tls/t", tls);
        await publish(ctx, [...tls, "-i", "tls-pub", "-t", "tls/t", "-q", "1", "-m", "over tls"]);
        const exit = await sub.wait();
        assert.equal(exit.code, 0, sub.describe());
        assert.deepEqual(exit.lines, ["tls/t over tls"]);
        await ctx.logged(/^Received PUBLISH from tls-pub \(d0, q1, r0, m1, 'tls\/t'/);
        // A client that trusts another CA refuses Midge's certificate.
        const stranger = await ctx.run(PUB, [
          ...["-h", "127.0.0.1", "-p", String(port), "--cafile", certs.otherCa],
          ...["-t", "tls/t", "-m", "x"],
        ]);
        assert.notEqual(stranger.code, 0, stranger.describe());
      });
    }),
});

interopTest({
  name: "TLS listener with require_certificate: dev1's certificate names the user the ACL " +
    "checks; no, expired, other-CA and revoked certificates are refused and the log says why",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withCertificates(async (certs) => {
      const plain = freePort();
      const tls = freePort();
      const acl = `${certs.dir}/acl`;
      await Deno.writeTextFile(acl, "topic readwrite #\nuser dev1\ntopic readwrite dev/#\n");
      const conf = `allow_anonymous true\nacl_file ${acl}\nlistener ${plain} 127.0.0.1\n` +
        tlsListener(tls, certs, [
          `cafile ${certs.ca}`,
          `crlfile ${certs.crl}`,
          "require_certificate true",
          "use_identity_as_username true",
        ]);
      await withMidge(conf, async (ctx) => {
        const server = ["-h", "127.0.0.1", "-p", String(tls), "--cafile", certs.ca];
        const as = (pair: { cert: string; key: string }) => [
          ...server,
          ...["--cert", pair.cert, "--key", pair.key],
        ];
        const sub = await subscribeOne(ctx, "watcher", "#", [
          "-h",
          "127.0.0.1",
          "-p",
          String(plain),
        ]);
        // Denied by the ACL (dev1 may only write dev/#): acknowledged, not delivered.
        await publish(ctx, [
          ...as(certs.client),
          "-i",
          "dev1-a",
          "-t",
          "other/x",
          "-q",
          "1",
          "-m",
          "no",
        ]);
        await ctx.logged(/^Denied PUBLISH from dev1-a/);
        await publish(ctx, [
          ...as(certs.client),
          "-i",
          "dev1-b",
          "-t",
          "dev/x",
          "-q",
          "1",
          "-m",
          "yes",
        ]);
        const exit = await sub.wait();
        assert.deepEqual(exit.lines, ["dev/x yes"]);
        await ctx.logged(/^New client connected from 127\.0\.0\.1:\d+ as dev1-b \(.*u'dev1'\)\.$/);

        const refused: [string, string[], RegExp][] = [
          ["no certificate", server, /denied: .*certificate/i],
          ["expired", as(certs.expiredClient), /denied: .*expired/i],
          ["other CA", as(certs.otherCaClient), /denied: unable to get local issuer certificate/],
          ["revoked", as(certs.revokedClient), /denied: .*revoked/i],
        ];
        for (const [what, args, why] of refused) {
          const before = (await logLines(ctx.midge)).length;
          const pub = await ctx.run(PUB, [...args, "-t", "dev/x", "-m", what]);
          assert.notEqual(pub.code, 0, `${what}: ${pub.describe()}`);
          const denied = await ctx.logged(/Client connection from 127\.0\.0\.1 denied: /, {
            from: before,
          });
          assert.match(denied, why, what);
        }
      });
    }),
});

interopTest({
  name: "TLS listener with use_subject_as_username: the username is the certificate's subject",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withCertificates(async (certs) => {
      const tls = freePort();
      const conf = "allow_anonymous true\n" +
        tlsListener(tls, certs, [
          `cafile ${certs.ca}`,
          "require_certificate true",
          "use_subject_as_username true",
        ]);
      await withMidge(conf, async (ctx) => {
        await publish(ctx, [
          ...["-h", "127.0.0.1", "-p", String(tls), "--cafile", certs.ca],
          ...["--cert", certs.client.cert, "--key", certs.client.key],
          ...["-i", "subject", "-t", "t", "-m", "x"],
        ]);
        await ctx.logged(/ as subject \(.*u'CN=dev1,O=acme,C=GB'\)\.$/);
      });
    }),
});

interopTest({
  name: "MQTT in clear to a TLS port and a TLS ClientHello to a plain port are closed; " +
    "both listeners keep serving",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withCertificates(async (certs) => {
      const plain = freePort();
      const tls = freePort();
      const conf = `allow_anonymous true\nlistener ${plain} 127.0.0.1\n${tlsListener(tls, certs)}`;
      await withMidge(conf, async (ctx) => {
        const clear = await RawClient.open(tls);
        try {
          await clear.send({
            type: "connect",
            protocolVersion: 4,
            clientId: "clear",
            clean: true,
            keepAlive: 60,
          });
          await clear.expectClosed(5000);
        } finally {
          await clear.close();
        }
        const hello = await ctx.run(PUB, [
          ...["-h", "127.0.0.1", "-p", String(plain), "--cafile", certs.ca],
          ...["-i", "hello", "-t", "t", "-m", "x"],
        ]);
        assert.notEqual(hello.code, 0, hello.describe());
        await ctx.logged(/disconnected due to (malformed packet|protocol error)/);
        // Both ports still serve.
        const { client, connack } = await connect(plain, { clientId: "after" });
        await client.close();
        assert.equal(connack.reasonCode, 0);
        await publish(ctx, [
          ...["-h", "127.0.0.1", "-p", String(tls), "--cafile", certs.ca],
          ...["-i", "after-tls", "-t", "t", "-m", "x"],
        ]);
        const lines = await logLines(ctx.midge);
        assert.ok(!lines.some((l) => /as clear /.test(l)), lines.join("\n"));
      });
    }),
});

interopTest({
  name: "SIGHUP re-reads the server certificate: a client trusting only the new CA connects, " +
    "one connected before keeps working",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withCertificates(async (certs) => {
      const tls = freePort();
      const served = { cert: `${certs.dir}/served.crt`, key: `${certs.dir}/served.key` };
      await Deno.copyFile(certs.server.cert, served.cert);
      await Deno.copyFile(certs.server.key, served.key);
      const second = await secondServerCertificate(certs.dir);
      const conf = `allow_anonymous true\nlistener ${tls} 127.0.0.1\n` +
        `certfile ${served.cert}\nkeyfile ${served.key}\n`;
      await withMidge(conf, async (ctx) => {
        const old = ["-h", "127.0.0.1", "-p", String(tls), "--cafile", certs.ca];
        const fresh = ["-h", "127.0.0.1", "-p", String(tls), "--cafile", second.ca];
        const sub = ctx.spawn(SUB, [
          ...old,
          "-i",
          "before",
          "-t",
          "r/#",
          "-q",
          "1",
          "-C",
          "2",
          "-W",
          "15",
          "-v",
        ]);
        await ctx.logged(/^before 1 r\/#$/);
        await publish(ctx, [...old, "-i", "p1", "-t", "r/1", "-q", "1", "-m", "one"]);
        const refusedFirst = await ctx.run(PUB, [...fresh, "-t", "r/x", "-m", "x"]);
        assert.notEqual(refusedFirst.code, 0, refusedFirst.describe());

        await Deno.copyFile(second.cert, served.cert);
        await Deno.copyFile(second.key, served.key);
        ctx.midge.child.kill("SIGHUP");
        await ctx.logged(/Reloaded the certificates of the TLS listener on port/);

        await publish(ctx, [...fresh, "-i", "p2", "-t", "r/2", "-q", "1", "-m", "two"]);
        const exit = await sub.wait();
        assert.equal(exit.code, 0, sub.describe());
        assert.deepEqual(exit.lines, ["r/1 one", "r/2 two"]);
        const stale = await ctx.run(PUB, [...old, "-t", "r/x", "-m", "x"]);
        assert.notEqual(stale.code, 0, stale.describe());
      });
    }),
});

/** A second CA in `dir/second` and a server certificate for 127.0.0.1 it signed. */
async function secondServerCertificate(
  dir: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const folder = `${dir}/second`;
  await Deno.mkdir(folder);
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: folder,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run([
    "req",
    "-x509",
    ...ec,
    "-days",
    "30",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=Second CA",
  ]);
  await run([
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(`${folder}/san.cnf`, "subjectAltName = IP:127.0.0.1,DNS:localhost\n");
  await run([
    ...["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key"],
    ...["-CAcreateserial", "-days", "30", "-extfile", "san.cnf", "-out", "server.crt"],
  ]);
  return { ca: `${folder}/ca.crt`, cert: `${folder}/server.crt`, key: `${folder}/server.key` };
}
