/*
 * runtime/http/valid.h — types and helpers shared by the generated request validators
 * (generated/validators.c) and the router. The validators are plain functions over jansson
 * values: they do no I/O, may fill in schema defaults, and report the first error with the JSON
 * path of the offending value ("input.messages[0].content: expected string").
 */
#ifndef LG_HTTP_VALID_H
#define LG_HTTP_VALID_H

#include <stddef.h>
#include <jansson.h>

/* First validation failure: HTTP status to answer with (422 unless stated) and its detail. */
typedef struct valid_error {
    int status;
    char detail[512];
} valid_error_t;

/*
 * A validator checks `inst` in place (borrowed; it may add default members to objects) and
 * returns 0, or -1 with `err` filled. `path` is the JSON path of `inst` ("" at the root).
 */
typedef int (*valid_fn)(json_t *inst, const char *path, valid_error_t *err);

typedef enum valid_in { VALID_IN_PATH, VALID_IN_QUERY, VALID_IN_HEADER } valid_in_t;

/* The JSON type a query, path or header string is coerced to before validation. */
typedef enum valid_type {
    VALID_T_ANY,
    VALID_T_STRING,
    VALID_T_INTEGER,
    VALID_T_NUMBER,
    VALID_T_BOOLEAN,
    VALID_T_ARRAY,
    VALID_T_OBJECT,
} valid_type_t;

/* One declared parameter of an operation. */
typedef struct valid_param {
    const char *name;       /* as in the spec ("thread_id", "Last-Event-ID") */
    valid_in_t in;
    valid_type_t type;      /* primary type; for anyOf [T, null] this is T */
    valid_type_t item_type; /* element type when type is VALID_T_ARRAY */
    int required;
    char split;             /* array parameters: the character that separates the items of one
                               occurrence (',' for the spec's explode: false, '.' for
                               x-lgserve-separator: "."); 0 = one item per occurrence (OpenAPI's
                               default form/explode: true, i.e. the key repeated) */
} valid_param_t;

/*
 * Everything the router needs to check one operation's request before its handler runs. The
 * parameters are gathered into one JSON object (path, query and header values coerced to their
 * declared types) which `check_params` validates; the body, when the operation declares one,
 * is checked by `check_body`. `rejected` lists body fields and parameters the capability matrix
 * marks `rejected`: a request that sets one is answered 422 naming it.
 */
typedef struct valid_op {
    const char *op_id;
    valid_fn check_body;          /* NULL: the operation takes no JSON body */
    int body_required;
    const valid_param_t *params;  /* n_params entries */
    size_t n_params;
    valid_fn check_params;        /* validates the gathered parameter object; never NULL */
    const char *const *rejected;  /* NULL-terminated; may be NULL */
} valid_op_t;

/* Fills `err` with status 422 and "<path>: <message>" (or just the message at the root); returns -1. */
int valid_fail(valid_error_t *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Builds a child path into `buf`: "<path>.<key>" (or "<key>" at the root); returns buf. */
const char *valid_path_key(char *buf, size_t cap, const char *path, const char *key);
/* Builds a child path into `buf`: "<path>[<index>]"; returns buf. */
const char *valid_path_index(char *buf, size_t cap, const char *path, size_t index);

/* Format checks; each returns 1 when `s` conforms. */
int valid_is_uuid(const char *s);
int valid_is_date_time(const char *s);

#endif
