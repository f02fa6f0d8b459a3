// tests/conformance/sdk/store.test.mjs — the official JS SDK's StoreClient against lgserve:
// putItem, getItem, deleteItem, searchItems and listNamespaces, with what each sends on the
// wire (dot-joined GET namespace, DELETE with a JSON body) and the errors the SDK surfaces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";
import { startServer } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer({ args: ["--sweep-interval", "1"] });
  client = new Client({ apiUrl: server.url, callerOptions: { maxRetries: 0 } });
});

after(async () => {
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("putItem then getItem returns the item with SDK-mapped timestamps", async () => {
  assert.equal(await client.store.putItem(["sdk", "users"], "u1", { name: "Ada", n: 1 }), undefined);
  const item = await client.store.getItem(["sdk", "users"], "u1");
  assert.deepEqual(item.namespace, ["sdk", "users"]);
  assert.equal(item.key, "u1");
  assert.deepEqual(item.value, { name: "Ada", n: 1 });
  assert.match(item.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  assert.equal(item.createdAt, item.created_at);
  assert.equal(item.updatedAt, item.updated_at);
  assert.ok(!Number.isNaN(Date.parse(item.updated_at)));
});

test("putItem replaces the value and keeps created_at", async () => {
  await client.store.putItem(["sdk", "replace"], "k", { v: 1 });
  const first = await client.store.getItem(["sdk", "replace"], "k");
  await sleep(5);
  await client.store.putItem(["sdk", "replace"], "k", { v: 2, extra: true });
  const second = await client.store.getItem(["sdk", "replace"], "k");
  assert.deepEqual(second.value, { v: 2, extra: true });
  assert.equal(second.created_at, first.created_at);
  assert.notEqual(second.updated_at, first.updated_at);
});

test("getItem of a missing item resolves to null", async () => {
  assert.equal(await client.store.getItem(["sdk", "nothing"], "nope"), null);
});

test("labels with commas and spaces survive the dot-joined GET", async () => {
  await client.store.putItem(["sdk", "a,b", "c d"], "k", { ok: true });
  const item = await client.store.getItem(["sdk", "a,b", "c d"], "k");
  assert.deepEqual(item.namespace, ["sdk", "a,b", "c d"]);
  assert.deepEqual(item.value, { ok: true });
});

test("deleteItem removes the item; deleting again is not an error", async () => {
  await client.store.putItem(["sdk", "del"], "k1", { a: 1 });
  await client.store.putItem(["sdk", "del"], "k2", { a: 2 });
  assert.equal(await client.store.deleteItem(["sdk", "del"], "k1"), undefined);
  assert.equal(await client.store.getItem(["sdk", "del"], "k1"), null);
  assert.deepEqual((await client.store.getItem(["sdk", "del"], "k2")).value, { a: 2 });
  await client.store.deleteItem(["sdk", "del"], "k1");
  const { items } = await client.store.searchItems(["sdk", "del"]);
  assert.deepEqual(items.map((i) => i.key), ["k2"]);
});

test("searchItems filters with equality and comparison operators, pages, maps timestamps", async () => {
  const ns = ["sdk", "search"];
  await client.store.putItem([...ns, "p"], "a", { n: 1, tag: "x" });
  await client.store.putItem([...ns, "p"], "b", { n: 2, tag: "y" });
  await client.store.putItem([...ns, "q"], "c", { n: 3, tag: "x" });
  const keys = async (opts) => (await client.store.searchItems(ns, opts)).items.map((i) => i.key);

  assert.deepEqual(await keys(), ["c", "b", "a"]);
  assert.deepEqual(await keys({ filter: { tag: "x" } }), ["c", "a"]);
  assert.deepEqual(await keys({ filter: { n: { $eq: 2 } } }), ["b"]);
  assert.deepEqual(await keys({ filter: { tag: { $ne: "x" } } }), ["b"]);
  assert.deepEqual(await keys({ filter: { n: { $gt: 1 } } }), ["c", "b"]);
  assert.deepEqual(await keys({ filter: { n: { $gte: 2 } } }), ["c", "b"]);
  assert.deepEqual(await keys({ filter: { n: { $lt: 3 } } }), ["b", "a"]);
  assert.deepEqual(await keys({ filter: { n: { $lte: 1 } } }), ["a"]);
  assert.deepEqual(await keys({ limit: 2 }), ["c", "b"]);
  assert.deepEqual(await keys({ limit: 2, offset: 2 }), ["a"]);
  assert.deepEqual((await client.store.searchItems([...ns, "q"])).items.map((i) => i.key), ["c"]);

  const { items } = await client.store.searchItems(ns, { filter: { n: 3 } });
  assert.equal(items.length, 1);
  assert.deepEqual(items[0].namespace, [...ns, "q"]);
  assert.deepEqual(items[0].value, { n: 3, tag: "x" });
  assert.equal(items[0].createdAt, items[0].created_at);
  assert.equal(items[0].updatedAt, items[0].updated_at);
});

test("searchItems with a semantic query is refused: no index is configured", async () => {
  await assert.rejects(
    () => client.store.searchItems(["sdk"], { query: "fruit" }),
    (err) => {
      assert.equal(err.status, 422);
      assert.match(String(err.message), /query/);
      return true;
    },
  );
});

test("listNamespaces honours prefix, suffix, maxDepth, limit and offset", async () => {
  await client.store.putItem(["nsq", "u1", "prefs"], "k", {});
  await client.store.putItem(["nsq", "u2", "prefs"], "k", {});
  await client.store.putItem(["nsq", "u1", "notes"], "k", {});
  const list = async (opts) => (await client.store.listNamespaces(opts)).namespaces;

  assert.deepEqual(await list({ prefix: ["nsq"] }), [
    ["nsq", "u1", "notes"],
    ["nsq", "u1", "prefs"],
    ["nsq", "u2", "prefs"],
  ]);
  assert.deepEqual(await list({ prefix: ["nsq"], suffix: ["prefs"] }), [
    ["nsq", "u1", "prefs"],
    ["nsq", "u2", "prefs"],
  ]);
  assert.deepEqual(await list({ prefix: ["nsq"], maxDepth: 2 }), [
    ["nsq", "u1"],
    ["nsq", "u2"],
  ]);
  assert.deepEqual(await list({ prefix: ["nsq"], limit: 1, offset: 1 }), [["nsq", "u1", "prefs"]]);
  assert.ok((await list()).some((ns) => ns.join("/") === "nsq/u2/prefs"));
});

test("putItem with a ttl expires; the SDK rejects '.' in labels before sending", async () => {
  await client.store.putItem(["sdk", "ttl"], "short", { v: 1 }, { ttl: 0.02 });
  await client.store.putItem(["sdk", "ttl"], "long", { v: 2 }, { ttl: null, index: false });
  assert.deepEqual((await client.store.getItem(["sdk", "ttl"], "short", { refreshTtl: false })).value, { v: 1 });
  await sleep(2000);
  assert.equal(await client.store.getItem(["sdk", "ttl"], "short"), null);
  assert.deepEqual((await client.store.getItem(["sdk", "ttl"], "long")).value, { v: 2 });
  await assert.rejects(() => client.store.putItem(["a.b"], "k", {}), /cannot contain periods/);
});

test("server-side validation errors surface as 422 with the detail", async () => {
  await assert.rejects(
    () => client.store.putItem(["sdk", ""], "k", { v: 1 }),
    (err) => {
      assert.equal(err.status, 422);
      assert.match(String(err.message), /namespace\[1\]/);
      return true;
    },
  );
  await assert.rejects(
    () => client.store.putItem(["sdk"], "k", [1, 2]),
    (err) => err.status === 422,
  );
  assert.equal(await client.store.getItem(["sdk"], "k"), null);
});
