// A typed integration against index.d.ts, checked by tsc in CI (never run:
// test/*.test.js run the same calls against a live server). A wrong
// declaration, or one the example misuses, fails the build.
import {
  AnalystSession,
  Client,
  FingerprintKeys,
  OPERATIONS,
  SekimoriError,
  ocraResponse,
  txQuestion,
  verifyWebhook,
} from "../src/index.js";
import type { Answer, ClusterStatus, OperationMethod, QueueRow, Transaction } from "../src/index.js";

// Every operation's method is declared on AnalystSession (a Client too).
const declared: Exclude<OperationMethod, keyof AnalystSession> extends never ? true : false = true;
const ops: readonly [string, string] = OPERATIONS.sendEvent;

export async function example(url: string, key: string, webhookSecret: string): Promise<void> {
  const client = new Client(url, key, { retries: 3 });
  const keys = new FingerprintKeys({ k1: new Uint8Array(32) }, "k1");
  const answer: Answer = await client.sendEvent({
    id: "login-1",
    type: "login.attempt",
    at: new Date().toISOString(),
    service: "bank",
    account: "acct-1",
    factor: "password",
    secret_fp: await keys.fingerprint("typed password"),
    result: "success",
  });
  if (answer.decision.action === "challenge") {
    const tx: Transaction = { account: "acct-1", amount_minor: 480000n, currency: "JPY", payee: "bank:0009-456-7654321" };
    const c = await client.txChallenge("bank", "acct-1", { amount_minor: 480000, currency: "JPY", payee: tx.payee });
    const question: string = await txQuestion(tx, c.challenge_id);
    const code: string = await ocraResponse("00".repeat(32), question);
    const v = await client.verify("bank", "acct-1", "txsign", { challenge_id: c.challenge_id, code, transaction: c.transaction });
    if (v.result === "failure") console.log(v.reason_code);
  }
  const batch = await client.sendBatch([{ id: "e2" }]);
  for (const a of batch.answers) if (a instanceof SekimoriError) console.log(a.code, a.path);
  await verifyWebhook(webhookSecret, "t=1,v1=00", "{}", { toleranceS: 300 });
  const node: ClusterStatus = await client.clusterStatus();
  console.log(node.role, await client.label("bank", "login-1", "customer_denied"));

  const session: AnalystSession = await client.signInAnalyst("analyst-1", "a password of 12+", "123456");
  const rows: QueueRow[] = (await session.cases({ action: "review", limit: 10 })).cases;
  const next: number | null = await session.nextCase();
  if (next !== null) {
    await session.decide(next, "e2", "decline", "the holder denied it");
    await session.closeCase(next, "confirmed_fraud", "declined and closed");
  }
  await session.bulk(rows.map((r) => r.id), "release");
  await session.endAllSessions();
  console.log(declared, ops);
}
