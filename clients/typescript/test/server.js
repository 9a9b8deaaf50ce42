// A live `sekimori serve` for the tests: a temporary data directory, a key of
// every scope, a random loopback port; stopped by `stop()`. The binary is
// $SEKIMORI_BIN, else target/debug/sekimori of the repository.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export function binary() {
  const b = process.env.SEKIMORI_BIN || join(ROOT, "target", "debug", "sekimori");
  return existsSync(b) ? b : null;
}

export async function startServer() {
  const bin = binary();
  const data = mkdtempSync(join(tmpdir(), "sekimori-ts-"));
  const key = execFileSync(
    bin,
    ["keys", "create", "--data", data, "--name", "ts-client", "--scopes", "ingest,read,admin,approve,custody,stepup"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  ).trim();
  const proc = spawn(bin, ["serve", "--data", data, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SEKIMORI_LOG: "info", NO_COLOR: "1" },
  });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("sekimori serve did not say where it listens")), 60000);
    proc.stderr.resume();
    proc.stdout.on("data", (chunk) => {
      buf += chunk;
      const m = buf.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", () => reject(new Error("sekimori serve exited before listening")));
  });
  return {
    url,
    key,
    binary: bin,
    data,
    async stop() {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}
