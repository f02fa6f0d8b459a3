// tests/conformance/sdk/auth.test.mjs — the official JS SDK with two users against lgserve in JWT
// mode (SUPABASE_JWT_SECRET; HS256 tokens minted here with node:crypto), running the `agent`
// graph on bench/mock_llm. User B, through the SDK, gets 404 for user A's assistants, threads
// and runs (and cannot create over A's ids: 409), sees none of them in searches and counts, and
// changes nothing; the system assistant is readable and runnable by both and changeable by
// neither (403); store items and namespaces are per user; metadata.owner is the caller whatever
// the client sends; the graph sees the caller (checkpoint metadata); no token is echoed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";
import { startMock, startServer } from "./server.mjs";

const SECRET = "sdk-auth-test-secret-5b1e0c7d9a";
const human = (content) => ({ messages: [{ role: "user", content }] });
let server;
let mock;
let tokens;
let a;
let b;
let anon;
let sysId;

// An HS256 JWT for `sub` as Supabase issues them, valid for an hour.
function mint(sub) {
  const enc = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub, email: `${sub}@example.com`, aud: "authenticated", role: "authenticated", iat: now, exp: now + 3600 })}`;
  return `${head}.${createHmac("sha256", SECRET).update(head).digest("base64url")}`;
}

const clientFor = (token) =>
  new Client({
    apiUrl: server.url,
    callerOptions: { maxRetries: 0 },
    defaultHeaders: token ? { Authorization: `Bearer ${token}` } : {},
  });

// Asserts that `fn` rejects with HTTP `status`.
async function rejectsWith(status, fn) {
  await assert.rejects(fn, (err) => {
    assert.equal(err.status, status, `expected ${status}, got ${err.status}: ${err.message}`);
    return true;
  });
}

// Asserts no token appears in `value` (serialised).
function noToken(value) {
  const text = JSON.stringify(value);
  for (const t of Object.values(tokens)) {
    assert.ok(!text.includes(t), "a bearer token is echoed");
    assert.ok(!text.includes(t.split(".")[2]), "a token signature is echoed");
  }
}

before(async () => {
  mock = await startMock();
  server = await startServer({
    env: { SUPABASE_JWT_SECRET: SECRET, OPENAI_BASE_URL: mock.url, OPENAI_API_KEY: "test-key" },
  });
  tokens = { a: mint("sdk-user-a"), b: mint("sdk-user-b") };
  a = clientFor(tokens.a);
  b = clientFor(tokens.b);
  anon = clientFor(null);
  const [sys] = await a.assistants.search({ graphId: "agent", metadata: { created_by: "system" } });
  sysId = sys.assistant_id;
});

after(async () => {
  await server?.stop();
  await mock?.stop();
});

test("without a token the SDK gets 401", async () => {
  await rejectsWith(401, () => anon.threads.search());
  await rejectsWith(401, () => anon.assistants.get(sysId));
});

test("assistants: B cannot see, change or run A's; owner is the caller whatever is sent", async () => {
  const mine = await a.assistants.create({ graphId: "agent", name: "a-private", metadata: { owner: "sdk-user-b", suite: "sdk-asst" } });
  assert.equal(mine.metadata.owner, "sdk-user-a");
  const id = mine.assistant_id;
  await rejectsWith(404, () => b.assistants.get(id));
  await rejectsWith(404, () => b.assistants.update(id, { name: "stolen" }));
  await rejectsWith(404, () => b.assistants.delete(id));
  await rejectsWith(404, () => b.assistants.getVersions(id));
  await rejectsWith(404, () => b.assistants.setLatest(id, 1));
  await rejectsWith(404, () => b.assistants.getGraph(id));
  await rejectsWith(404, () => b.assistants.getSchemas(id));
  await rejectsWith(409, () => b.assistants.create({ graphId: "agent", assistantId: id }));
  await rejectsWith(409, () => b.assistants.create({ graphId: "agent", assistantId: id, ifExists: "do_nothing" }));
  await rejectsWith(404, () => b.runs.wait(null, id, { input: human("b") }));
  assert.deepEqual(await b.assistants.search({ metadata: { suite: "sdk-asst" } }), []);
  assert.equal(await b.assistants.count({ metadata: { suite: "sdk-asst" } }), 0);

  const again = await a.assistants.get(id);
  assert.equal(again.name, "a-private");
  assert.equal(again.version, 1);
  const patched = await a.assistants.update(id, { metadata: { owner: "sdk-user-b" } });
  assert.equal(patched.metadata.owner, "sdk-user-a");
  assert.equal((await a.assistants.search({ metadata: { suite: "sdk-asst" } })).length, 1);
});

test("the system assistant: both read, search and run it; neither changes it (403)", async () => {
  const before = await a.assistants.get(sysId);
  for (const c of [a, b]) {
    assert.equal((await c.assistants.get(sysId)).metadata.created_by, "system");
    assert.ok((await c.assistants.search({ graphId: "agent", limit: 100 })).some((x) => x.assistant_id === sysId));
    await rejectsWith(403, () => c.assistants.update(sysId, { name: "mine" }));
    await rejectsWith(403, () => c.assistants.delete(sysId));
    const values = await c.runs.wait(null, "agent", { input: human("hello system") });
    assert.equal(values.messages.at(-1).type, "ai");
    noToken(values);
  }
  assert.deepEqual(await b.assistants.get(sysId), before);
});

test("threads and runs: B gets 404 everywhere on A's, A sees nothing changed", async () => {
  const thread = await a.threads.create({ metadata: { owner: "sdk-user-b", suite: "sdk-thr" } });
  assert.equal(thread.metadata.owner, "sdk-user-a");
  const tid = thread.thread_id;
  const values = await a.runs.wait(tid, "agent", { input: human("hello") });
  assert.equal(values.messages.length, 2);
  noToken(values);
  const [run] = await a.runs.list(tid);
  assert.equal(run.status, "success");
  assert.equal(run.metadata.owner, "sdk-user-a");
  noToken(run);
  const history = await a.threads.getHistory(tid);
  noToken(history);
  assert.ok(history.length >= 2);
  for (const state of history) {
    assert.equal(state.metadata.user_id, "sdk-user-a");
    assert.equal(state.metadata.langgraph_auth_user_id, "sdk-user-a");
    assert.equal(state.metadata["x-supabase-access-token"], undefined);
  }
  const threadBefore = await a.threads.get(tid);
  noToken(threadBefore);
  noToken(await a.threads.getState(tid));

  await rejectsWith(404, () => b.threads.get(tid));
  await rejectsWith(404, () => b.threads.update(tid, { metadata: { x: 1 } }));
  await rejectsWith(404, () => b.threads.delete(tid));
  await rejectsWith(404, () => b.threads.copy(tid));
  await rejectsWith(404, () => b.threads.getState(tid));
  await rejectsWith(404, () => b.threads.getHistory(tid));
  await rejectsWith(404, () => b.threads.updateState(tid, { values: { messages: [] } }));
  await rejectsWith(404, () => b.threads.patchState(tid, { x: 1 }));
  await rejectsWith(409, () => b.threads.create({ threadId: tid }));
  await rejectsWith(409, () => b.threads.create({ threadId: tid, ifExists: "do_nothing" }));
  assert.deepEqual(await b.threads.search({ metadata: { suite: "sdk-thr" } }), []);
  assert.equal(await b.threads.count({ metadata: { suite: "sdk-thr" } }), 0);

  await rejectsWith(404, () => b.runs.list(tid));
  await rejectsWith(404, () => b.runs.get(tid, run.run_id));
  await rejectsWith(404, () => b.runs.join(tid, run.run_id));
  await rejectsWith(404, () => b.runs.cancel(tid, run.run_id));
  await rejectsWith(404, () => b.runs.delete(tid, run.run_id));
  await rejectsWith(404, () => b.runs.create(tid, "agent", { input: human("b") }));
  await rejectsWith(404, () => b.runs.wait(tid, "agent", { input: human("b"), ifNotExists: "create" }));
  await rejectsWith(404, async () => {
    for await (const part of b.runs.joinStream(tid, run.run_id)) assert.fail(`got ${part.event}`);
  });
  await rejectsWith(404, async () => {
    for await (const part of b.runs.stream(tid, "agent", { input: human("b") })) assert.fail(`got ${part.event}`);
  });

  assert.deepEqual(await a.threads.get(tid), threadBefore);
  assert.deepEqual(await a.threads.getHistory(tid), history);
  assert.equal((await a.runs.list(tid)).length, 1);
});

test("store: items and namespaces are per user, namespaces as written", async () => {
  await a.store.putItem(["sdk-prefs", "ui"], "theme", { v: "a" });
  assert.equal(await b.store.getItem(["sdk-prefs", "ui"], "theme"), null);
  assert.deepEqual((await b.store.searchItems(["sdk-prefs"])).items, []);
  assert.deepEqual((await b.store.listNamespaces()).namespaces, []);
  await b.store.deleteItem(["sdk-prefs", "ui"], "theme");
  await b.store.putItem(["sdk-prefs", "ui"], "theme", { v: "b" });

  assert.deepEqual((await a.store.getItem(["sdk-prefs", "ui"], "theme")).value, { v: "a" });
  assert.deepEqual((await a.store.listNamespaces()).namespaces, [["sdk-prefs", "ui"]]);
  const found = await a.store.searchItems(["sdk-prefs"]);
  assert.deepEqual(found.items.map((i) => [i.namespace, i.value]), [[["sdk-prefs", "ui"], { v: "a" }]]);
  assert.deepEqual((await b.store.getItem(["sdk-prefs", "ui"], "theme")).value, { v: "b" });
});
