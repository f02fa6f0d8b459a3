// tests/conformance/sdk/server.mjs — starts the lgserve binary (LGSERVE_BIN) on a free loopback
// port with a throwaway data directory for one test file, and stops it by PID afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts a server; resolves to { url, stop() }. Rejects (with the log path) if /ok never answers.
export async function startServer({ args = [], env = {} } = {}) {
  const bin = process.env.LGSERVE_BIN ?? new URL("../../../build/lgserve", import.meta.url).pathname;
  const dataDir = mkdtempSync(join(tmpdir(), "lgserve-sdk-"));
  const logPath = `${dataDir}.log`;
  const port = await freePort();
  const log = openSync(logPath, "a");
  const child = spawn(bin, ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/ok`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`lgserve did not start; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(logPath, { force: true });
    },
  };
}
