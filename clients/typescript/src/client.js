// The HTTP client over fetch: events in, decisions out, step-up, secret
// checks. Every operation is one of openapi.json's (a test checks it).

// Every operation of the document (openapi.json at the repository's root,
// generated from the server's code), as {client method: [method, path]}: the
// methods of Client (an API key) and of AnalystSession (an analyst's
// session). test/contract.test.js fails when the document has an operation
// no method calls, or a method names one the document no longer has.
export const OPERATIONS = Object.freeze({
  alive: ["get", "/healthz"],
  healthy: ["get", "/readyz"],
  metrics: ["get", "/metrics"],
  openapi: ["get", "/openapi.json"],
  clusterStatus: ["get", "/v1/cluster"],
  sendEvent: ["post", "/v1/events"],
  sendBatch: ["post", "/v1/events/batch"],
  eventsStream: ["post", "/v1/events/stream"],
  decision: ["get", "/v1/decisions/{event_id}"],
  validatePack: ["post", "/v1/packs/validate"],
  publishPack: ["post", "/v1/packs"],
  packHistory: ["get", "/v1/packs"],
  currentPack: ["get", "/v1/packs/current"],
  reloadPack: ["post", "/v1/packs/reload"],
  lists: ["get", "/v1/lists"],
  getList: ["get", "/v1/lists/{name}"],
  putList: ["put", "/v1/lists/{name}"],
  holds: ["get", "/v1/holds"],
  placeHold: ["post", "/v1/holds"],
  liftHold: ["post", "/v1/holds/lift"],
  enrollTotp: ["post", "/v1/stepup/totp/enroll"],
  enrollOcra: ["post", "/v1/stepup/ocra/enroll"],
  txChallenge: ["post", "/v1/stepup/tx/challenge"],
  passkeyRegisterStart: ["post", "/v1/stepup/webauthn/register/start"],
  passkeyRegisterFinish: ["post", "/v1/stepup/webauthn/register/finish"],
  passkeyAuthStart: ["post", "/v1/stepup/webauthn/auth/start"],
  sendCode: ["post", "/v1/stepup/otp/send"],
  verify: ["post", "/v1/stepup/verify"],
  removeEnrollment: ["post", "/v1/stepup/enrollments/remove"],
  resetEnrollment: ["post", "/v1/stepup/enrollments/reset"],
  checkSecret: ["post", "/v1/secrets/check"],
  secretRange: ["get", "/v1/secrets/range/{prefix}"],
  label: ["post", "/v1/labels"],
  signInAnalyst: ["post", "/v1/workbench/sessions"],
  endAllSessions: ["post", "/v1/workbench/sessions/end-all"],
  cases: ["get", "/v1/cases"],
  nextCase: ["post", "/v1/cases/next"],
  case: ["get", "/v1/cases/{id}"],
  claim: ["post", "/v1/cases/{id}/claim"],
  release: ["post", "/v1/cases/{id}/release"],
  note: ["post", "/v1/cases/{id}/notes"],
  decide: ["post", "/v1/cases/{id}/decide"],
  closeCase: ["post", "/v1/cases/{id}/close"],
  caseHolds: ["get", "/v1/cases/{id}/holds"],
  holdFromCase: ["post", "/v1/cases/{id}/holds"],
  liftFromCase: ["post", "/v1/cases/{id}/holds/lift"],
  listFromCase: ["post", "/v1/cases/{id}/lists"],
  bulk: ["post", "/v1/cases/bulk"],
  search: ["get", "/v1/search"],
  quality: ["get", "/v1/quality"],
  analysts: ["get", "/v1/analysts"],
  createAnalyst: ["post", "/v1/analysts"],
  disableAnalyst: ["post", "/v1/analysts/{login}/disable"],
  enableAnalyst: ["post", "/v1/analysts/{login}/enable"],
  resetAnalyst: ["post", "/v1/analysts/{login}/reset"],
  // analysts' passkeys: sign-in (no session yet), then with a session
  passkeySignInStart: ["post", "/v1/workbench/passkeys/sign-in/start"],
  passkeySignInFinish: ["post", "/v1/workbench/passkeys/sign-in/finish"],
  passkeys: ["get", "/v1/workbench/passkeys"],
  passkeyRegisterAnalystStart: ["post", "/v1/workbench/passkeys/register/start"],
  passkeyRegisterAnalystFinish: ["post", "/v1/workbench/passkeys/register/finish"],
  removePasskeys: ["post", "/v1/workbench/passkeys/remove"],
});

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
  /**
   * POST /v1/events/stream, the high-rate path: the events as
   * newline-delimited JSON, at most `window` (1 to 1,024, the server's
   * in-flight bound) a request; yields one result per event, in order, as
   * they come: its answer (durable before it is sent), or a SekimoriError
   * with the code and path a single event would get. Nothing is retried
   * here: send the events of retryable errors (engine_busy) again, same ids.
   */
  async *eventsStream(events, { window = 1000 } = {}) {
    if (!(window >= 1 && window <= 1024)) throw new RangeError("window is 1 to 1024 events");
    let chunk = [];
    for (const e of events) {
      refuseSecrets(e);
      chunk.push(e);
      if (chunk.length === window) {
        yield* this.#streamWindow("post", "/v1/events/stream", chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) yield* this.#streamWindow("post", "/v1/events/stream", chunk);
  }

  async *#streamWindow(method, path, events) {
    const r = await this.fetch(this.baseUrl + path, {
      method: method.toUpperCase(),
      headers: { authorization: `Bearer ${this.#key}`, "content-type": "application/x-ndjson" },
      body: events.map((e) => JSON.stringify(e) + "\n").join(""),
    });
    if (!r.ok) {
      const ra = r.headers.get("retry-after");
      throw SekimoriError.fromBody(await r.json(), r.status, ra === null ? undefined : Number(ra));
    }
    const decoder = new TextDecoder();
    let rest = "";
    let answered = 0;
    const item = (line) => {
      const v = JSON.parse(line);
      answered += 1;
      return "error" in v ? SekimoriError.fromBody(v) : v;
    };
    for await (const bytes of r.body) {
      rest += decoder.decode(bytes, { stream: true });
      let at;
      while ((at = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, at);
        rest = rest.slice(at + 1);
        if (line.trim() !== "") yield item(line);
      }
    }
    if (rest.trim() !== "") yield item(rest);
    if (answered !== events.length) {
      throw new SekimoriError("unavailable", `the stream ended after ${answered} of ${events.length} answers`);
    }
  }

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

  /** POST /v1/stepup/enrollments/reset (admin key): resets the TOTP throttle, removes the enrollments named. */
  resetEnrollment(service, account, reason, { remove, at } = {}) {
    return this.request("post", "/v1/stepup/enrollments/reset", dropUndefined({ service, account, reason, remove, at: at ?? nowRfc3339() }));
  }

  validatePack(source) {
    return this.request("post", "/v1/packs/validate", source);
  }

  publishPack(source) {
    return this.request("post", "/v1/packs", source);
  }

  packHistory() {
    return this.request("get", "/v1/packs");
  }

  currentPack() {
    return this.request("get", "/v1/packs/current");
  }

  reloadPack() {
    return this.request("post", "/v1/packs/reload");
  }

  lists() {
    return this.request("get", "/v1/lists");
  }

  getList(name) {
    return this.request("get", `/v1/lists/${encodeURIComponent(name)}`);
  }

  /** PUT /v1/lists/{name}: replaces the list's API items. */
  putList(name, items) {
    return this.request("put", `/v1/lists/${encodeURIComponent(name)}`, { items });
  }

  holds() {
    return this.request("get", "/v1/holds");
  }

  /** POST /v1/holds: a freeze (account) or halt (service, asset, wallet, bank). */
  placeHold(scope, key, action, reason, { service } = {}) {
    return this.request("post", "/v1/holds", { hold: dropUndefined({ scope, key, service }), action, reason });
  }

  liftHold(scope, key, reason, { service } = {}) {
    return this.request("post", "/v1/holds/lift", { hold: dropUndefined({ scope, key, service }), reason });
  }

  checkSecret(body) {
    return this.request("post", "/v1/secrets/check", body);
  }

  /** GET /v1/secrets/range/{prefix}: HIBP `SUFFIX:COUNT` lines. */
  secretRange(prefix) {
    return this.request("get", `/v1/secrets/range/${encodeURIComponent(prefix)}`);
  }

  /** POST /v1/labels: chargeback, dispute, customer_confirmed or customer_denied. */
  label(service, eventId, label, note = "") {
    return this.request("post", "/v1/labels", { service, event_id: eventId, label, note });
  }

  /** POST /v1/workbench/sessions: an analyst's session for the case API. */
  /** Starts a passkey sign-in: { ceremony, options } for navigator.credentials.get(); without login, discoverable passkeys. */
  passkeySignInStart(login) {
    return this.request("post", "/v1/workbench/passkeys/sign-in/start", login === undefined ? {} : { login });
  }

  /** An analyst's session from a passkey assertion (the ceremony is used once). */
  async passkeySignInFinish(ceremony, credential) {
    const a = await this.request("post", "/v1/workbench/passkeys/sign-in/finish", { ceremony, credential });
    return new AnalystSession(this.baseUrl, a.token, { signedIn: a, fetch: this.fetch, timeoutMs: this.timeoutMs });
  }

  async signInAnalyst(login, password, code) {
    const a = await this.request("post", "/v1/workbench/sessions", { login, password, code });
    return new AnalystSession(this.baseUrl, a.token, { signedIn: a, fetch: this.fetch, timeoutMs: this.timeoutMs });
  }

  async alive() {
    try {
      return (await this.request("get", "/healthz")).status === "ok";
    } catch {
      return false;
    }
  }

  async healthy() {
    try {
      return (await this.request("get", "/readyz")).status === "ready";
    } catch {
      return false;
    }
  }

  /** GET /metrics: Prometheus text. */
  metrics() {
    return this.request("get", "/metrics");
  }

  /** GET /openapi.json: the document this client follows. */
  openapi() {
    return this.request("get", "/openapi.json");
  }

  /** GET /v1/cluster: a cluster node's state (404 not_found from a server that is not one). */
  clusterStatus() {
    return this.request("get", "/v1/cluster");
  }
}

function query(params) {
  const q = new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  return q ? `?${q}` : "";
}

const caseId = (id) => {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError("a case id is a whole number");
  return id;
};

/** An analyst's session (the `ws_` token as the bearer): the workbench's case API. */
export class AnalystSession extends Client {
  constructor(baseUrl, token, { signedIn = {}, ...options } = {}) {
    super(baseUrl, token, { retries: 0, ...options });
    this.signedIn = signedIn;
  }

  toJSON() {
    return { baseUrl: this.baseUrl, login: this.signedIn.login };
  }

  endAllSessions() {
    return this.request("post", "/v1/workbench/sessions/end-all");
  }

  /** The review queue: `{cases, open}`. */
  cases({ service, rule, action, minAgeHours, limit } = {}) {
    return this.request("get", `/v1/cases${query({ service, rule, action, min_age_hours: minAgeHours, limit })}`);
  }

  /** Claims the next case; null when the queue is empty. */
  async nextCase() {
    return (await this.request("post", "/v1/cases/next")).case;
  }

  case(id) {
    return this.request("get", `/v1/cases/${caseId(id)}`);
  }

  claim(id) {
    return this.request("post", `/v1/cases/${caseId(id)}/claim`);
  }

  release(id) {
    return this.request("post", `/v1/cases/${caseId(id)}/release`);
  }

  note(id, note) {
    return this.request("post", `/v1/cases/${caseId(id)}/notes`, { note });
  }

  /** `outcome` approve (a supervisor; released at the second) or decline. */
  decide(id, eventId, outcome, reason) {
    return this.request("post", `/v1/cases/${caseId(id)}/decide`, { event_id: eventId, outcome, reason });
  }

  closeCase(id, disposition, note) {
    return this.request("post", `/v1/cases/${caseId(id)}/close`, { disposition, note });
  }

  caseHolds(id) {
    return this.request("get", `/v1/cases/${caseId(id)}/holds`);
  }

  holdFromCase(id, scope, key, reason) {
    return this.request("post", `/v1/cases/${caseId(id)}/holds`, { scope, key, reason });
  }

  liftFromCase(id, scope, key, reason, { service } = {}) {
    return this.request("post", `/v1/cases/${caseId(id)}/holds/lift`, dropUndefined({ scope, key, reason, service }));
  }

  listFromCase(id, list, item, expiresInHours, reason) {
    return this.request("post", `/v1/cases/${caseId(id)}/lists`, { list, item, expires_in_hours: expiresInHours, reason });
  }

  bulk(cases, action, { disposition, note } = {}) {
    return this.request("post", "/v1/cases/bulk", dropUndefined({ cases, action, disposition, note }));
  }

  search(q, { kind, limit } = {}) {
    return this.request("get", `/v1/search${query({ q, kind, limit })}`);
  }

  /** Rule quality over [from, to) per pack, rule and service, or for one service; a backtest with a stored candidate version (supervisors). */
  quality(from, to, { service, candidate } = {}) {
    return this.request("get", `/v1/quality${query({ from, to, service, candidate })}`);
  }

  analysts() {
    return this.request("get", "/v1/analysts");
  }

  createAnalyst(login, role, password) {
    return this.request("post", "/v1/analysts", { login, role, password });
  }

  disableAnalyst(login) {
    return this.request("post", `/v1/analysts/${encodeURIComponent(login)}/disable`);
  }

  enableAnalyst(login) {
    return this.request("post", `/v1/analysts/${encodeURIComponent(login)}/enable`);
  }

  resetAnalyst(login, password) {
    return this.request("post", `/v1/analysts/${encodeURIComponent(login)}/reset`, { password });
  }

  /** This analyst's passkeys: { passkeys: [{ id, name, created_at }] }. */
  passkeys() {
    return this.request("get", "/v1/workbench/passkeys");
  }

  /** Starts registering a passkey: { ceremony, options } for navigator.credentials.create(). */
  passkeyRegisterAnalystStart(name = "") {
    return this.request("post", "/v1/workbench/passkeys/register/start", { name });
  }

  passkeyRegisterAnalystFinish(ceremony, credential) {
    return this.request("post", "/v1/workbench/passkeys/register/finish", { ceremony, credential });
  }

  /** (Admins) removes login's passkey id, or all of them: { removed }. */
  removePasskeys(login, id) {
    return this.request("post", "/v1/workbench/passkeys/remove", id === undefined ? { login } : { login, id });
  }
}
