// The HTTP client over fetch: events in, decisions out, step-up, secret
// checks. Every operation is one of openapi.json's (a test checks it).

export const OPERATIONS = [
  ["post", "/v1/events"],
  ["post", "/v1/events/batch"],
  ["get", "/v1/decisions/{event_id}"],
  ["post", "/v1/stepup/totp/enroll"],
  ["post", "/v1/stepup/ocra/enroll"],
  ["post", "/v1/stepup/tx/challenge"],
  ["post", "/v1/stepup/webauthn/register/start"],
  ["post", "/v1/stepup/webauthn/register/finish"],
  ["post", "/v1/stepup/webauthn/auth/start"],
  ["post", "/v1/stepup/otp/send"],
  ["post", "/v1/stepup/verify"],
  ["post", "/v1/stepup/enrollments/remove"],
  ["post", "/v1/secrets/check"],
  ["get", "/healthz"],
  ["get", "/readyz"],
];

/** Codes after which the same request may be sent again: nothing was decided or stored. */
export const RETRYABLE = new Set(["engine_busy", "overloaded", "stepup_busy", "internal", "store_failed"]);

export class SekimoriError extends Error {
  constructor(code, message, { status = 0, type = "", path, details, retryAfter } = {}) {
    super(`${code}${path ? ` at ${path}` : ""}: ${message}`);
    this.name = "SekimoriError";
    this.code = code;
    this.status = status;
    this.type = type;
    this.path = path;
    this.details = details;
    this.retryAfter = retryAfter;
  }
  static fromBody(body, status = 0, retryAfter) {
    const e = (body && body.error) || {};
    return new SekimoriError(String(e.code ?? "unknown"), String(e.message ?? ""), {
      status,
      type: e.type ?? "",
      path: e.path,
      details: e.details,
      retryAfter,
    });
  }
  get retryable() {
    return RETRYABLE.has(this.code);
  }
}

/** Now, UTC with milliseconds. */
export function nowRfc3339() {
  return new Date().toISOString();
}

const SECRET_WORDS = new Set(["password", "passwd", "pwd", "pin", "otp", "passcode", "secret", "seed", "cvv", "cvc", "mnemonic"]);

function words(name) {
  return name
    .split(/[_\-\s.]+|(?<=[a-z])(?=[A-Z])/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** A secret never goes into an event: send `secret_fp`. Refused here before it leaves the process. */
function refuseSecrets(obj, path = "") {
  for (const [k, v] of Object.entries(obj)) {
    const here = path ? `${path}.${k}` : k;
    if (k !== "secret_fp" && k !== "secret_common" && words(k).some((w) => SECRET_WORDS.has(w))) {
      throw new SekimoriError("secret_in_clear", "send only the keyed fingerprint secret_fp", { path: here });
    }
    if (v && typeof v === "object" && !Array.isArray(v)) refuseSecrets(v, here);
  }
}

function dropUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Client {
  #key;
  constructor(baseUrl, apiKey, { retries = 3, backoffMs = 200, maxBackoffMs = 5000, timeoutMs = 10000, fetch: f } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#key = apiKey;
    this.retries = retries;
    this.backoffMs = backoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.timeoutMs = timeoutMs;
    this.fetch = f ?? globalThis.fetch.bind(globalThis);
  }

  toJSON() {
    return { baseUrl: this.baseUrl };
  }

  async request(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await this.fetch(this.baseUrl + path, {
          method: method.toUpperCase(),
          headers: {
            authorization: `Bearer ${this.#key}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        if (attempt >= this.retries) throw new SekimoriError("unavailable", `no answer from the server: ${e}`);
        await this.#wait(attempt);
        continue;
      }
      const type = r.headers.get("content-type") ?? "";
      if (r.ok) return type.startsWith("application/json") ? r.json() : r.text();
      const ra = r.headers.get("retry-after");
      const retryAfter = ra === null || Number.isNaN(Number(ra)) ? undefined : Number(ra);
      let err;
      try {
        err = SekimoriError.fromBody(await r.json(), r.status, retryAfter);
      } catch {
        err = new SekimoriError("unknown", `HTTP ${r.status}`, { status: r.status });
      }
      if (err.retryable && attempt < this.retries) {
        await this.#wait(attempt, retryAfter);
        continue;
      }
      throw err;
    }
  }

  async #wait(attempt, retryAfterS) {
    const ms =
      retryAfterS !== undefined
        ? Math.min(retryAfterS * 1000, this.maxBackoffMs)
        : Math.min(this.backoffMs * 2 ** attempt, this.maxBackoffMs) * (0.5 + Math.random() / 2);
    await sleep(ms);
  }

  /** POST /v1/events, retried with the same id (idempotent on service and id). */
  async sendEvent(event) {
    refuseSecrets(event);
    return this.request("post", "/v1/events", event);
  }

  /** POST /v1/events/batch: `answers[i]` is an answer or the SekimoriError refusing event i. */
  async sendBatch(events) {
    if (events.length > 1000) throw new RangeError("at most 1000 events a batch: split it");
    events.forEach((e) => refuseSecrets(e));
    const a = await this.request("post", "/v1/events/batch", { events });
    return {
      accepted: a.accepted,
      rejected: a.rejected,
      answers: a.results.map((r) => ("error" in r ? SekimoriError.fromBody(r) : r)),
    };
  }

  decision(eventId, service) {
    const q = service ? `?service=${encodeURIComponent(service)}` : "";
    return this.request("get", `/v1/decisions/${encodeURIComponent(eventId)}${q}`);
  }

  enrollTotp(service, account, { at, proofEvent } = {}) {
    return this.request("post", "/v1/stepup/totp/enroll", dropUndefined({ service, account, at: at ?? nowRfc3339(), proof_event: proofEvent }));
  }

  enrollOcra(service, account, { at, proofEvent } = {}) {
    return this.request("post", "/v1/stepup/ocra/enroll", dropUndefined({ service, account, at: at ?? nowRfc3339(), proof_event: proofEvent }));
  }

  txChallenge(service, account, transaction, { forEvent, at } = {}) {
    return this.request("post", "/v1/stepup/tx/challenge", dropUndefined({ service, account, at: at ?? nowRfc3339(), transaction, for_event: forEvent }));
  }

  passkeyRegisterStart(service, account, userName, { at, proofEvent } = {}) {
    return this.request("post", "/v1/stepup/webauthn/register/start", dropUndefined({ service, account, user_name: userName, at: at ?? nowRfc3339(), proof_event: proofEvent }));
  }

  passkeyRegisterFinish(service, account, ceremonyId, credential, { at } = {}) {
    return this.request("post", "/v1/stepup/webauthn/register/finish", { service, account, ceremony_id: ceremonyId, credential, at: at ?? nowRfc3339() });
  }

  passkeyAuthStart(service, account, { transaction, at } = {}) {
    return this.request("post", "/v1/stepup/webauthn/auth/start", dropUndefined({ service, account, at: at ?? nowRfc3339(), transaction }));
  }

  sendCode(service, account, channel, { actor, at } = {}) {
    return this.request("post", "/v1/stepup/otp/send", dropUndefined({ service, account, channel, actor, at: at ?? nowRfc3339() }));
  }

  /** POST /v1/stepup/verify: `result` success or failure (with `reason_code`); a failure is not an error. */
  verify(service, account, method, fields = {}) {
    return this.request("post", "/v1/stepup/verify", dropUndefined({ service, account, method, at: nowRfc3339(), ...fields }));
  }

  removeEnrollment(service, account, method, proofEvent, { at } = {}) {
    return this.request("post", "/v1/stepup/enrollments/remove", { service, account, method, proof_event: proofEvent, at: at ?? nowRfc3339() });
  }

  checkSecret(body) {
    return this.request("post", "/v1/secrets/check", body);
  }

  async healthy() {
    try {
      return (await this.request("get", "/readyz")).status === "ready";
    } catch {
      return false;
    }
  }
}
