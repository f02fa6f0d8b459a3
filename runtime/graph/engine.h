/*
 * runtime/graph/engine.h — the graph engine: runs a registered graph (graph.h) over a thread's
 * checkpoints as LangGraph's Pregel loop does, and shapes checkpoints into ThreadState objects.
 *
 * Model (LangGraph semantics, simplified where noted):
 *   - A run is a sequence of super-steps. Each step runs its tasks (one per scheduled node, one
 *     per Send) sequentially in a deterministic order (node spec order, then Sends in the order
 *     they were made), then merges all their writes through the channels' reducers (in task
 *     order), then writes a checkpoint through store_ops_t->checkpoint_put.
 *   - Input: a run with `input` first writes an "input" checkpoint (step = previous step + 1,
 *     -1 on a fresh thread) whose values are the previous values, next = ["__start__"] and one
 *     task "__start__"; the __start__ task then writes the input (keys that are not channels
 *     are ignored) as step previous+2 (0 on a fresh thread). New input drops any pending tasks of
 *     the thread. A run without input continues the pending tasks (`next`) of the checkpoint it
 *     starts from; with nothing pending it ends at once with status success.
 *   - Scheduling: after a task of node N, the next step gets the targets of N's plain edges, the
 *     target N's router picks when N has conditional edges, and the node's gotos/Sends; targets
 *     are de-duplicated, GRAPH_END dropped. The router reads the state after the whole step.
 *   - Checkpoints written by the engine (the store keeps every field verbatim):
 *       {thread_id, checkpoint_ns: "", checkpoint_id (v7), parent_checkpoint_id, run_id,
 *        created_at, values, next: [names],
 *        tasks: [{id, name, path, error: null|string, interrupts: [{value, id}],
 *                 arg? (Send), result? (writes of a task that finished in a step that then
 *                 stopped at an interrupt or error), resume? [values given so far]}],
 *        parent_results: {task_id: writes} (the writes of the parent's tasks, for its state),
 *        metadata: {<run metadata>, <scalar configurable keys>, graph_id, assistant_id,
 *                   run_id, thread_id, source: "input"|"loop"|"update"|"fork", step,
 *                   writes: {task name: writes} | null, parents: {}}}
 *     A step that stops at an interrupt or an error re-writes its own checkpoint (same id) with
 *     the tasks' interrupts/errors and the results of the tasks that finished.
 *   - Interrupts: `interrupt_before` stops before a step that has a task of a listed node ("*":
 *     any node), `interrupt_after` after a step that ran one and has more to do; the run ends
 *     "interrupted" with `next` set, and a run with input null (or a command) continues. The
 *     first step of a continuing run is never stopped by interrupt_before. A node calling
 *     graph_interrupt stops the step; the task records {value, id} and the run ends
 *     "interrupted"; a run with command {resume} re-runs that task (only it: finished tasks of
 *     the step keep their results) and graph_interrupt then returns the resume value.
 *   - Command (opts.command): {resume?, update?, goto?}. `resume` is a value for the pending
 *     interrupt (or every pending interrupt), or an object mapping interrupt ids to values.
 *     `update` is merged through the reducers first and `goto` (a node name, a list of names,
 *     or Send objects {node, arg}, also in lists) replaces the pending tasks; either writes an
 *     "input" checkpoint (writes {"__start__": update}) before the run goes on.
 *   - Recursion limit: config.recursion_limit (default 25) super-steps per run, the __start__
 *     step included. Going past it ends the run in error, error name "GraphRecursionError",
 *     message "Recursion limit of N reached without hitting a stop condition. You can increase
 *     the limit by setting the `recursion_limit` config key."
 *   - Cancellation: *opts.cancel is checked before every step and between tasks; nodes read it
 *     through graph_node_cancelled (long calls pass graph_node_cancel_flag on). A cancelled run
 *     ends with status GRAPH_STATUS_CANCELLED and leaves the last checkpoint as it was (its
 *     `next` still pending, so the thread can be continued).
 *
 * Subgraphs: a node whose spec names `subgraph` runs that registered graph as a nested run on
 * the same thread and store: its input is the parent state restricted to the subgraph's
 * channels, its checkpoints go to checkpoint_ns "node:task_id" (a fresh namespace per task, so
 * every call starts fresh, as LangGraph's default), its events carry ns ["node:task_id", ...],
 * and its final values, restricted to the parent's channels, are the node's writes. An
 * interrupt inside the subgraph stops it (its checkpoint keeps the pending task) and becomes
 * the interrupt of the parent's task; when that task runs again (a resume with command
 * {resume}, or a retry) the subgraph goes on from its own checkpoint, the resume value (or
 * id map) handed down as its command.
 *
 * Streaming: for each mode in opts.stream_modes the engine calls opts.on_event(user, mode, ns,
 * data) on the run's thread, synchronously, in order; `data` is borrowed for the call (the
 * metadata object of a messages event is never changed afterwards, so a consumer holding a
 * reference may key what it derived from it on its address); `ns` is
 * NULL at the root and an array of "node:task_id" strings inside subgraphs. Modes:
 *   values       the full state after every step (not after the input checkpoint), and
 *                first the current state when a run continues pending tasks
 *   updates      {node: writes} after each task other than __start__ (writes null when none);
 *                {"__interrupt__": [{value, id}, ...]} when a run stops at an interrupt
 *                (an empty list for interrupt_before/after)
 *   messages     [message chunk, metadata] for each graph_node_emit_message(_text) call (the
 *                latter through opts.on_message_text when set), then, when a
 *                task ends, [message, metadata] for each message it wrote to an add_messages
 *                channel whose id it did not stream. metadata = run metadata + {langgraph_step,
 *                langgraph_node, langgraph_triggers, langgraph_path, langgraph_checkpoint_ns,
 *                checkpoint_ns, tags?...} (see graph_node_metadata)
 *   custom       whatever a node passes to graph_node_emit_custom
 *   tasks        {id, name, input, triggers} when a task starts; {id, name, error, result:
 *                [[channel, value], ...], interrupts} when it ends
 *   checkpoints  the ThreadState of each checkpoint written (graph_state_from_checkpoint)
 *                plus config / parent_config {configurable: {thread_id, checkpoint_ns,
 *                checkpoint_id}} (parent_config null for the first)
 *   debug        {type: "checkpoint"|"task"|"task_result", timestamp, step, payload} with the
 *                checkpoint mode's / tasks mode's payloads
 *   events       LangChain astream_events v2 records {event, name, run_id, tags, metadata,
 *                parent_ids, data}, as the official server streams them: for the graph (name
 *                = graph id, run_id = the run's id, tags [], parent_ids []) on_chain_start
 *                {input} and, unless the run failed or was cancelled, on_chain_end {output};
 *                for each task but __start__ (name = node, run_id = task id, tags
 *                ["graph:step:N"], the messages metadata, parent_ids [run id])
 *                on_chain_start {input} and, when the node succeeded, on_chain_stream {chunk:
 *                its writes} and on_chain_end {input, output}; for a chat model call a node
 *                announces (graph_node_model_start/_end: run_id a new id, parent_ids [run id,
 *                task id], metadata + the call's ls_* keys) on_chat_model_start {input:
 *                {messages: [[...]]}}, on_chat_model_stream {chunk} per token chunk and
 *                on_chat_model_end {output, input}
 *
 * Thread-safety: graph_invoke runs on the calling thread and touches only its own run; many
 * runs may execute concurrently on different threads (the store serialises its writes). The
 * caller makes sure one thread has one run at a time.
 */
#ifndef LG_GRAPH_ENGINE_H
#define LG_GRAPH_ENGINE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <jansson.h>

#include "graph/graph.h"
#include "store/store.h"
#include "util/uuid.h"

/* ------------------------------------------------------------------------------------------ */
/* Reducers (reducers.c)                                                                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * Merges `write` (borrowed) into `current` (borrowed; NULL when the channel has no value yet)
 * with `reducer`. Returns the channel's new value (new reference), or NULL with a one-line
 * reason in `err` (`errlen` bytes) when the write does not fit (e.g. append of a non-list).
 *   REPLACE       the write (a copy)
 *   APPEND        current ++ write; a non-list write is appended as one element
 *   ADD_MESSAGES  graph_messages_add
 */
json_t *graph_reduce(graph_reducer_t reducer, const json_t *current, const json_t *write,
                     char *err, size_t errlen);

/*
 * LangChain's add_messages: `left` (borrowed; NULL = []) and `right` (borrowed; one message or
 * a list) are coerced with graph_message_coerce; messages of `right` without an id get a new
 * v4 id; a right message whose id is in left replaces it in place, others are appended; a right
 * message {"type": "remove", "id": X} deletes X ("__remove_all__" deletes everything before
 * it). Returns the merged list (new reference), or NULL with a reason in `err` when a message
 * is malformed or a removal names an unknown id. A message that coercion would leave as it is
 * and that has an id is put in the list itself, not a copy: the caller changes neither the
 * inputs' messages nor the list's afterwards (channel values are never changed in place).
 */
json_t *graph_messages_add(const json_t *left, const json_t *right, char *err, size_t errlen);

/*
 * The messages of one add_messages write (`msgs` borrowed: one message or a list; NULL/null =
 * none) coerced with graph_message_coerce, each without an id given a new v4 id; removals are
 * kept as they are. Returns a list (new reference), or NULL with a reason in `err`. Shares
 * messages with `msgs` as graph_messages_add does.
 */
json_t *graph_messages_normalize(const json_t *msgs, char *err, size_t errlen);

/*
 * One message in LangChain's serialised form: a string becomes {"type": "human", "content"};
 * OpenAI-style {role, content, ...} becomes {type, content, ...} (role user -> human,
 * assistant -> ai, system, tool, developer -> system; OpenAI tool_calls [{id, function: {name,
 * arguments}}] become [{name, args, id, type: "tool_call"}]); type "user"/"assistant" become
 * "human"/"ai"; additional_kwargs and response_metadata default to {} (ai messages also get
 * tool_calls and invalid_tool_calls []). Returns a new reference, or NULL with a reason in `err`
 * (not an object or string, no role/type, unknown role, content missing).
 */
json_t *graph_message_coerce(const json_t *msg, char *err, size_t errlen);

/* ------------------------------------------------------------------------------------------ */
/* Running a graph (engine.c)                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Stream modes (bit mask). */
enum graph_stream_mode {
    GRAPH_STREAM_VALUES = 1u << 0,
    GRAPH_STREAM_UPDATES = 1u << 1,
    GRAPH_STREAM_MESSAGES = 1u << 2,
    GRAPH_STREAM_CUSTOM = 1u << 3,
    GRAPH_STREAM_TASKS = 1u << 4,
    GRAPH_STREAM_CHECKPOINTS = 1u << 5,
    GRAPH_STREAM_DEBUG = 1u << 6,
    GRAPH_STREAM_EVENTS = 1u << 7,
};

/* The bit of stream mode `name` ("values", ... as in enum graph_stream_mode; "messages-tuple"
 * and "messages" both map to GRAPH_STREAM_MESSAGES), or 0 for an unknown name (and NULL). */
unsigned graph_stream_mode_bit(const char *name);

/* Receives every streamed event (see the file comment). `ns` and `data` are borrowed. */
typedef void (*graph_on_event_fn)(void *user, const char *mode, const json_t *ns, json_t *data);

/* Optional: receives the messages-mode event of a chunk streamed with
 * graph_node_emit_message_text as text: the chunk's JSON text (`len` bytes at `chunk`) and the
 * event's metadata object (the [chunk, metadata] pair's second element; never changed once
 * streamed, as for on_event), all borrowed. Returns 0 when it took the event, or -1 to have it
 * as the [chunk, metadata] object through on_event instead. */
typedef int (*graph_on_message_text_fn)(void *user, const json_t *ns, const char *chunk, size_t len,
                                        const json_t *metadata);

typedef enum graph_status {
    GRAPH_STATUS_SUCCESS = 0,
    GRAPH_STATUS_ERROR,
    GRAPH_STATUS_INTERRUPTED,
    GRAPH_STATUS_CANCELLED
} graph_status_t;

/* "success", "error", "interrupted", "cancelled" (static). */
const char *graph_status_name(graph_status_t st);

/* What to run. Every pointer is borrowed for the duration of graph_invoke. */
typedef struct graph_invoke_opts {
    const store_ops_t *store_ops; /* required */
    store_t *store;               /* required; the thread must exist */
    const char *thread_id;        /* required */
    const char *run_id;           /* may be NULL */
    const char *assistant_id;     /* may be NULL */
    const json_t *input;          /* object, or NULL / json null to continue */
    const json_t *command;        /* {resume?, update?, goto?} or NULL */
    const json_t *config;         /* {configurable?, recursion_limit?, tags?, ...} or NULL */
    const json_t *metadata;       /* run metadata merged into checkpoint and event metadata */
    const char *checkpoint_id;    /* start from this checkpoint; NULL = the latest */
    const json_t *interrupt_before; /* array of node names, or "*"; NULL = none */
    const json_t *interrupt_after;  /* same */
    unsigned stream_modes;          /* GRAPH_STREAM_* bits */
    graph_on_event_fn on_event;     /* may be NULL (then nothing is streamed) */
    graph_on_message_text_fn on_message_text; /* may be NULL; only used with on_event */
    void *user;                     /* for on_event and on_message_text */
    atomic_int *cancel;             /* non-zero = stop; may be NULL */
    void *node_user;                /* handed to nodes through graph_node_user */
    int checkpoint_at_exit;         /* durability "exit" (checkpoint_during false): the steps'
                                       checkpoints stay in memory and only the last one is
                                       stored, once, when the run ends (success, interrupt,
                                       error or cancel), its parent being the checkpoint the run
                                       started from; streamed checkpoints still show each step */
    /* Set by the engine when a node runs a subgraph; callers leave them NULL. */
    const char *checkpoint_ns;      /* "node:task_id" ("a:id|b:id" deeper); NULL = "" (root) */
    const json_t *ns;               /* events' namespace ["node:task_id", ...]; NULL = root */
    const char *event_run_id;       /* run id of the graph's events mode records (the task's) */
    const json_t *event_parents;    /* their parent_ids */
} graph_invoke_opts_t;

/* How a run ended. Release with graph_result_clear. */
typedef struct graph_result {
    graph_status_t status;
    json_t *values;          /* the state at the end (new reference; {} when there is none) */
    json_t *interrupts;      /* interrupted: [{value, id}] raised by nodes ([] for
                                interrupt_before/after); else NULL */
    char *error;             /* error: the message (malloc'd); else NULL */
    char *error_name;        /* error: "GraphRecursionError", "NodeError", "InvalidUpdateError",
                                "StoreError", "InvalidInput" ... (malloc'd); else NULL */
    char checkpoint_id[UUID_STR_SIZE]; /* the last checkpoint written or started from ("" when
                                          the thread has none) */
} graph_result_t;

/*
 * Runs `g` (borrowed) as `opts` says and fills *out (which the caller releases with
 * graph_result_clear, whatever the return). Returns 0 when the run ended (any status, see
 * out->status); -1 only for bad arguments (NULL g/opts/out/store/thread_id), with
 * out->status = GRAPH_STATUS_ERROR and a message. Node failures, store failures, bad input
 * (input not an object, unknown checkpoint, malformed command, write to an unknown channel)
 * end the run with GRAPH_STATUS_ERROR and a message; nothing here aborts the process.
 */
int graph_invoke(const graph_t *g, const graph_invoke_opts_t *opts, graph_result_t *out);

/* Frees what *r holds and zeroes it. NULL is a no-op. */
void graph_result_clear(graph_result_t *r);

/* ---- what a node can do through its context (valid only during the node call) ---- */

/* The node's name, the step number, and the task id (borrowed strings). */
const char *graph_node_name(const graph_node_ctx_t *ctx);
int graph_node_step(const graph_node_ctx_t *ctx);
const char *graph_node_task_id(const graph_node_ctx_t *ctx);

/* The run's config (borrowed; {} when none) and its `configurable` object (borrowed; {} when
 * none). */
const json_t *graph_node_config(const graph_node_ctx_t *ctx);
const json_t *graph_node_configurable(const graph_node_ctx_t *ctx);

/* The metadata of this task's events (borrowed): run metadata, scalar configurable keys,
 * {graph_id, assistant_id, run_id, thread_id, langgraph_step, langgraph_node,
 * langgraph_triggers, langgraph_path, langgraph_checkpoint_ns, checkpoint_ns}. */
const json_t *graph_node_metadata(const graph_node_ctx_t *ctx);

/* opts.node_user of the run. */
void *graph_node_user(const graph_node_ctx_t *ctx);

/* 1 when the run has been asked to stop; long work should then return GRAPH_NODE_ERROR (the
 * engine reports the run as cancelled, not failed). The flag itself (may be NULL) for code
 * that polls it, e.g. an LLM transfer. */
int graph_node_cancelled(const graph_node_ctx_t *ctx);
atomic_int *graph_node_cancel_flag(const graph_node_ctx_t *ctx);

/* Streams `data` (borrowed) in mode custom. */
void graph_node_emit_custom(graph_node_ctx_t *ctx, const json_t *data);

/* 1 when the run streams the node's message chunks (modes messages or events); when 0,
 * graph_node_emit_message only marks ids as streamed, so a node may skip making chunks (the
 * agent then asks the model for a whole answer). */
int graph_node_streams_messages(const graph_node_ctx_t *ctx);

/* Streams a message token chunk (borrowed; a LangChain message chunk such as {"type": "ai",
 * "id", "content": "The ", ...}) in mode messages as [chunk, metadata]; `extra` (borrowed, may
 * be NULL) is merged into a copy of graph_node_metadata, e.g. {ls_provider, ls_model_name};
 * that copy is made once and shared by the events of the calls that pass the same `extra`
 * (which must not change meanwhile). The chunk's id marks that message as streamed (it is not
 * re-sent when the task ends). */
void graph_node_emit_message(graph_node_ctx_t *ctx, const json_t *chunk, const json_t *extra);

/* graph_node_emit_message for a chunk given as its compact JSON text (`len` bytes at `text`,
 * borrowed; an object with id `id`, borrowed, may be NULL): the messages event goes to
 * opts.on_message_text as text when it takes it, so that streaming a token builds no object;
 * otherwise (and for mode events) the text is parsed and streamed as graph_node_emit_message
 * does. The events are the same either way. */
void graph_node_emit_message_text(graph_node_ctx_t *ctx, const char *id, const char *text,
                                  size_t len, const json_t *extra);

/* Announces a chat model call of the node: `name` (e.g. "ChatOpenAI"), the LangChain messages
 * it is given (`messages`, borrowed, system prompt included) and `extra` (borrowed, may be
 * NULL: ls_provider, ls_model_name, ...) merged into its events' metadata. In mode events it
 * streams on_chat_model_start, and graph_node_emit_message chunks become on_chat_model_stream
 * events of that call until graph_node_model_end, which streams on_chat_model_end with the
 * final message `output` (borrowed). Both are cheap no-ops when events are not streamed. */
void graph_node_model_start(graph_node_ctx_t *ctx, const char *name, const json_t *messages,
                            const json_t *extra);
void graph_node_model_end(graph_node_ctx_t *ctx, const json_t *output);

/* Records the failure message (printf-style) and returns GRAPH_NODE_ERROR, for
 * `return graph_node_fail(ctx, "...")`. */
int graph_node_fail(graph_node_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Raises an interrupt with `value` (borrowed). When the run is resuming this task and a resume
 * value exists for this interrupt (the i-th call of the task gets the i-th value), returns it
 * (borrowed, valid during the node call). Otherwise records the interrupt and returns NULL: the
 * node must then return GRAPH_NODE_INTERRUPT; its writes are dropped (also when it returns
 * GRAPH_NODE_OK anyway).
 */
const json_t *graph_interrupt(graph_node_ctx_t *ctx, const json_t *value);

/* Command(goto): schedules node `node` (borrowed, copied) for the next step, in addition to the
 * node's edges; `arg` (borrowed, may be NULL) makes it a Send: that task gets `arg` as its state.
 * GRAPH_END without arg does nothing. Returns 0, or -1 (unknown node, or a Send to GRAPH_END;
 * also recorded as the failure message). */
int graph_node_goto(graph_node_ctx_t *ctx, const char *node, const json_t *arg);

/* ------------------------------------------------------------------------------------------ */
/* Thread state (state.c; graph_update_state in engine.c)                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * The ThreadState of checkpoint `cp` (borrowed, as stored):
 *   {values, next, tasks: [{id, name, path, error, interrupts, checkpoint: null, state: null,
 *    result?}], metadata, created_at, checkpoint: {thread_id, checkpoint_ns, checkpoint_id,
 *    checkpoint_map: null}, parent_checkpoint: same shape | null, interrupts: [{value, id}]}
 * `child` (borrowed, may be NULL) is the checkpoint written after `cp`: its parent_results give
 * the tasks their `result`. Returns a new reference (NULL only when out of memory) that shares
 * values, next, metadata and the tasks' results with `cp`: change only its own members.
 */
json_t *graph_state_from_checkpoint(const json_t *cp, const json_t *child);

/* The state of a thread without checkpoints: {values: {}, next: [], tasks: [], metadata: {},
 * created_at: null, checkpoint: null, parent_checkpoint: null, interrupts: []}. New ref. */
json_t *graph_state_empty(void);

/* The interrupts pending in checkpoint `cp` (borrowed) as the thread object stores them:
 * {task_id: [{value, id}, ...]} for each task with interrupts. New reference. */
json_t *graph_checkpoint_interrupts(const json_t *cp);

/*
 * The state of thread `thread_id` at `checkpoint_id` (NULL = latest) into *out (new reference):
 * the empty state when checkpoint_id is NULL and the thread has no checkpoint. Task results come
 * from the checkpoint's child when there is one. Returns STORE_OK, or the store's code
 * (STORE_NOT_FOUND for an unknown checkpoint id).
 */
store_rc_t graph_state_get(const store_ops_t *ops, store_t *s, const char *thread_id,
                           const char *checkpoint_id, json_t **out);

/*
 * The history of a thread as states, newest first (checkpoint_list's arguments), with task
 * results filled from each checkpoint's child. *out: array (new reference).
 */
store_rc_t graph_state_history(const store_ops_t *ops, store_t *s, const char *thread_id,
                               const char *before_id, const json_t *metadata, int64_t limit,
                               json_t **out);

/*
 * update_state: applies `values` (borrowed; object, or NULL/null for no writes) through the
 * reducers of `g` as if node `as_node` (NULL = default) had written them, on top of checkpoint
 * `checkpoint_id` (NULL = latest; the thread may have none), and writes a new checkpoint in
 * namespace `checkpoint_ns` (NULL or "" = the root; else a subgraph's "node:task_id", whose
 * graph (graph_for_namespace) the update goes through, as LangGraph delegates it: STORE_INVALID
 * when the namespace names no subgraph of g)
 * (metadata source "update", step = base step + 1, writes {as_node: values}, `metadata`
 * (borrowed, may be NULL) merged in; `next` scheduled from as_node's edges and router).
 * as_node default (LangGraph's rule): the node whose writes produced the base checkpoint when
 * there is exactly one; "__start__" when the thread has no checkpoint, the base is an input
 * checkpoint or no node wrote it; otherwise an error ("Ambiguous update, specify as_node"). as_node "__start__"
 * writes like input (next = the start edges); "__copy__" copies the base checkpoint (values
 * ignored) with source "fork". On STORE_OK *out_config (may be NULL) is {checkpoint: {thread_id,
 * checkpoint_ns, checkpoint_id, checkpoint_map: null}} (new reference). On failure *err (may be
 * NULL) is a malloc'd message the caller frees; STORE_INVALID for a bad as_node or values.
 */
store_rc_t graph_update_state(const graph_t *g, const store_ops_t *ops, store_t *s,
                              const char *thread_id, const char *checkpoint_ns,
                              const json_t *values, const char *as_node,
                              const char *checkpoint_id, const json_t *metadata,
                              json_t **out_config, char **err);

/*
 * bulk_update_state (POST /threads with supersteps): applies `supersteps` (borrowed: a non-empty
 * array of {updates: [{values?, command?, as_node?}, ...]}) one after the other on top of the
 * thread's latest checkpoint (the thread may have none), each superstep writing one checkpoint
 * as graph_update_state does, with every update of the superstep merged through the reducers
 * in order before `next` is scheduled from each as_node (and each command's goto). As in
 * LangGraph: a superstep needs at least one update; with several, each names its as_node and
 * "__copy__" must stand alone; a command writes its `update` and adds its `goto` (a `resume`
 * is refused); values must be an object (or null). Everything is checked before anything is
 * written: on STORE_INVALID (with *err naming the superstep and update, e.g.
 * "supersteps[1].updates[0].as_node: ...") nothing changed. On STORE_OK *out_config (may be
 * NULL) is the last checkpoint's {checkpoint: {...}}. *err is malloc'd, the caller frees it.
 */
store_rc_t graph_bulk_update_state(const graph_t *g, const store_ops_t *ops, store_t *s,
                                   const char *thread_id, const json_t *supersteps,
                                   const json_t *metadata, json_t **out_config, char **err);

#endif
