/*
 * runtime/util/config.h — the server configuration: command-line flags and environment
 * variables (DESIGN.md §8), parsed once at start into a config_t that every module reads.
 *
 * Precedence: flag > environment variable > default. A bad value fails with one line naming
 * the flag or variable, the value and what was expected; main prints it and exits 2.
 */
#ifndef LG_UTIL_CONFIG_H
#define LG_UTIL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum config_action { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION } config_action_t;

typedef struct config {
    config_action_t action;
    /* listening */
    char *host;             /* --host, HOST; "127.0.0.1" */
    int port;               /* --port, PORT; 2024 (1..65535) */
    int workers;            /* --workers, LGSERVE_WORKERS; online cores (1..1024) */
    size_t max_body_size;   /* --max-body-size, LGSERVE_MAX_BODY_SIZE; 10 MiB (accepts K/M/G suffixes) */
    char *cors_allow_origins; /* --cors-allow-origins, CORS_ALLOW_ORIGINS; "*" (comma list; "" disables CORS) */
    int shutdown_grace;     /* --shutdown-grace, LGSERVE_SHUTDOWN_GRACE; 10 seconds */
    /* logging */
    int log_json;           /* --log-json, LOG_JSON; false */
    int log_level;          /* --log-level, LOG_LEVEL; log_level_t, info */
    /* storage */
    char *data_dir;         /* --data-dir, LGSERVE_DATA_DIR; "./.lgserve" */
    int fsync_always;       /* --fsync, LGSERVE_FSYNC: batch (0, default) | always (1) */
    int sweep_interval;     /* --sweep-interval, LGSERVE_SWEEP_INTERVAL; 60 seconds (1..86400) */
    size_t compact_size;    /* --compact-size, LGSERVE_COMPACT_SIZE; 64 MiB (accepts K/M/G suffixes) */
    /* runs */
    int run_workers;        /* --run-workers, LGSERVE_RUN_WORKERS; 10 per online core (1..1024) */
    int stream_retention;   /* --stream-retention, LGSERVE_STREAM_RETENTION; 300 seconds (1..86400);
                               exec_config_t.retention_s */
    int run_timeout;        /* --run-timeout, LGSERVE_RUN_TIMEOUT; 0 = none (0..604800 seconds) */
    char *database_uri;     /* --database-uri, DATABASE_URI or DATABASE_URL; NULL = embedded store */
    /* model provider (read by later modules) */
    char *openai_base_url;  /* --openai-base-url, OPENAI_BASE_URL; NULL */
    char *openai_api_key;   /* OPENAI_API_KEY (environment only, never printed); NULL */
    char *model_name;       /* --model-name, MODEL_NAME; NULL */
    /* auth (read by later modules) */
    char *auth_mode;        /* --auth, LGSERVE_AUTH: none|jwt|supabase|api-key; NULL = chosen from the rest */
    char *supabase_url;     /* --supabase-url, SUPABASE_URL */
    char *supabase_key;     /* SUPABASE_KEY (environment only) */
    char *supabase_jwt_secret; /* SUPABASE_JWT_SECRET (environment only) */
    char *jwks_file;        /* --jwks-file, LGSERVE_JWKS_FILE: RS256/ES256 keys (a JWKS document) */
    char *jwks_url;         /* --jwks-url, LGSERVE_JWKS_URL: the same, fetched at start and refreshed */
    int jwks_refresh;       /* --jwks-refresh, LGSERVE_JWKS_REFRESH; 300 seconds (10..86400) */
    char *jwt_issuer;       /* --jwt-issuer, LGSERVE_JWT_ISSUER: required `iss` when set */
    char *jwt_audience;     /* --jwt-audience, LGSERVE_JWT_AUDIENCE: required `aud` member when set */
    int jwt_leeway;         /* --jwt-leeway, LGSERVE_JWT_LEEWAY; 30 seconds (0..300) for exp and nbf */
    char *api_keys;         /* LGSERVE_API_KEYS (environment only): "key=user,..." */
    char *api_keys_file;    /* --api-keys-file, LGSERVE_API_KEYS_FILE: one "key=user" per line */
    int auth_metrics;       /* --auth-metrics, LGSERVE_AUTH_METRICS; false: /metrics stays public */
    int auth_cache_size;    /* --auth-cache-size, LGSERVE_AUTH_CACHE_SIZE; 10000 supabase verdicts (16..1000000) */
} config_t;

/*
 * Fills `cfg` from the defaults, the environment and argv[1..argc-1]. Returns 0, or -1 with
 * one line (no newline) in err. Strings in cfg are malloc'd; release them with config_free,
 * also after a failure.
 */
int config_parse(config_t *cfg, int argc, char *const argv[], char *err, size_t err_cap);
/* Frees the strings of `cfg` and zeroes it. */
void config_free(config_t *cfg);
/* Writes the --help text: every option with its environment variable and default. */
void config_print_help(FILE *out);
/* The auth mode DESIGN §7 derives from the configuration: --auth/LGSERVE_AUTH when set, else
 * "jwt" when SUPABASE_JWT_SECRET, a JWKS file or a JWKS URL is set, else "supabase" when
 * SUPABASE_URL and SUPABASE_KEY are, else "api-key" when API keys are configured, else "none". Static string or borrowed from cfg; `cfg` may be NULL ("none"). */
const char *config_auth_mode(const config_t *cfg);

/* Makes `cfg` the process-wide configuration (borrowed: it must outlive every reader). */
void config_install(const config_t *cfg);
/* The installed configuration, or NULL before config_install. Borrowed, read-only. */
const config_t *config_current(void);

#endif
