// sekimori: the JavaScript/TypeScript client (ES modules, fetch and Web
// Crypto only; types in index.d.ts).
export { Client, AnalystSession, SekimoriError, OPERATIONS, RETRYABLE, nowRfc3339 } from "./client.js";
export {
  TX_OCRA_SUITE,
  FingerprintKeys,
  WebhookError,
  secretFingerprint,
  transactionBytes,
  transactionDigest,
  txQuestion,
  ocraResponse,
  webauthnTxChallenge,
  signWebhook,
  verifyWebhook,
  toHex,
  fromHex,
} from "./crypto.js";
