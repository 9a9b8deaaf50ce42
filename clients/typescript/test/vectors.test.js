// The shared vectors (produced by the Rust implementations) against this library.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  FingerprintKeys,
  WebhookError,
  fromHex,
  ocraResponse,
  secretFingerprint,
  signWebhook,
  toHex,
  transactionBytes,
  transactionDigest,
  txQuestion,
  verifyWebhook,
  webauthnTxChallenge,
} from "../src/index.js";

const V = JSON.parse(readFileSync(new URL("../../vectors.json", import.meta.url), "utf8"));

test("secret fingerprints", async () => {
  for (const c of V.secret_fingerprints) {
    assert.equal(await secretFingerprint(fromHex(c.key_hex), c.key_id, c.secret), c.fingerprint, c.secret);
  }
});

test("key rotation k1 -> k2", async () => {
  const cs = Object.fromEntries(
    V.secret_fingerprints.filter((c) => c.secret === "correct horse battery staple").map((c) => [c.key_id, c]),
  );
  const keys = new FingerprintKeys({ k1: fromHex(cs.k1.key_hex) }, "k1");
  assert.equal(await keys.fingerprint("correct horse battery staple"), cs.k1.fingerprint);
  keys.rotate("k2", fromHex(cs.k2.key_hex));
  assert.equal(await keys.fingerprint("correct horse battery staple"), cs.k2.fingerprint);
  assert.equal(await keys.fingerprint("correct horse battery staple", "k1"), cs.k1.fingerprint);
  assert.throws(() => keys.rotate("k2", new Uint8Array(32)));
  assert.ok(!JSON.stringify(keys).includes(cs.k1.key_hex));
});

test("transactions: encoding, digest, question, OCRA, passkey binding", async () => {
  for (const c of V.transactions) {
    const amount = Number.isSafeInteger(c.amount_minor) ? c.amount_minor : BigInt(c.amount_minor_text);
    const tx = { account: c.account, amount_minor: amount, currency: c.currency, payee: c.payee };
    assert.equal(toHex(transactionBytes(tx)), c.canonical_hex, c.account);
    assert.equal(toHex(await transactionDigest(tx)), c.digest_hex);
    const q = await txQuestion(tx, c.challenge_id);
    assert.equal(q, c.question);
    assert.equal(await ocraResponse(c.device_key_hex, q), c.ocra_response);
    assert.equal(toHex(await webauthnTxChallenge(tx, c.challenge_id)), c.webauthn_challenge_hex);
  }
});

test("webhook signing and verification", async () => {
  const w = V.webhook;
  assert.equal(await signWebhook(w.secret, w.t, w.body), w.header);
  for (const c of w.verify) {
    const run = () => verifyWebhook(w.secret, c.header, c.body, { toleranceS: c.tolerance_s, now: c.now });
    if (c.result === "ok") {
      await run();
    } else {
      await assert.rejects(run, (e) => e instanceof WebhookError && e.reason === c.result, c.name);
    }
  }
});
