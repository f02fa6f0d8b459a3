// tests/conformance/sdk/server.mjs — starts the lgserve binary (LGSERVE_BIN) on a free loopback
// port with a throwaway data directory for one test file, and stops it by PID afterwards; the same
// for bench/mock_llm (LGSERVE_MOCK_LLM), the OpenAI-compatible mock the agent graph talks to.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
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

// Starts bench/mock_llm on a free port; resolves to { url, stop() }.
export async function startMock(extra = []) {
  const bin = process.env.LGSERVE_MOCK_LLM ?? new URL("../../../build/bench/mock_llm", import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), "lgserve-mock-"));
  const portFile = join(dir, "port");
  const child = spawn(bin, ["--port", "0", "--port-file", portFile, ...extra], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!existsSync(portFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`mock_llm (${bin}) did not start`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = readFileSync(portFile, "utf8").trim();
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
