// The integrator's computations, byte for byte as the server computes them
// (checked against clients/vectors.json, produced by the Rust code). Web
// Crypto only (globalThis.crypto.subtle: Node 20+, browsers, Deno, Workers):
// no dependency, and every function is async.

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

export const TX_OCRA_SUITE = "OCRA-1:HOTP-SHA256-8:QH64";
const TX_ENCODING_VERSION = enc.encode("sekimori-tx-v1");
const TX_QUESTION_DOMAIN = enc.encode("sekimori-txq-v1");
const WEBAUTHN_DOMAIN = enc.encode("sekimori-webauthn-tx-v1");
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError("expected hex digits");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function bytesOf(key) {
  if (typeof key === "string") return enc.encode(key);
  return key instanceof Uint8Array ? key : new Uint8Array(key);
}

async function hmacKey(key) {
  return subtle.importKey("raw", bytesOf(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function hmacSha256(key, data) {
  return new Uint8Array(await subtle.sign("HMAC", await hmacKey(key), data));
}

async function sha256(data) {
  return new Uint8Array(await subtle.digest("SHA-256", data));
}

/** `<keyId>:<64 hex>`: HMAC-SHA256 of the exact secret typed (UTF-8). */
export async function secretFingerprint(key, keyId, secret) {
  if (!KEY_ID.test(keyId)) throw new RangeError("a key id is 1 to 32 of A-Z a-z 0-9 _ -");
  if (typeof secret !== "string") throw new TypeError("the secret is the text typed (a PIN as its digit string)");
  return `${keyId}:${toHex(await hmacSha256(key, enc.encode(secret)))}`;
}

/** The service's fingerprint keys and the current one; `rotate` adds a new id. */
export class FingerprintKeys {
  #keys;
  constructor(keys, current) {
    this.#keys = new Map(Object.entries(keys));
    if (!this.#keys.has(current)) throw new RangeError("the current key id must be one of the keys");
    for (const [id, k] of this.#keys) {
      if (!KEY_ID.test(id)) throw new RangeError(`bad key id ${id}`);
      if (bytesOf(k).length < 32) throw new RangeError("a fingerprint key is at least 32 random bytes");
    }
    this.current = current;
  }
  rotate(keyId, key) {
    if (this.#keys.has(keyId)) throw new RangeError("a rotation needs a new key id");
    if (!KEY_ID.test(keyId) || bytesOf(key).length < 32) throw new RangeError("bad key id or key");
    this.#keys.set(keyId, key);
    this.current = keyId;
  }
  fingerprint(secret, keyId = this.current) {
    return secretFingerprint(this.#keys.get(keyId), keyId, secret);
  }
  toJSON() {
    return { ids: [...this.#keys.keys()], current: this.current };
  }
}

function u32be(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function lenPrefixed(s) {
  const b = enc.encode(s);
  return concat(u32be(b.length), b);
}

/** The canonical `sekimori-tx-v1` encoding. `amountMinor` is an integer (a number or a bigint). */
export function transactionBytes(tx) {
  const amount = typeof tx.amount_minor === "bigint" ? tx.amount_minor : BigInt(tx.amount_minor);
  if (typeof tx.amount_minor === "number" && !Number.isSafeInteger(tx.amount_minor)) {
    throw new RangeError("amount_minor beyond 2^53: pass a bigint");
  }
  const a = new Uint8Array(8);
  new DataView(a.buffer).setBigInt64(0, amount);
  return concat(TX_ENCODING_VERSION, new Uint8Array([0]), lenPrefixed(tx.account), a, lenPrefixed(tx.currency), lenPrefixed(tx.payee));
}

export async function transactionDigest(tx) {
  return sha256(transactionBytes(tx));
}

function nonceOf(challengeId) {
  const n = fromHex(challengeId);
  if (n.length !== 16) throw new RangeError("a challenge id is 32 hex digits");
  return n;
}

/** The OCRA question (64 hex digits) the device recomputes from what it shows. */
export async function txQuestion(tx, challengeId) {
  const d = await transactionDigest(tx);
  return toHex(await sha256(concat(TX_QUESTION_DOMAIN, new Uint8Array([0]), d, nonceOf(challengeId))));
}

/** RFC 6287 OCRA-1:HOTP-SHA256-8:QH64 over `question` under the device key (hex or bytes). */
export async function ocraResponse(deviceKey, question) {
  if (typeof question !== "string" || question.length !== 64) throw new RangeError("a QH64 question is 64 hex digits");
  const key = typeof deviceKey === "string" ? fromHex(deviceKey) : deviceKey;
  const field = new Uint8Array(128);
  field.set(fromHex(question));
  const mac = await hmacSha256(key, concat(enc.encode(TX_OCRA_SUITE), new Uint8Array([0]), field));
  const off = mac[mac.length - 1] & 0x0f;
  const v = new DataView(mac.buffer, off, 4).getUint32(0) & 0x7fffffff;
  return String(v % 100000000).padStart(8, "0");
}

/** SHA-256("sekimori-webauthn-tx-v1" || 0x00 || digest || nonce): the passkey transaction binding. */
export async function webauthnTxChallenge(tx, nonceHex) {
  const d = await transactionDigest(tx);
  return sha256(concat(WEBAUTHN_DOMAIN, new Uint8Array([0]), d, nonceOf(nonceHex)));
}

export class WebhookError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "WebhookError";
    this.reason = reason;
  }
}

/** `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`. */
export async function signWebhook(secret, t, body) {
  return `t=${t},v1=${toHex(await hmacSha256(secret, concat(enc.encode(`${t}.`), bytesOf(body))))}`;
}

/**
 * Checks a `Sekimori-Signature` header against the raw body (bytes or the
 * exact string received, before JSON parsing). Each `v1` is checked with
 * Web Crypto's HMAC verify (constant time); then |now - t| <= toleranceS.
 * Throws WebhookError (reason `malformed`, `bad_signature`, `stale`).
 */
export async function verifyWebhook(secret, header, body, { toleranceS = 300, now } = {}) {
  let t;
  const sigs = [];
  for (const item of header.split(",")) {
    const s = item.trim();
    const eq = s.indexOf("=");
    if (eq < 0) throw new WebhookError("malformed", "an entry is not key=value");
    const k = s.slice(0, eq);
    const v = s.slice(eq + 1);
    if (k === "t") {
      if (t !== undefined) throw new WebhookError("malformed", "more than one t");
      if (!/^-?[0-9]+$/.test(v)) throw new WebhookError("malformed", "t is not an integer");
      t = Number(v);
    } else if (k === "v1") {
      if (!/^([0-9a-fA-F]{2})*$/.test(v)) throw new WebhookError("malformed", "v1 is not hex");
      const sig = fromHex(v);
      if (sig.length !== 32) throw new WebhookError("malformed", "v1 is not 32 bytes");
      sigs.push(sig);
    }
  }
  if (t === undefined) throw new WebhookError("malformed", "no t");
  if (sigs.length === 0) throw new WebhookError("malformed", "no v1 signature");
  const key = await hmacKey(secret);
  const data = concat(enc.encode(`${t}.`), bytesOf(body));
  let ok = false;
  for (const sig of sigs) ok = (await subtle.verify("HMAC", key, sig, data)) || ok;
  if (!ok) throw new WebhookError("bad_signature", "the signature does not match the body");
  const nowS = now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowS - t) > toleranceS) throw new WebhookError("stale", `the signature is ${nowS - t} s old (tolerance ${toleranceS} s)`);
}
