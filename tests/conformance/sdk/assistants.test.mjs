// tests/conformance/sdk/assistants.test.mjs — the official JS SDK's assistants client against
// lgserve: create, get, update, delete, search (with pagination), count, getVersions, setLatest,
// getSchemas, getGraph and getSubgraphs, asserting the values that come back and the errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";
import { startServer } from "./server.mjs";

// The system assistant of graph "agent" (UUIDv5 of the graph id, as the official servers derive it).
const SYSTEM_ID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca";
const MISSING_ID = "00000000-0000-4000-8000-000000000000";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiUrl: server.url, callerOptions: { maxRetries: 0 } });
});

after(async () => {
  await server?.stop();
});

// Asserts that `fn` rejects with HTTP `status` and a message matching `re`.
async function rejectsWith(fn, status, re) {
  await assert.rejects(fn, (err) => {
    assert.equal(err.status, status);
    if (re) assert.match(String(err.message), re);
    return true;
  });
}

test("the system assistant of the agent graph exists from start", async () => {
  const a = await client.assistants.get(SYSTEM_ID);
  assert.equal(a.assistant_id, SYSTEM_ID);
  assert.equal(a.graph_id, "agent");
  assert.equal(a.name, "agent");
  assert.equal(a.version, 1);
  assert.deepEqual(a.metadata, { created_by: "system" });
});

test("create, get, update, versions, setLatest, delete", async () => {
  const created = await client.assistants.create({
    graphId: "agent",
    name: "sdk-one",
    description: "made by the SDK",
    config: { configurable: { model_name: "openai:gpt-4o-mini" } },
    context: { tone: "dry" },
    metadata: { suite: "sdk-crud", a: 1 },
  });
  assert.match(created.assistant_id, /^[0-9a-f-]{36}$/);
  assert.equal(created.graph_id, "agent");
  assert.equal(created.name, "sdk-one");
  assert.equal(created.description, "made by the SDK");
  assert.deepEqual(created.config, { configurable: { model_name: "openai:gpt-4o-mini" } });
  assert.deepEqual(created.context, { tone: "dry" });
  assert.equal(created.version, 1);
  assert.ok(!Number.isNaN(Date.parse(created.created_at)));

  const got = await client.assistants.get(created.assistant_id);
  assert.deepEqual(got, created);

  const updated = await client.assistants.update(created.assistant_id, { name: "sdk-two", metadata: { b: 2 } });
  assert.equal(updated.version, 2);
  assert.equal(updated.name, "sdk-two");
  assert.deepEqual(updated.metadata, { suite: "sdk-crud", a: 1, b: 2 });
  assert.deepEqual(updated.config, created.config);

  const versions = await client.assistants.getVersions(created.assistant_id);
  assert.deepEqual(versions.map((v) => v.version), [2, 1]);
  assert.deepEqual(versions.map((v) => v.name), ["sdk-two", "sdk-one"]);
  const filtered = await client.assistants.getVersions(created.assistant_id, { metadata: { b: 2 } });
  assert.deepEqual(filtered.map((v) => v.version), [2]);
  const paged = await client.assistants.getVersions(created.assistant_id, { limit: 1, offset: 1 });
  assert.deepEqual(paged.map((v) => v.version), [1]);

  const latest = await client.assistants.setLatest(created.assistant_id, 1);
  assert.equal(latest.version, 1);
  assert.equal(latest.name, "sdk-one");
  assert.equal((await client.assistants.get(created.assistant_id)).version, 1);
  await rejectsWith(() => client.assistants.setLatest(created.assistant_id, 42), 404, /version 42/);

  await client.assistants.delete(created.assistant_id);
  await rejectsWith(() => client.assistants.get(created.assistant_id), 404, /not found/);
  await rejectsWith(() => client.assistants.delete(created.assistant_id), 404);
  await rejectsWith(() => client.assistants.getVersions(created.assistant_id), 404);
});

test("create: if_exists and an unknown graph", async () => {
  const assistantId = "7b2d4b2f-7c1f-4b9a-8e8b-1a7b4c3d2e01";
  const first = await client.assistants.create({ graphId: "agent", assistantId, name: "first" });
  assert.equal(first.assistant_id, assistantId);
  await rejectsWith(() => client.assistants.create({ graphId: "agent", assistantId, name: "again" }), 409, /already exists/);
  const kept = await client.assistants.create({ graphId: "agent", assistantId, name: "again", ifExists: "do_nothing" });
  assert.equal(kept.name, "first");
  await rejectsWith(() => client.assistants.create({ graphId: "no-such-graph" }), 404, /Graph no-such-graph not found/);
  await rejectsWith(() => client.assistants.create({ graphId: "agent", ifExists: "sometimes" }), 422, /if_exists/);
  await rejectsWith(() => client.assistants.update(MISSING_ID, { name: "x" }), 404, /not found/);
});

test("search: filters, sort, select and pagination; count", async () => {
  const ids = [];
  for (const name of ["sdk-b", "sdk-a", "sdk-c"]) {
    ids.push((await client.assistants.create({ graphId: "agent", name, metadata: { suite: "sdk-search" } })).assistant_id);
  }
  const page1 = await client.assistants.search({ metadata: { suite: "sdk-search" }, limit: 2, includePagination: true });
  assert.equal(page1.assistants.length, 2);
  assert.equal(page1.next, "2");
  assert.deepEqual(page1.assistants.map((a) => a.assistant_id), [ids[2], ids[1]]);
  const page2 = await client.assistants.search({ metadata: { suite: "sdk-search" }, limit: 2, offset: 2, includePagination: true });
  assert.deepEqual(page2.assistants.map((a) => a.assistant_id), [ids[0]]);
  assert.equal(page2.next, null);

  const byName = await client.assistants.search({ metadata: { suite: "sdk-search" }, sortBy: "name", sortOrder: "asc" });
  assert.deepEqual(byName.map((a) => a.name), ["sdk-a", "sdk-b", "sdk-c"]);
  const named = await client.assistants.search({ name: "SDK-C" });
  assert.deepEqual(named.map((a) => a.assistant_id), [ids[2]]);
  const selected = await client.assistants.search({ metadata: { suite: "sdk-search" }, select: ["assistant_id", "name"] });
  assert.equal(selected.length, 3);
  for (const a of selected) assert.deepEqual(Object.keys(a).sort(), ["assistant_id", "name"]);
  assert.deepEqual(await client.assistants.search({ graphId: "no-such-graph" }), []);
  await rejectsWith(() => client.assistants.search({ sortBy: "bogus" }), 422, /sort_by/);

  assert.equal(await client.assistants.count({ metadata: { suite: "sdk-search" } }), 3);
  assert.equal(await client.assistants.count({ metadata: { suite: "sdk-search" }, name: "sdk-a" }), 1);
  assert.equal(await client.assistants.count({ graphId: "no-such-graph" }), 0);
});

test("getGraph, getSchemas, getSubgraphs", async () => {
  const { assistant_id } = await client.assistants.create({ graphId: "agent", metadata: { suite: "sdk-graph" } });

  const graph = await client.assistants.getGraph(assistant_id);
  const nodeIds = graph.nodes.map((n) => n.id);
  for (const id of ["__start__", "agent", "tools", "__end__"]) assert.ok(nodeIds.includes(id), `node ${id}`);
  assert.ok(graph.edges.some((e) => e.source === "__start__" && e.target === "agent"));
  assert.ok(graph.edges.some((e) => e.source === "agent" && e.target === "tools" && e.conditional === true));
  assert.deepEqual(await client.assistants.getGraph(assistant_id, { xray: true }), graph);
  assert.deepEqual(await client.assistants.getGraph(assistant_id, { xray: 2 }), graph);
  // /graph accepts a graph id in place of the assistant id (the spec allows any string there).
  assert.deepEqual(await client.assistants.getGraph("agent"), graph);
  await rejectsWith(() => client.assistants.getGraph(MISSING_ID), 404);

  const schemas = await client.assistants.getSchemas(assistant_id);
  assert.equal(schemas.graph_id, "agent");
  for (const k of ["input_schema", "output_schema", "state_schema", "config_schema", "context_schema"]) {
    assert.equal(typeof schemas[k], "object", k);
  }
  assert.equal(schemas.input_schema.type, "object");
  assert.ok("messages" in schemas.state_schema.properties);
  await rejectsWith(() => client.assistants.getSchemas(MISSING_ID), 404);

  assert.deepEqual(await client.assistants.getSubgraphs(assistant_id), {});
  assert.deepEqual(await client.assistants.getSubgraphs(assistant_id, { recurse: true }), {});
  assert.deepEqual(await client.assistants.getSubgraphs(assistant_id, { namespace: "tools", recurse: true }), {});
  await rejectsWith(() => client.assistants.getSubgraphs(MISSING_ID), 404);
});

test("a graph id names that graph's system assistant wherever an assistant id is taken", async () => {
  const a = await client.assistants.get("agent");
  assert.equal(a.assistant_id, SYSTEM_ID);
  assert.equal(a.metadata.created_by, "system");
  const schemas = await client.assistants.getSchemas("agent");
  assert.equal(schemas.graph_id, "agent");
  await rejectsWith(() => client.assistants.get("no-such-graph"), 404, /not found/);
});
