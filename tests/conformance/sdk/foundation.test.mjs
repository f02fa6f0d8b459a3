// tests/conformance/sdk/foundation.test.mjs — the official JS SDK against lgserve's foundation:
// the server answers, and an operation that is not implemented yet fails with the 501 detail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";
import { startServer } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiUrl: server.url, callerOptions: { maxRetries: 0 } });
});

after(async () => {
  await server?.stop();
});

test("GET /ok answers {ok: true}", async () => {
  const r = await fetch(`${server.url}/ok`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { ok: true });
});

test("a planned operation fails through the SDK with the 501 detail", async () => {
  await assert.rejects(
    () => client.crons.count(),
    (err) => {
      assert.equal(err.status, 501);
      assert.match(String(err.message), /POST \/runs\/crons\/count is not implemented yet/);
      return true;
    },
  );
});
