/*
 * runtime/llm/llm_internal.h — what the files of runtime/llm share and the unit tests reach:
 * error formatting and the assembler that turns OpenAI stream chunks (or one whole completion)
 * into a LangChain AI message. Not for other modules.
 */
#ifndef LG_LLM_LLM_INTERNAL_H
#define LG_LLM_LLM_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "util/jsonw.h"

/* Formats one line into err (cap bytes; nothing when err is NULL or cap 0). */
void llm_set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable byte buffer, always NUL-terminated once non-empty (malloc'd). */
typedef struct llm_buf {
    char *data;
    size_t len, cap;
} llm_buf_t;

/* Appends `n` bytes of `s` (borrowed). Returns 0, or -1 when out of memory. */
int llm_buf_append(llm_buf_t *b, const char *s, size_t n);
void llm_buf_free(llm_buf_t *b);

/* One tool call being assembled from its deltas. */
typedef struct llm_tool_acc {
    llm_buf_t id, name, args;
} llm_tool_acc_t;

/*
 * The answer assembled so far. All members are owned (malloc'd, or new references) and freed
 * by llm_stream_free.
 */
typedef struct llm_stream {
    llm_buf_t id, model, finish_reason, fingerprint;
    llm_buf_t content;
    llm_tool_acc_t *tools; /* by the delta's index */
    size_t ntools;
    json_t *usage; /* the provider's usage object, or NULL */
    /* llm_stream_apply_text's memo: the text before the top-level "choices" key of the last
     * chunk it read (len 0: none; dropped by llm_stream_apply) and the keys seen there */
    llm_buf_t prefix;
    unsigned prefix_seen;
} llm_stream_t;

void llm_stream_init(llm_stream_t *s);
void llm_stream_free(llm_stream_t *s);

/*
 * Applies one chat.completion.chunk object (borrowed) to `s`. When `chunk_msg` is not NULL and
 * the chunk carried content, tool-call pieces or usage, *chunk_msg is set to a new reference to
 * its LangChain AI message chunk (else NULL), and *text / *text_len (borrowed from `chunk`) to
 * its content delta. Returns 0, or -1 with a message saying what was wrong with the chunk
 * (also for an {"error": ...} chunk).
 */
int llm_stream_apply(llm_stream_t *s, const json_t *chunk, json_t **chunk_msg, const char **text,
                     size_t *text_len, char *err, size_t cap);

/*
 * The fast path of llm_stream_apply for the common chunk, read from its text (`len` bytes at
 * `data`, borrowed) without building values: a content delta and/or a finish reason, with
 * error, usage and tool_calls absent or null. Returns 1 when it applied the chunk to `s` (as
 * llm_stream_apply would have); then, when `chunk_text` is not NULL, it holds the chunk's
 * LangChain AI message chunk as the JSON text jsonw writes for llm_stream_apply's *chunk_msg
 * when the chunk carried content (len 0 otherwise), and *text / *text_len (borrowed from `s`,
 * valid until its next change) its content delta. Returns 0 when it is not sure about the
 * chunk (anything else, malformed text included), leaving `s` untouched: parse the text and
 * call llm_stream_apply, which decides. Returns -1 when out of memory.
 */
int llm_stream_apply_text(llm_stream_t *s, const char *data, size_t len, jsonw_buf_t *chunk_text,
                          const char **text, size_t *text_len);

/*
 * Applies a whole chat.completion object (borrowed) to a freshly initialised `s`. Returns 0, or
 * -1 with a message.
 */
int llm_stream_apply_completion(llm_stream_t *s, const json_t *completion, char *err, size_t cap);

/* The LangChain AI message of what `s` holds (see llm_completion_to_message). Returns a new
 * reference, or NULL when out of memory. */
json_t *llm_stream_message(const llm_stream_t *s);

#endif
