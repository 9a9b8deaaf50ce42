// The client against a live server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { Client, FingerprintKeys, SekimoriError, nowRfc3339, ocraResponse, txQuestion } from "../src/index.js";
import { binary, startServer } from "./server.js";

const SERVICE = "tsbank";
const skip = binary() ? false : "no sekimori binary: cargo build -p sekimori, or set SEKIMORI_BIN";
let server;
let client;

before(async () => {
  if (skip) return;
  server = await startServer();
  client = new Client(server.url, server.key, { retries: 2 });
});
after(async () => server?.stop());

const login = (id, account, fp) => ({
  id, type: "login.attempt", at: nowRfc3339(), service: SERVICE,
  actor: { ip: "203.0.113.10", device: "dev-ts" },
  account, factor: "password", secret_fp: fp, result: "success",
});

test("a login, its decision, and an idempotent retry", { skip }, async () => {
  const keys = new FingerprintKeys({ k1: randomBytes(32) }, "k1");
  const ev = login(`ts-${randomBytes(4).toString("hex")}`, "acct-ts-1", await keys.fingerprint("hunter2"));
  const a = await client.sendEvent(ev);
  // Past the time budget (a loaded machine) the answer comes before the fsync, marked degraded.
  assert.ok(a.durable === true || ["not_yet_durable", "time_budget_exceeded"].includes(a.degraded));
  assert.equal(a.duplicate, false);
  const again = await client.sendEvent(ev); // a retry with the same id counts once
  assert.equal(again.duplicate, true);
  let read;
  for (let i = 0; i < 50 && !read; i++) {
    try {
      read = await client.decision(ev.id); // the logged decision, once durable
    } catch (e) {
      assert.equal(e.code, "decision_not_found");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.equal(read.decision.event_id, ev.id);
  assert.deepEqual(again.decision, read.decision);
});

test("errors carry code and path", { skip }, async () => {
  const bad = login("ts-bad", "acct", "k1:" + "0".repeat(64));
  bad.actor.ip = "not an ip";
  await assert.rejects(client.sendEvent(bad), (e) => e instanceof SekimoriError && e.code === "invalid_value" && e.path === "actor.ip" && e.status === 400);
  await assert.rejects(client.sendEvent({ ...bad, pin: "1234" }), (e) => e.code === "secret_in_clear");
  await assert.rejects(client.decision("ts-never-sent"), (e) => e.code === "decision_not_found" && e.status === 404);
});

test("a batch answers per item", { skip }, async () => {
  const good = login(`ts-b-${randomBytes(4).toString("hex")}`, "acct-ts-2", "k1:" + "1".repeat(64));
  const bad = { ...login("ts-b-bad", "acct-ts-2", "k1:" + "1".repeat(64)), amount_minor: 5 };
  const r = await client.sendBatch([good, bad]);
  assert.equal(r.accepted, 1);
  assert.equal(r.rejected, 1);
  assert.equal(r.answers[0].decision.event_id, good.id);
  assert.ok(r.answers[1] instanceof SekimoriError);
  assert.equal(r.answers[1].code, "unknown_field");
  assert.equal(r.answers[1].path, "events[1].amount_minor");
});

test("a stream answers each line in order", { skip }, async () => {
  const tag = randomBytes(4).toString("hex");
  const events = [0, 1, 2, 3, 4].map((i) => login(`ts-s-${tag}-${i}`, "acct-ts-3", "k1:" + "2".repeat(64)));
  events[2] = { ...events[2], amount_minor: 5 };
  const results = [];
  for await (const r of client.eventsStream(events, { window: 2 })) results.push(r);
  assert.equal(results.length, 5);
  results.forEach((r, i) => {
    if (i === 2) {
      assert.ok(r instanceof SekimoriError);
      assert.equal(r.code, "unknown_field");
      assert.equal(r.path, "amount_minor");
    } else {
      assert.equal(r.decision.event_id, events[i].id);
      assert.equal(r.durable, true);
    }
  });
  for await (const r of client.eventsStream([events[0]])) assert.equal(r.duplicate, true);
});

test("a transaction-signing step-up with a soft token", { skip }, async () => {
  const account = `acct-tx-${randomBytes(4).toString("hex")}`;
  const tx = { amount_minor: 250000, currency: "JPY", payee: "bank:0001-123-4567890" };
  const device = await client.enrollOcra(SERVICE, account);
  assert.equal(device.enrolled, true);
  const ch = await client.txChallenge(SERVICE, account, tx);
  const question = await txQuestion({ account, ...tx }, ch.challenge_id);
  assert.equal(question, ch.question);
  const ok = await client.verify(SERVICE, account, "txsign", {
    challenge_id: ch.challenge_id, code: await ocraResponse(device.device_key_hex, question), transaction: tx,
  });
  assert.equal(ok.result, "success");
  const ch2 = await client.txChallenge(SERVICE, account, tx);
  const otherQ = await txQuestion({ account, ...tx, payee: "bank:0009-999-0000001" }, ch2.challenge_id);
  const bad = await client.verify(SERVICE, account, "txsign", {
    challenge_id: ch2.challenge_id, code: await ocraResponse(device.device_key_hex, otherQ), transaction: tx,
  });
  assert.equal(bad.result, "failure");
  assert.equal(bad.reason_code, "wrong_code");
});

// RFC 6238 (SHA-1, 6 digits, 30 s) of an otpauth URI, as an authenticator app computes it.
function totp(uri) {
  const secret = new URL(uri).searchParams.get("secret");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c.toUpperCase()).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const o = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

test("a service's label, and an analyst's session on the case API", { skip }, async () => {
  await assert.rejects(client.label(SERVICE, "never-sent", "chargeback"), (e) => e instanceof SekimoriError && e.code === "not_found");
  const password = "correct horse battery staple 17";
  const uri = execFileSync(server.binary, ["users", "create", "--data", server.data, "--login", "ts-admin", "--role", "admin"], {
    input: `${password}\n`,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "ignore"],
  }).trim();
  const s = await client.signInAnalyst("ts-admin", password, totp(uri));
  assert.equal(s.signedIn.role, "admin");
  assert.ok(!JSON.stringify(s).includes("ws_"), "the token never serializes");
  const q = await s.cases({ limit: 5 });
  assert.ok(Array.isArray(q.cases) && q.open >= 0);
  assert.ok((await s.analysts()).analysts.some((a) => a.login === "ts-admin"));
  await assert.rejects(s.case(999999999), (e) => e.code === "not_found");
  assert.ok((await s.endAllSessions()).ended >= 1);
  await assert.rejects(s.cases(), (e) => e.code === "no_session");
});
