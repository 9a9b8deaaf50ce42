// Types of src/*.js (the shapes follow openapi.json); checked by tsc
// (`npx -p typescript tsc -p clients/typescript/tsconfig.json`, in CI) over
// test/types-example.ts.

export type Json = { [key: string]: unknown };

/** One of the engine's actions, in increasing severity. */
export type Action = "allow" | "challenge" | "review" | "deny" | "freeze" | "halt";
export type MfaMethod = "totp" | "txsign" | "webauthn" | "sms" | "email" | "push";

export interface Reason {
  rule: string;
  action: Action | "flag";
  score?: number;
  reason: string;
  shadow?: boolean;
  methods?: MfaMethod[];
  hold?: { service?: string; scope: "account" | "service" | "asset" | "wallet" | "bank"; key: string };
}

export interface Decision {
  event_id: string;
  event_type: string;
  at: string;
  action: Action;
  methods?: MfaMethod[];
  score: number;
  reasons: Reason[];
  features: { [name: string]: unknown };
  pack: { name: string; version: string };
  late?: boolean;
  errors?: { source: string; error: string }[];
}

/** The answer to one event. */
export interface Answer {
  decision: Decision;
  duplicate: boolean;
  durable: boolean;
  degraded?: "time_budget_exceeded" | "not_yet_durable";
}

/** A payment: minor units, canonical currency and payee; the payer is the account. */
export interface TxBody {
  amount_minor: number;
  currency: string;
  payee: string;
}

export interface Transaction {
  account: string;
  amount_minor: number | bigint;
  currency: string;
  payee: string;
}

/** Every operation of openapi.json: {client method: [method, path]} (test/contract.test.js). */
export declare const OPERATIONS: Readonly<{ [method in OperationMethod]: readonly [string, string] }>;
export declare const RETRYABLE: ReadonlySet<string>;
export declare function nowRfc3339(): string;

/** An error answer: the stable `code` (docs/errors.md) and the field's `path`. */
export declare class SekimoriError extends Error {
  constructor(code: string, message: string, opts?: { status?: number; type?: string; path?: string; details?: unknown; retryAfter?: number });
  readonly code: string;
  readonly status: number;
  readonly type: string;
  readonly path?: string;
  readonly details?: unknown;
  readonly retryAfter?: number;
  readonly retryable: boolean;
  static fromBody(body: unknown, status?: number, retryAfter?: number): SekimoriError;
}

export interface BatchResult {
  accepted: number;
  rejected: number;
  /** `answers[i]` is event i's answer, or the error refusing it (`path` starts `events[i]`). */
  answers: (Answer | SekimoriError)[];
}

export interface ClientOptions {
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

export interface TxChallenge {
  challenge_id: string;
  question: string;
  suite: string;
  expires_at: string;
  transaction: TxBody;
  for_event?: string;
}

export interface Enrolled {
  account: string;
  method: "totp" | "txsign";
  otpauth_uri?: string;
  device_key_hex?: string;
  suite?: string;
  enrolled: boolean;
  event_id: string;
  decision: Decision;
  durable: boolean;
}

export interface Verified {
  result: "success" | "failure";
  reason_code?: string;
  method: MfaMethod;
  strong: boolean;
  challenge_id: string;
  event_id: string;
  decision: Decision;
  durable: boolean;
}

export interface Ceremony {
  ceremony_id: string;
  options: Json;
  expires_at: string;
  transaction?: TxBody;
}

export declare class Client {
  constructor(baseUrl: string, apiKey: string, options?: ClientOptions);
  readonly baseUrl: string;
  retries: number;
  request(method: string, path: string, body?: Json): Promise<any>;
  sendEvent(event: Json): Promise<Answer>;
  sendBatch(events: Json[]): Promise<BatchResult>;
  eventsStream(events: Iterable<Json>, opts?: { window?: number }): AsyncGenerator<Answer | SekimoriError, void, undefined>;
  decision(eventId: string, service?: string): Promise<{ decision: Decision; durable: boolean }>;
  enrollTotp(service: string, account: string, opts?: { at?: string; proofEvent?: string }): Promise<Enrolled>;
  enrollOcra(service: string, account: string, opts?: { at?: string; proofEvent?: string }): Promise<Enrolled>;
  txChallenge(service: string, account: string, transaction: TxBody, opts?: { forEvent?: string; at?: string }): Promise<TxChallenge>;
  passkeyRegisterStart(service: string, account: string, userName: string, opts?: { at?: string; proofEvent?: string }): Promise<Ceremony>;
  passkeyRegisterFinish(service: string, account: string, ceremonyId: string, credential: Json, opts?: { at?: string }): Promise<Json>;
  passkeyAuthStart(service: string, account: string, opts?: { transaction?: TxBody; at?: string }): Promise<Ceremony>;
  sendCode(service: string, account: string, channel: "sms" | "email", opts?: { actor?: Json; at?: string }): Promise<Json>;
  verify(
    service: string,
    account: string,
    method: Exclude<MfaMethod, "push">,
    fields?: { challenge_id?: string; code?: string; credential?: Json; transaction?: TxBody; actor?: Json; for_event?: string; at?: string },
  ): Promise<Verified>;
  removeEnrollment(service: string, account: string, method: "totp" | "txsign" | "webauthn", proofEvent: string, opts?: { at?: string }): Promise<Json>;
  resetEnrollment(service: string, account: string, reason: string, opts?: { remove?: ("totp" | "ocra" | "webauthn")[]; at?: string }): Promise<Json>;
  validatePack(source: Json): Promise<Json>;
  publishPack(source: Json): Promise<Json>;
  packHistory(): Promise<Json>;
  currentPack(): Promise<Json>;
  reloadPack(): Promise<Json>;
  lists(): Promise<Json>;
  getList(name: string): Promise<Json>;
  putList(name: string, items: string[]): Promise<Json>;
  holds(): Promise<Json>;
  placeHold(scope: HoldScope, key: string, action: "freeze" | "halt", reason: string, opts?: { service?: string }): Promise<Json>;
  liftHold(scope: HoldScope, key: string, reason: string, opts?: { service?: string }): Promise<Json>;
  checkSecret(body: Json): Promise<Json>;
  secretRange(prefix: string): Promise<string>;
  label(service: string, eventId: string, label: ServiceLabel, note?: string): Promise<{ service: string; event_id: string; label: ServiceLabel }>;
  signInAnalyst(login: string, password: string, code: string): Promise<AnalystSession>;
  passkeySignInStart(login?: string): Promise<{ ceremony: string; options: Json }>;
  passkeySignInFinish(ceremony: string, credential: Json): Promise<AnalystSession>;
  alive(): Promise<boolean>;
  healthy(): Promise<boolean>;
  metrics(): Promise<string>;
  openapi(): Promise<Json>;
  clusterStatus(): Promise<ClusterStatus>;
}

export type HoldScope = "account" | "service" | "asset" | "wallet" | "bank";
export type ServiceLabel = "chargeback" | "dispute" | "customer_confirmed" | "customer_denied";
export type AnalystRole = "analyst" | "supervisor" | "admin";
export type Disposition = "confirmed_fraud" | "false_positive" | "legitimate" | "unable_to_verify";

/** GET /v1/cluster. */
export interface ClusterStatus {
  shard: string;
  node: string;
  role: "leader" | "follower";
  applied_seq: number;
  state_digest: string | null;
  log?: string;
  term?: number;
  joined_from: number | null;
}

/** POST /v1/workbench/sessions. */
export interface SignedIn {
  token: string;
  login: string;
  role: AnalystRole;
  idle_timeout_s: number;
  absolute_timeout_s: number;
}

/** One row of the review queue (GET /v1/cases). */
export interface QueueRow {
  id: number;
  priority: number;
  service: string;
  entity: string;
  family: "access" | "money" | "custody" | "report";
  action: Action;
  money_at_risk: { [currency: string]: number };
  score: number;
  opened_at: string;
  claimed_by_me: boolean;
  events: number;
}

export interface Analyst {
  login: string;
  role: AnalystRole;
  created_at: string;
  created_by: string;
  enrolled_by?: string;
  enrolled_at?: string;
  disabled: boolean;
}

/** An analyst's session: the workbench's case API (the `ws_` token as the bearer). */
export declare class AnalystSession extends Client {
  constructor(baseUrl: string, token: string, options?: ClientOptions & { signedIn?: SignedIn });
  readonly signedIn: SignedIn;
  endAllSessions(): Promise<{ ended: number }>;
  cases(filter?: { service?: string; rule?: string; action?: Action; minAgeHours?: number; limit?: number }): Promise<{ cases: QueueRow[]; open: number }>;
  nextCase(): Promise<number | null>;
  case(id: number): Promise<Json>;
  claim(id: number): Promise<{ case: number; claimed_by: string }>;
  release(id: number): Promise<{ case: number }>;
  note(id: number, note: string): Promise<{ case: number }>;
  decide(id: number, eventId: string, outcome: "approve" | "decline", reason: string): Promise<{ case: number; event_id: string; outcome: "approve" | "decline" }>;
  closeCase(id: number, disposition: Disposition, note: string): Promise<{ case: number; disposition: Disposition }>;
  caseHolds(id: number): Promise<Json>;
  holdFromCase(id: number, scope: HoldScope, key: string, reason: string): Promise<Json>;
  liftFromCase(id: number, scope: HoldScope, key: string, reason: string, opts?: { service?: string }): Promise<Json>;
  listFromCase(id: number, list: string, item: string, expiresInHours: number, reason: string): Promise<Json>;
  bulk(cases: number[], action: "claim" | "release" | "close", opts?: { disposition?: Disposition; note?: string }): Promise<Json>;
  search(q: string, opts?: { kind?: "event" | "account" | "device" | "ip" | "payee"; limit?: number }): Promise<Json>;
  quality(from: string, to: string, opts?: { service?: string; candidate?: string }): Promise<Json>;
  analysts(): Promise<{ analysts: Analyst[] }>;
  createAnalyst(login: string, role: AnalystRole, password: string): Promise<{ analyst: Analyst; otpauth_uri: string }>;
  disableAnalyst(login: string): Promise<Json>;
  enableAnalyst(login: string): Promise<Json>;
  resetAnalyst(login: string, password: string): Promise<Json>;
  passkeys(): Promise<{ passkeys: { id: string; name: string; created_at: string }[] }>;
  passkeyRegisterAnalystStart(name?: string): Promise<{ ceremony: string; options: Json }>;
  passkeyRegisterAnalystFinish(ceremony: string, credential: Json): Promise<{ passkey: { id: string; name: string; created_at: string } }>;
  removePasskeys(login: string, id?: string): Promise<{ removed: number }>;
}

/** The client methods, one per operation of openapi.json. */
export type OperationMethod =
  | "alive" | "healthy" | "metrics" | "openapi" | "clusterStatus"
  | "sendEvent" | "sendBatch" | "eventsStream" | "decision"
  | "validatePack" | "publishPack" | "packHistory" | "currentPack" | "reloadPack"
  | "lists" | "getList" | "putList" | "holds" | "placeHold" | "liftHold"
  | "enrollTotp" | "enrollOcra" | "txChallenge" | "passkeyRegisterStart" | "passkeyRegisterFinish"
  | "passkeyAuthStart" | "sendCode" | "verify" | "removeEnrollment" | "resetEnrollment"
  | "checkSecret" | "secretRange" | "label" | "signInAnalyst" | "endAllSessions"
  | "cases" | "nextCase" | "case" | "claim" | "release" | "note" | "decide" | "closeCase"
  | "caseHolds" | "holdFromCase" | "liftFromCase" | "listFromCase" | "bulk" | "search" | "quality"
  | "analysts" | "createAnalyst" | "disableAnalyst" | "enableAnalyst" | "resetAnalyst"
  | "passkeySignInStart" | "passkeySignInFinish" | "passkeys" | "passkeyRegisterAnalystStart"
  | "passkeyRegisterAnalystFinish" | "removePasskeys";

export declare const TX_OCRA_SUITE: "OCRA-1:HOTP-SHA256-8:QH64";
export type KeyBytes = Uint8Array | ArrayBuffer | string;

/** `<keyId>:<64 hex>`: HMAC-SHA256 of the exact secret typed, UTF-8. */
export declare function secretFingerprint(key: KeyBytes, keyId: string, secret: string): Promise<string>;

export declare class FingerprintKeys {
  constructor(keys: { [keyId: string]: KeyBytes }, current: string);
  current: string;
  rotate(keyId: string, key: KeyBytes): void;
  fingerprint(secret: string, keyId?: string): Promise<string>;
}

export declare function transactionBytes(tx: Transaction): Uint8Array;
export declare function transactionDigest(tx: Transaction): Promise<Uint8Array>;
/** The 64-hex-digit OCRA question a device recomputes from what it shows. */
export declare function txQuestion(tx: Transaction, challengeId: string): Promise<string>;
/** OCRA-1:HOTP-SHA256-8:QH64: the 8-digit response. */
export declare function ocraResponse(deviceKey: string | Uint8Array, question: string): Promise<string>;
export declare function webauthnTxChallenge(tx: Transaction, nonceHex: string): Promise<Uint8Array>;

export declare class WebhookError extends Error {
  readonly reason: "malformed" | "bad_signature" | "stale";
}
export declare function signWebhook(secret: KeyBytes, t: number, body: string | Uint8Array): Promise<string>;
/** Throws WebhookError unless the header signs the raw body and is within the tolerance. */
export declare function verifyWebhook(
  secret: KeyBytes,
  header: string,
  body: string | Uint8Array,
  opts?: { toleranceS?: number; now?: number },
): Promise<void>;
export declare function toHex(bytes: Uint8Array): string;
export declare function fromHex(hex: string): Uint8Array;
