// tests/conformance/sdk/runs.test.mjs — the official JS SDK's runs client against lgserve running
// the built-in `agent` graph on bench/mock_llm (LGSERVE_MOCK_LLM): wait, stream (every mode),
// create, join, joinStream with lastEventId, threads.joinStream (run_modes, lifecycle,
// state_update), list, get, cancel, delete, the four multitask
// strategies (on a slow mock), stateless runs, thread state after runs, and a run whose LLM is
// unreachable. Asserts the values that come back, not only that calls succeed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";
import { startMock, startServer } from "./server.mjs";

const MISSING = "00000000-0000-4000-8000-000000000000";
const ANSWER_START = "The quick mock model";
let server;
let client;
let fastMock;
let slowMock;

const human = (content) => ({ messages: [{ role: "user", content }] });
const slow = () => ({ configurable: { base_url: slowMock.url } });
const lastAi = (values) => values.messages.filter((m) => m.type === "ai").at(-1);

async function collect(iter) {
  const parts = [];
  for await (const part of iter) parts.push(part);
  return parts;
}

before(async () => {
  fastMock = await startMock();
  slowMock = await startMock(["--chunk-ms", "100"]);
  server = await startServer({ env: { OPENAI_BASE_URL: fastMock.url, OPENAI_API_KEY: "test-key" } });
  client = new Client({ apiUrl: server.url, callerOptions: { maxRetries: 0 } });
  // Probe: the agent node must answer through the LLM for these tests to mean anything.
  const probe = await client.runs.wait(null, "agent", { input: human("probe") }).catch((e) => ({ error: e }));
  if (probe?.error || probe?.__error__ || !lastAi(probe ?? { messages: [] })) {
    throw new Error(`the agent graph does not answer through the LLM: ${JSON.stringify(probe?.__error__ ?? String(probe?.error ?? "no AI message"))}`);
  }
});

after(async () => {
  await server?.stop();
  await fastMock?.stop();
  await slowMock?.stop();
});

test("runs.wait answers the final values with the mock's AI message", async () => {
  const thread = await client.threads.create();
  const values = await client.runs.wait(thread.thread_id, "agent", { input: human("hello") });
  assert.equal(values.messages.length, 2);
  assert.equal(values.messages[0].type, "human");
  assert.equal(values.messages[0].content, "hello");
  assert.equal(values.messages[1].type, "ai");
  assert.ok(values.messages[1].content.startsWith(ANSWER_START), values.messages[1].content);

  const state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(state.values, values);
  assert.deepEqual(state.next, []);
  const runs = await client.runs.list(thread.thread_id);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].status, "success");
  assert.equal((await client.threads.get(thread.thread_id)).status, "idle");

  // a second turn sees the first
  const second = await client.runs.wait(thread.thread_id, "agent", { input: human("and again") });
  assert.equal(second.messages.length, 4);
  assert.equal(second.messages[2].content, "and again");
});

test("runs.stream: metadata first, values, updates and messages-tuple with ids", async () => {
  const thread = await client.threads.create();
  let created;
  const parts = await collect(
    client.runs.stream(thread.thread_id, "agent", {
      input: human("stream please"),
      streamMode: ["values", "updates", "messages-tuple"],
      onRunCreated: (meta) => (created = meta),
    }),
  );
  assert.equal(parts[0].event, "metadata");
  assert.equal(parts[0].data.run_id, created.run_id);
  assert.equal(created.thread_id, thread.thread_id);
  const ids = parts.map((p) => Number(p.id));
  assert.deepEqual(ids, ids.map((_, i) => i + 1), "ids count up from 1");

  const values = parts.filter((p) => p.event === "values");
  assert.ok(values.length >= 2);
  const final = values.at(-1).data;
  const answer = lastAi(final).content;
  assert.ok(answer.startsWith(ANSWER_START));

  const updates = parts.filter((p) => p.event === "updates");
  assert.ok(updates.some((u) => u.data.agent && u.data.agent.messages), JSON.stringify(updates.map((u) => u.data)));

  const tuples = parts.filter((p) => p.event === "messages");
  assert.ok(tuples.length > 1);
  for (const { data } of tuples) {
    assert.equal(data.length, 2);
    assert.equal(data[1].langgraph_node, "agent");
    assert.equal(typeof data[1].langgraph_step, "number");
  }
  assert.equal(tuples.map(({ data }) => data[0].content).join(""), answer);
  assert.deepEqual((await client.threads.getState(thread.thread_id)).values, final);
});

test("every stream mode produces its events", async () => {
  const expected = {
    values: ["values"],
    updates: ["updates"],
    messages: ["messages/metadata", "messages/partial", "messages/complete"],
    "messages-tuple": ["messages"],
    tasks: ["tasks"],
    checkpoints: ["checkpoints"],
    debug: ["debug"],
    events: ["events"],
    custom: [],
  };
  for (const [mode, names] of Object.entries(expected)) {
    const parts = await collect(client.runs.stream(null, "agent", { input: human(`mode ${mode}`), streamMode: mode }));
    const seen = new Set(parts.map((p) => p.event));
    assert.equal(parts[0].event, "metadata", mode);
    for (const name of names.filter((n) => n !== "messages/complete"))
      assert.ok(seen.has(name), `${mode}: no ${name} event in ${[...seen]}`);
    for (const name of seen)
      assert.ok(name === "metadata" || names.includes(name), `${mode}: unexpected ${name} event`);
  }
});

test("events mode: astream_events v2 records of the graph, the agent node and its model call", async () => {
  const parts = await collect(client.runs.stream(null, "agent", { input: human("events please"), streamMode: "events" }));
  const runId = parts[0].data.run_id;
  const evs = parts.filter((p) => p.event === "events").map((p) => p.data);
  for (const e of evs) assert.deepEqual(Object.keys(e).sort(), ["data", "event", "metadata", "name", "parent_ids", "run_id", "tags"]);
  assert.deepEqual([evs[0].event, evs[0].name, evs[0].run_id, evs[0].parent_ids], ["on_chain_start", "agent", runId, []]);
  assert.equal(evs[0].data.input.messages[0].content, "events please");
  const last = evs.at(-1);
  assert.deepEqual([last.event, last.name, last.run_id], ["on_chain_end", "agent", runId]);
  const node = evs.find((e) => e.event === "on_chain_start" && e.parent_ids.length === 1);
  assert.equal(node.name, "agent");
  assert.deepEqual(node.parent_ids, [runId]);
  assert.deepEqual(node.tags, ["graph:step:1"]);
  assert.equal(node.metadata.langgraph_node, "agent");
  const model = evs.filter((e) => e.event.startsWith("on_chat_model_"));
  assert.equal(model[0].event, "on_chat_model_start");
  assert.equal(model.at(-1).event, "on_chat_model_end");
  assert.ok(model.length > 3);
  for (const e of model) {
    assert.equal(e.name, "ChatOpenAI");
    assert.equal(e.run_id, model[0].run_id);
    assert.deepEqual(e.parent_ids, [runId, node.run_id]);
    assert.equal(e.metadata.ls_provider, "openai");
  }
  const roles = model[0].data.input.messages[0].map((m) => m.type);
  assert.deepEqual(roles, ["system", "human"]);
  const streamed = model.filter((e) => e.event === "on_chat_model_stream").map((e) => e.data.chunk.content).join("");
  assert.ok(streamed.startsWith(ANSWER_START));
  assert.equal(model.at(-1).data.output.content, streamed);
  const nodeEnd = evs.find((e) => e.event === "on_chain_end" && e.run_id === node.run_id);
  assert.equal(nodeEnd.data.output.messages[0].content, streamed);
  assert.ok(evs.some((e) => e.event === "on_chain_stream" && e.run_id === node.run_id));
  assert.equal(last.data.output.messages.at(-1).content, streamed);
});

test("runs.create, join, get and list", async () => {
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "agent", { input: human("background"), metadata: { tag: "bg" } });
  assert.equal(run.thread_id, thread.thread_id);
  assert.ok(["pending", "running", "success"].includes(run.status));
  assert.equal(run.metadata.tag, "bg");

  const values = await client.runs.join(thread.thread_id, run.run_id);
  assert.ok(lastAi(values).content.startsWith(ANSWER_START));
  const got = await client.runs.get(thread.thread_id, run.run_id);
  assert.equal(got.run_id, run.run_id);
  assert.equal(got.status, "success");

  const run2 = await client.runs.create(thread.thread_id, "agent", { input: human("second") });
  await client.runs.join(thread.thread_id, run2.run_id);
  const all = await client.runs.list(thread.thread_id);
  assert.deepEqual(all.map((r) => r.run_id), [run2.run_id, run.run_id], "newest first");
  const page = await client.runs.list(thread.thread_id, { limit: 1, offset: 1 });
  assert.deepEqual(page.map((r) => r.run_id), [run.run_id]);
  assert.deepEqual(await client.runs.list(thread.thread_id, { status: "error" }), []);
  const selected = await client.runs.list(thread.thread_id, { select: ["run_id", "status"] });
  assert.deepEqual(Object.keys(selected[0]).sort(), ["run_id", "status"]);

  await assert.rejects(() => client.runs.get(thread.thread_id, MISSING), (e) => e.status === 404);
  await assert.rejects(() => client.runs.list(MISSING), (e) => e.status === 404);
});

test("joinStream replays exactly the events after lastEventId", async () => {
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "agent", {
    input: human("replay me"),
    streamMode: ["values", "messages-tuple"],
  });
  const full = await collect(client.runs.joinStream(thread.thread_id, run.run_id));
  assert.equal(full[0].event, "metadata");
  assert.ok(full.length > 5);
  for (const k of [1, 3, full.length - 1]) {
    const rest = await collect(client.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: String(k) }));
    assert.deepEqual(
      rest.map((p) => [p.id, p.event, p.data]),
      full.slice(k).map((p) => [p.id, p.event, p.data]),
      `after id ${k}`,
    );
  }
  const onlyValues = await collect(client.runs.joinStream(thread.thread_id, run.run_id, { streamMode: ["values"] }));
  assert.deepEqual([...new Set(onlyValues.map((p) => p.event))], ["metadata", "values"]);
  // stateless join (GET /runs/{run_id}/stream)
  const stateless = await collect(client.runs.joinStream(null, run.run_id, { lastEventId: "1" }));
  assert.deepEqual(stateless.map((p) => p.id), full.slice(1).map((p) => p.id));
});

test("cancel (interrupt, rollback) and delete", async () => {
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "agent", { input: human("slow one"), config: slow() });
  await client.runs.cancel(thread.thread_id, run.run_id, true);
  assert.equal((await client.runs.get(thread.thread_id, run.run_id)).status, "interrupted");

  const run2 = await client.runs.create(thread.thread_id, "agent", { input: human("slow two"), config: slow() });
  await client.runs.cancel(thread.thread_id, run2.run_id, true, "rollback");
  await assert.rejects(() => client.runs.get(thread.thread_id, run2.run_id), (e) => e.status === 404);

  await client.runs.delete(thread.thread_id, run.run_id);
  await assert.rejects(() => client.runs.get(thread.thread_id, run.run_id), (e) => e.status === 404);
  await assert.rejects(() => client.runs.cancel(thread.thread_id, MISSING), (e) => e.status === 404);
});

test("multitask strategies on a busy thread", async () => {
  const thread = await client.threads.create();
  const tid = thread.thread_id;

  const first = await client.runs.create(tid, "agent", { input: human("busy"), config: slow() });
  await assert.rejects(
    () => client.runs.create(tid, "agent", { input: human("rejected"), multitaskStrategy: "reject" }),
    (e) => e.status === 409,
  );
  const queued = await client.runs.create(tid, "agent", { input: human("queued"), multitaskStrategy: "enqueue" });
  await client.runs.join(tid, queued.run_id);
  assert.equal((await client.runs.get(tid, first.run_id)).status, "success");
  assert.equal((await client.runs.get(tid, queued.run_id)).status, "success");
  const contents = (await client.threads.getState(tid)).values.messages.map((m) => m.content);
  assert.equal(contents[0], "busy");
  assert.equal(contents[2], "queued", "enqueued run ran after the first");

  const busy = await client.runs.create(tid, "agent", { input: human("to interrupt"), config: slow() });
  const interrupter = await client.runs.create(tid, "agent", { input: human("interrupter"), multitaskStrategy: "interrupt" });
  await client.runs.join(tid, interrupter.run_id);
  assert.equal((await client.runs.get(tid, busy.run_id)).status, "interrupted");
  assert.equal((await client.runs.get(tid, interrupter.run_id)).status, "success");

  const doomed = await client.runs.create(tid, "agent", { input: human("to roll back"), config: slow() });
  const roller = await client.runs.create(tid, "agent", { input: human("roller"), multitaskStrategy: "rollback" });
  await client.runs.join(tid, roller.run_id);
  await assert.rejects(() => client.runs.get(tid, doomed.run_id), (e) => e.status === 404);
  const after = (await client.threads.getState(tid)).values.messages.map((m) => m.content);
  assert.ok(!after.includes("to roll back"), "the rolled-back run left nothing in the state");
  assert.ok(after.includes("roller"));
});

test("stateless runs: wait, stream, create and batch", async () => {
  const values = await client.runs.wait(null, "agent", { input: human("no thread") });
  assert.equal(values.messages[0].content, "no thread");
  assert.ok(lastAi(values).content.startsWith(ANSWER_START));

  let created;
  const parts = await collect(
    client.runs.stream(null, "agent", { input: human("stateless stream"), onRunCreated: (m) => (created = m) }),
  );
  assert.equal(parts[0].event, "metadata");
  assert.equal(parts[0].data.run_id, created.run_id);
  assert.ok(lastAi(parts.filter((p) => p.event === "values").at(-1).data).content.startsWith(ANSWER_START));

  const run = await client.runs.create(null, "agent", { input: human("stateless bg"), onCompletion: "keep" });
  const replay = await collect(client.runs.joinStream(null, run.run_id));
  assert.equal(replay[0].event, "metadata");
  const kept = await client.threads.getState(run.thread_id);
  assert.equal(kept.values.messages[0].content, "stateless bg", "on_completion keep keeps the thread");

  const res = await fetch(`${server.url}/runs/batch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      { assistant_id: "agent", input: human("b1") },
      { assistant_id: "agent", input: human("b2") },
    ]),
  });
  assert.equal(res.status, 200);
  const batch = await res.json();
  assert.equal(batch.length, 2);
  assert.notEqual(batch[0].run_id, batch[1].run_id);
});

test("thread state: history and updateState after runs", async () => {
  const thread = await client.threads.create();
  const tid = thread.thread_id;
  await client.runs.wait(tid, "agent", { input: human("history") });
  const history = await client.threads.getHistory(tid);
  assert.ok(history.length >= 3);
  assert.deepEqual(history[0].values, (await client.threads.getState(tid)).values);
  assert.equal(history.at(-1).metadata.source, "input");
  assert.ok(history.some((s) => s.metadata.source === "loop"));

  const before = (await client.threads.getState(tid)).values.messages.length;
  const updated = await client.threads.updateState(tid, {
    values: { messages: [{ role: "user", content: "added by update" }] },
    asNode: "agent",
  });
  assert.equal(updated.checkpoint.thread_id, tid);
  const state = await client.threads.getState(tid);
  assert.equal(state.checkpoint.checkpoint_id, updated.checkpoint.checkpoint_id);
  assert.equal(state.values.messages.length, before + 1);
  assert.equal(state.values.messages.at(-1).content, "added by update");
  assert.equal(state.metadata.source, "update");

  // fork from the first checkpoint of the history
  const first = history.at(-1).checkpoint.checkpoint_id;
  const forked = await client.threads.updateState(tid, { values: null, asNode: "__copy__", checkpointId: first });
  assert.notEqual(forked.checkpoint.checkpoint_id, first);
});

test("an unreachable LLM ends the run in error, and the server carries on", async () => {
  const dead = { configurable: { base_url: "http://127.0.0.1:1/v1" } };
  const thread = await client.threads.create();
  const parts = await collect(client.runs.stream(thread.thread_id, "agent", { input: human("fail"), config: dead }));
  const err = parts.find((p) => p.event === "error");
  assert.ok(err, JSON.stringify(parts.map((p) => p.event)));
  assert.match(err.data.message, /127\.0\.0\.1:1/);
  const runs = await client.runs.list(thread.thread_id);
  assert.equal(runs[0].status, "error");

  // /wait answers the error object {__error__: {error, message}}, which the SDK raises
  await assert.rejects(
    () => client.runs.wait(null, "agent", { input: human("fail"), config: dead }),
    (e) => /NodeError/.test(e.message) && /127\.0\.0\.1:1/.test(e.message),
  );

  const ok = await client.runs.wait(thread.thread_id, "agent", { input: human("still alive?") });
  assert.ok(lastAi(ok).content.startsWith(ANSWER_START));
});

// A values event whose last message is the AI answer: the end of one agent turn.
const isFinal = (p) => p.event === "values" && p.data.messages?.at(-1)?.type === "ai";

test("threads.joinStream follows every run of the thread, runs started later included", async () => {
  const thread = await client.threads.create();
  const controller = new AbortController();
  const seen = [];
  const following = (async () => {
    try {
      for await (const part of client.threads.joinStream(thread.thread_id, { signal: controller.signal })) {
        seen.push(part);
        if (seen.filter(isFinal).length >= 2) break;
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  await client.runs.wait(thread.thread_id, "agent", { input: human("first on the thread") });
  await client.runs.wait(thread.thread_id, "agent", { input: human("second on the thread") });
  const timer = setTimeout(() => controller.abort(), 10_000);
  await following;
  clearTimeout(timer);
  const starts = seen.filter((p) => p.event === "metadata" && p.data.attempt === 1);
  assert.equal(starts.length, 2, JSON.stringify(seen.map((p) => p.event)));
  assert.notEqual(starts[0].data.run_id, starts[1].data.run_id);
  // run_modes also carries the end of each run (the second one may end after the break)
  const firstDone = seen.findIndex((p) => p.event === "metadata" && p.data.status === "run_done");
  assert.ok(firstDone > 0, JSON.stringify(seen.map((p) => p.event)));
  assert.equal(seen[firstDone].data.run_id, starts[0].data.run_id);
  assert.ok(firstDone < seen.indexOf(starts[1]));
  const finals = seen.filter(isFinal);
  assert.equal(finals.length, 2);
  assert.equal(finals[1].data.messages.length, 4);
});

// Follows the thread stream with `streamMode` until `enough(parts)`; `act` runs meanwhile.
async function followThread(threadId, streamMode, enough, act) {
  const controller = new AbortController();
  const seen = [];
  const following = (async () => {
    try {
      for await (const part of client.threads.joinStream(threadId, { streamMode, signal: controller.signal })) {
        seen.push(part);
        if (enough(seen)) break;
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  await act();
  const timer = setTimeout(() => controller.abort(), 10_000);
  await following;
  clearTimeout(timer);
  return seen;
}

test("threads.joinStream lifecycle: only the start and end of each run", async () => {
  const thread = await client.threads.create();
  let runs = [];
  const seen = await followThread(thread.thread_id, ["lifecycle"], (s) => s.length >= 4, async () => {
    runs.push(await client.runs.create(thread.thread_id, "agent", { input: human("one"), streamMode: ["values", "updates"] }));
    await client.runs.join(thread.thread_id, runs[0].run_id);
    runs.push(await client.runs.create(thread.thread_id, "agent", { input: human("two") }));
    await client.runs.join(thread.thread_id, runs[1].run_id);
  });
  assert.deepEqual(
    seen.map((p) => [p.event, p.data]),
    [
      ["metadata", { run_id: runs[0].run_id, attempt: 1 }],
      ["metadata", { status: "run_done", run_id: runs[0].run_id }],
      ["metadata", { run_id: runs[1].run_id, attempt: 1 }],
      ["metadata", { status: "run_done", run_id: runs[1].run_id }],
    ],
  );
  // ids are the thread's own sequence, increasing
  const ids = seen.map((p) => Number(p.id));
  assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), JSON.stringify(ids));
});

test("threads.joinStream state_update: the state after each update, nothing of the runs", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, "agent", { input: human("before the updates") });
  const note = { type: "human", content: "added by update_state", id: "note-1" };
  const seen = await followThread(thread.thread_id, ["state_update"], (s) => s.length >= 1, async () => {
    await client.runs.wait(thread.thread_id, "agent", { input: human("a run the mode leaves out") });
    await client.threads.updateState(thread.thread_id, { values: { messages: [note] }, asNode: "agent" });
  });
  assert.equal(seen.length, 1, JSON.stringify(seen.map((p) => p.event)));
  assert.equal(seen[0].event, "state_update");
  assert.equal(seen[0].data.thread_id, thread.thread_id);
  const state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(seen[0].data.state.values, state.values);
  assert.equal(seen[0].data.state.checkpoint.checkpoint_id, state.checkpoint.checkpoint_id);
  assert.equal(state.values.messages.at(-1).content, "added by update_state");
  assert.equal(seen[0].data.state.metadata.source, "update");

  // both modes at once, and the Python spelling (a comma list in stream_modes)
  const both = [];
  const controller = new AbortController();
  const res = await fetch(`${server.url}/threads/${thread.thread_id}/stream?stream_modes=lifecycle,state_update`, {
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reading = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        both.splice(0, both.length, ...[...buf.matchAll(/^event: (.+)$/gm)].map((m) => m[1]));
        if (both.length >= 3) break;
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  await client.threads.updateState(thread.thread_id, { values: { messages: [{ ...note, content: "again" }] }, asNode: "agent" });
  await client.runs.wait(thread.thread_id, "agent", { input: human("third") });
  const timer = setTimeout(() => controller.abort(), 10_000);
  await reading;
  clearTimeout(timer);
  controller.abort();
  assert.deepEqual(both, ["state_update", "metadata", "metadata"]);

  await assert.rejects(
    () => collect(client.threads.joinStream(thread.thread_id, { streamMode: "bogus" })),
    (err) => err.status === 422,
  );
});
