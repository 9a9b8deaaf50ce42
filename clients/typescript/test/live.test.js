// The client against a live server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { Client, FingerprintKeys, OPERATIONS, SekimoriError, nowRfc3339, ocraResponse, txQuestion } from "../src/index.js";
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

test("every operation the client calls is in openapi.json", () => {
  const doc = JSON.parse(readFileSync(new URL("../../../openapi.json", import.meta.url), "utf8"));
  for (const [method, path] of OPERATIONS) assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
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
