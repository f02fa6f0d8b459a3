// tests/conformance/sdk/threads.test.mjs — the official JS SDK's threads client against lgserve:
// create (with supersteps), get, update, delete, search, count, copy, prune, getState, getHistory and patchState, asserting the
// values that come back (not only that the calls succeed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";
import { startServer } from "./server.mjs";

const MISSING = "00000000-0000-4000-8000-000000000000";
let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiUrl: server.url, callerOptions: { maxRetries: 0 } });
});

after(async () => {
  await server?.stop();
});

test("threads.create and threads.get", async () => {
  const thread = await client.threads.create({ metadata: { suite: "sdk-create", n: 1 } });
  assert.match(thread.thread_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(thread.status, "idle");
  assert.deepEqual(thread.metadata, { suite: "sdk-create", n: 1 });
  assert.ok(!Number.isNaN(Date.parse(thread.created_at)));

  const got = await client.threads.get(thread.thread_id);
  assert.equal(got.thread_id, thread.thread_id);
  assert.deepEqual(got.metadata, thread.metadata);
  assert.equal(got.created_at, thread.created_at);

  await assert.rejects(
    () => client.threads.get(MISSING),
    (err) => {
      assert.equal(err.status, 404);
      assert.match(String(err.message), new RegExp(`Thread ${MISSING} not found`));
      return true;
    },
  );
});

test("threads.create with threadId, ifExists and ttl; get with include ttl", async () => {
  const threadId = "6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1e01";
  const first = await client.threads.create({ threadId, metadata: { v: 1 }, ttl: 30 });
  assert.equal(first.thread_id, threadId);
  await assert.rejects(
    () => client.threads.create({ threadId }),
    (err) => err.status === 409,
  );
  const same = await client.threads.create({ threadId, ifExists: "do_nothing", metadata: { v: 2 } });
  assert.deepEqual(same.metadata, { v: 1 });
  const withTtl = await client.threads.get(threadId, { include: ["ttl"] });
  assert.equal(withTtl.ttl.strategy, "delete");
  assert.equal(withTtl.ttl.ttl_minutes, 30);
  const plain = await client.threads.get(threadId);
  assert.equal(plain.ttl, undefined);
});

test("threads.update merges metadata", async () => {
  const thread = await client.threads.create({ metadata: { a: 1, b: 1 } });
  const updated = await client.threads.update(thread.thread_id, { metadata: { b: 2, c: 3 } });
  assert.deepEqual(updated.metadata, { a: 1, b: 2, c: 3 });
  const got = await client.threads.get(thread.thread_id);
  assert.deepEqual(got.metadata, { a: 1, b: 2, c: 3 });
});

test("threads.delete removes the thread", async () => {
  const thread = await client.threads.create();
  assert.equal(await client.threads.delete(thread.thread_id), undefined);
  await assert.rejects(
    () => client.threads.get(thread.thread_id),
    (err) => err.status === 404,
  );
  await assert.rejects(
    () => client.threads.delete(thread.thread_id),
    (err) => err.status === 404,
  );
});

test("threads.search and threads.count", async () => {
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const t = await client.threads.create({ metadata: { suite: "sdk-search", i, even: i % 2 === 0 } });
    ids.push(t.thread_id);
    await new Promise((r) => setTimeout(r, 2));
  }
  const all = await client.threads.search({ metadata: { suite: "sdk-search" } });
  assert.deepEqual(
    all.map((t) => t.thread_id),
    [...ids].reverse(),
  );
  const even = await client.threads.search({ metadata: { suite: "sdk-search", even: true }, sortBy: "created_at", sortOrder: "asc" });
  assert.deepEqual(
    even.map((t) => t.thread_id),
    [ids[0], ids[2]],
  );
  const page = await client.threads.search({ metadata: { suite: "sdk-search" }, limit: 2, offset: 1, sortOrder: "asc" });
  assert.deepEqual(
    page.map((t) => t.thread_id),
    [ids[1], ids[2]],
  );
  const byIds = await client.threads.search({ ids: [ids[3]] });
  assert.deepEqual(
    byIds.map((t) => t.thread_id),
    [ids[3]],
  );
  const selected = await client.threads.search({ metadata: { suite: "sdk-search" }, select: ["thread_id"] });
  assert.equal(selected.length, 4);
  for (const t of selected) assert.deepEqual(Object.keys(t), ["thread_id"]);
  const busy = await client.threads.search({ metadata: { suite: "sdk-search" }, status: "busy" });
  assert.deepEqual(busy, []);

  assert.equal(await client.threads.count({ metadata: { suite: "sdk-search" } }), 4);
  assert.equal(await client.threads.count({ metadata: { suite: "sdk-search", even: false } }), 2);
  assert.equal(await client.threads.count({ metadata: { suite: "sdk-search" }, status: "error" }), 0);
  await assert.rejects(
    () => client.threads.search({ status: "sleeping" }),
    (err) => err.status === 422,
  );
});

test("threads.copy keeps the metadata under a new id", async () => {
  const source = await client.threads.create({ metadata: { suite: "sdk-copy", who: "source" } });
  const copy = await client.threads.copy(source.thread_id);
  assert.notEqual(copy.thread_id, source.thread_id);
  assert.deepEqual(copy.metadata, { suite: "sdk-copy", who: "source" });
  assert.equal(copy.status, "idle");
  assert.equal(await client.threads.count({ metadata: { suite: "sdk-copy" } }), 2);
  await assert.rejects(
    () => client.threads.copy(MISSING),
    (err) => err.status === 404,
  );
});

test("threads.prune deletes the listed threads", async () => {
  const a = await client.threads.create({ metadata: { suite: "sdk-prune" } });
  const b = await client.threads.create({ metadata: { suite: "sdk-prune" } });
  const result = await client.threads.prune([a.thread_id, MISSING]);
  assert.deepEqual(result, { pruned_count: 1 });
  assert.equal(await client.threads.count({ metadata: { suite: "sdk-prune" } }), 1);
  assert.equal((await client.threads.get(b.thread_id)).thread_id, b.thread_id);
});

test("threads.getState and getHistory of a thread without runs", async () => {
  const thread = await client.threads.create();
  const state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(state, {
    values: {},
    next: [],
    tasks: [],
    metadata: {},
    created_at: null,
    checkpoint: { thread_id: thread.thread_id, checkpoint_ns: "", checkpoint_id: null, checkpoint_map: null },
    parent_checkpoint: null,
    interrupts: [],
  });
  const checkpointId = "6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1e99";
  const atId = await client.threads.getState(thread.thread_id, checkpointId);
  assert.equal(atId.checkpoint.checkpoint_id, checkpointId);
  assert.deepEqual(atId.values, {});
  const atConfig = await client.threads.getState(thread.thread_id, { checkpoint_ns: "" });
  assert.deepEqual(atConfig, state);

  assert.deepEqual(await client.threads.getHistory(thread.thread_id), []);
  assert.deepEqual(await client.threads.getHistory(thread.thread_id, { limit: 5, metadata: { source: "loop" } }), []);
  await assert.rejects(
    () => client.threads.patchState(thread.thread_id, { note: "x" }),
    (err) => {
      assert.equal(err.status, 404);
      assert.match(String(err.message), /has no checkpoint to patch/);
      return true;
    },
  );
  await assert.rejects(
    () => client.threads.getState(MISSING),
    (err) => err.status === 404,
  );
  await assert.rejects(
    () => client.threads.getHistory(MISSING),
    (err) => err.status === 404,
  );
});

test("threads.create with supersteps seeds the state through the graph's reducers", async () => {
  const thread = await client.threads.create({
    graphId: "agent",
    supersteps: [
      { updates: [{ values: { messages: [{ role: "user", content: "hi", id: "h1" }] }, asNode: "__start__" }] },
      { updates: [{ values: { messages: [{ type: "ai", content: "hello", id: "a1" }] }, asNode: "agent" }] },
      { updates: [{ values: { messages: [{ type: "ai", content: "hello again", id: "a1" }] }, asNode: "agent" }] },
    ],
  });
  assert.equal(thread.metadata.graph_id, "agent");
  assert.deepEqual(thread.values.messages.map((m) => [m.type, m.content]), [["human", "hi"], ["ai", "hello again"]]);
  const state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(state.values, thread.values);
  assert.deepEqual(state.next, []); // the agent's answer has no tool calls: the router ends
  const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
  assert.equal(history.length, 3);
  assert.deepEqual(history.map((h) => h.metadata.source), ["update", "update", "update"]);
  assert.deepEqual(history.at(-1).next, ["agent"]); // __start__ leads to the agent
  assert.equal(history[0].parent_checkpoint.checkpoint_id, history[1].checkpoint.checkpoint_id);

  // a bad superstep is named, and nothing is created
  const id = "6b1f2c3d-0000-4000-8000-00000000ab01";
  await assert.rejects(
    () => client.threads.create({
      threadId: id,
      graphId: "agent",
      supersteps: [
        { updates: [{ values: { messages: [{ role: "user", content: "x" }] }, asNode: "__start__" }] },
        { updates: [{ values: { messages: [] }, asNode: "nowhere" }] },
      ],
    }),
    (err) => err.status === 422 && /supersteps\[1\]\.as_node: graph agent has no node 'nowhere'/.test(String(err.message)),
  );
  await assert.rejects(() => client.threads.get(id), (err) => err.status === 404);
  await assert.rejects(
    () => client.threads.create({ supersteps: [{ updates: [{ values: {}, asNode: "agent" }] }] }),
    (err) => err.status === 400 && /graph ID/.test(String(err.message)),
  );
  await assert.rejects(
    () => client.threads.create({ graphId: "nope", supersteps: [{ updates: [{ values: {}, asNode: "agent" }] }] }),
    (err) => err.status === 404 && /Graph nope not found/.test(String(err.message)),
  );
});
