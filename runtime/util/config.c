/*
 * runtime/util/config.c — one table of options drives defaults, environment, flags and --help
 * (contract in config.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "util/config.h"
#include "util/log.h"

typedef enum config_kind { CK_STR, CK_INT, CK_SIZE, CK_BOOL, CK_LEVEL, CK_AUTH, CK_FSYNC, CK_FLAG_HELP, CK_FLAG_VERSION } config_kind_t;

typedef struct config_opt {
    const char *flag;  /* without "--"; NULL: environment only */
    const char *env;   /* NULL: flag only */
    const char *env2;  /* alternative variable, read when env is unset */
    config_kind_t kind;
    size_t off;        /* offset of the field in config_t */
    long min, max;     /* bounds for CK_INT */
    const char *dflt;  /* as shown by --help, and parsed as the default (NULL: unset) */
    const char *help;
} config_opt_t;

#define OFF(f) offsetof(config_t, f)

static const config_opt_t config_opts[] = {
    {"host", "HOST", NULL, CK_STR, OFF(host), 0, 0, "127.0.0.1", "address to listen on"},
    {"port", "PORT", NULL, CK_INT, OFF(port), 1, 65535, "2024", "TCP port to listen on (1-65535)"},
    {"workers", "LGSERVE_WORKERS", NULL, CK_INT, OFF(workers), 1, 1024, NULL, "event-loop threads (1-1024)"},
    {"max-body-size", "LGSERVE_MAX_BODY_SIZE", NULL, CK_SIZE, OFF(max_body_size), 0, 0, "10M",
     "largest accepted request body, bytes or with K/M/G suffix"},
    {"cors-allow-origins", "CORS_ALLOW_ORIGINS", NULL, CK_STR, OFF(cors_allow_origins), 0, 0, "*",
     "comma-separated allowed origins, * for any, empty to send no CORS headers"},
    {"shutdown-grace", "LGSERVE_SHUTDOWN_GRACE", NULL, CK_INT, OFF(shutdown_grace), 0, 3600, "10",
     "seconds in-flight requests get to finish after SIGTERM/SIGINT"},
    {"log-json", "LOG_JSON", NULL, CK_BOOL, OFF(log_json), 0, 0, "false", "write logs as JSON lines"},
    {"log-level", "LOG_LEVEL", NULL, CK_LEVEL, OFF(log_level), 0, 0, "info", "debug, info, warn or error"},
    {"data-dir", "LGSERVE_DATA_DIR", NULL, CK_STR, OFF(data_dir), 0, 0, "./.lgserve", "directory of the embedded store"},
    {"fsync", "LGSERVE_FSYNC", NULL, CK_FSYNC, OFF(fsync_always), 0, 0, "batch",
     "when an acknowledged write reaches the disk: batch (group commit) or always"},
    {"sweep-interval", "LGSERVE_SWEEP_INTERVAL", NULL, CK_INT, OFF(sweep_interval), 1, 86400, "60",
     "seconds between sweeps of expired threads and store items"},
    {"compact-size", "LGSERVE_COMPACT_SIZE", NULL, CK_SIZE, OFF(compact_size), 0, 0, "64M",
     "log size of the embedded store that starts a compaction (snapshot + new log), bytes or with K/M/G suffix"},
    {"run-workers", "LGSERVE_RUN_WORKERS", NULL, CK_INT, OFF(run_workers), 1, 1024, NULL,
     "threads executing runs (1-1024; runs mostly wait on LLMs)"},
    {"stream-retention", "LGSERVE_STREAM_RETENTION", NULL, CK_INT, OFF(stream_retention), 1, 86400, "300",
     "seconds a finished stream_resumable run stays replayable (others: 10 s at most)"},
    {"run-timeout", "LGSERVE_RUN_TIMEOUT", NULL, CK_INT, OFF(run_timeout), 0, 604800, "0",
     "seconds after which a running run ends as timeout (0 = never)"},
    {"database-uri", "DATABASE_URI", "DATABASE_URL", CK_STR, OFF(database_uri), 0, 0, NULL,
     "PostgreSQL connection URI (default: embedded store)"},
    {"openai-base-url", "OPENAI_BASE_URL", NULL, CK_STR, OFF(openai_base_url), 0, 0, NULL,
     "OpenAI-compatible API base URL for the agent graph"},
    {NULL, "OPENAI_API_KEY", NULL, CK_STR, OFF(openai_api_key), 0, 0, NULL, "API key for the model provider"},
    {"model-name", "MODEL_NAME", NULL, CK_STR, OFF(model_name), 0, 0, NULL, "default model, e.g. openai:gpt-4o-mini"},
    {"auth", "LGSERVE_AUTH", NULL, CK_AUTH, OFF(auth_mode), 0, 0, NULL,
     "none, jwt, supabase or api-key (default: chosen from the secret, JWKS, SUPABASE_* and API key settings)"},
    {"supabase-url", "SUPABASE_URL", NULL, CK_STR, OFF(supabase_url), 0, 0, NULL, "Supabase project URL"},
    {NULL, "SUPABASE_KEY", NULL, CK_STR, OFF(supabase_key), 0, 0, NULL, "Supabase API key"},
    {NULL, "SUPABASE_JWT_SECRET", NULL, CK_STR, OFF(supabase_jwt_secret), 0, 0, NULL, "HS256 secret of Supabase JWTs"},
    {"jwks-file", "LGSERVE_JWKS_FILE", NULL, CK_STR, OFF(jwks_file), 0, 0, NULL, "JWKS file with the RS256/ES256 keys of jwt mode"},
    {"jwks-url", "LGSERVE_JWKS_URL", NULL, CK_STR, OFF(jwks_url), 0, 0, NULL,
     "JWKS URL for jwt mode, fetched at start and every --jwks-refresh seconds"},
    {"jwks-refresh", "LGSERVE_JWKS_REFRESH", NULL, CK_INT, OFF(jwks_refresh), 10, 86400, "300",
     "seconds between fetches of --jwks-url (10-86400)"},
    {"jwt-issuer", "LGSERVE_JWT_ISSUER", NULL, CK_STR, OFF(jwt_issuer), 0, 0, NULL, "required iss claim of JWTs (default: not checked)"},
    {"jwt-audience", "LGSERVE_JWT_AUDIENCE", NULL, CK_STR, OFF(jwt_audience), 0, 0, NULL,
     "required aud claim of JWTs (default: not checked)"},
    {"jwt-leeway", "LGSERVE_JWT_LEEWAY", NULL, CK_INT, OFF(jwt_leeway), 0, 300, "30",
     "seconds of clock skew allowed for exp and nbf (0-300)"},
    {NULL, "LGSERVE_API_KEYS", NULL, CK_STR, OFF(api_keys), 0, 0, NULL, "API keys of api-key mode: key=user,key=user,..."},
    {"api-keys-file", "LGSERVE_API_KEYS_FILE", NULL, CK_STR, OFF(api_keys_file), 0, 0, NULL,
     "file of API keys for api-key mode, one key=user per line"},
    {"auth-metrics", "LGSERVE_AUTH_METRICS", NULL, CK_BOOL, OFF(auth_metrics), 0, 0, "false",
     "require credentials for /metrics and /metrics/json too"},
    {"auth-cache-size", "LGSERVE_AUTH_CACHE_SIZE", NULL, CK_INT, OFF(auth_cache_size), 16, 1000000, "10000",
     "tokens whose supabase verdict is cached (16-1000000)"},
    {"help", NULL, NULL, CK_FLAG_HELP, 0, 0, 0, NULL, "print this help and exit"},
    {"version", NULL, NULL, CK_FLAG_VERSION, 0, 0, 0, NULL, "print the version and exit"},
};

#define CONFIG_N_OPTS (sizeof(config_opts) / sizeof(config_opts[0]))

static const config_t *config_installed;

/* Parses a whole decimal integer into *out; returns -1 on anything else or overflow. */
static int parse_long(const char *s, long *out)
{
    char *end;

    if (*s == '\0')
        return -1;
    errno = 0;
    *out = strtol(s, &end, 10);
    return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Parses "1048576", "512K", "10M", "1G" (powers of 1024); returns -1 on anything else or 0. */
static int parse_size(const char *s, size_t *out)
{
    unsigned long long v, mul = 1;
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    if (*end != '\0') {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: return -1;
        }
        if (end[1] != '\0' && !((end[1] == 'b' || end[1] == 'B') && end[2] == '\0'))
            return -1;
    }
    if (v == 0 || v > SIZE_MAX / 4 / mul)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

/* Parses true/false, 1/0, yes/no, on/off (case-insensitive). */
static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    size_t i;

    for (i = 0; i != 4; ++i) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Replaces the malloc'd string in *field with a copy of value; returns -1 on OOM. */
static int set_str(char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/*
 * Stores `value` into the field of `o` in cfg. `source` names where it came from ("--port",
 * "PORT", "default") for the error line. Returns 0 or -1 with err filled.
 */
static int apply(config_t *cfg, const config_opt_t *o, const char *value, const char *source, char *err, size_t cap)
{
    char *field = (char *)cfg + o->off;
    const char *expect = NULL;
    long l;
    int rc = -1;

    switch (o->kind) {
    case CK_STR:
        if (set_str((char **)field, value) != 0) {
            snprintf(err, cap, "out of memory");
            goto Exit;
        }
        break;
    case CK_INT:
        if (parse_long(value, &l) != 0 || l < o->min || l > o->max) {
            snprintf(err, cap, "invalid value for %s: '%s' (expected an integer from %ld to %ld)", source, value, o->min, o->max);
            goto Exit;
        }
        *(int *)field = (int)l;
        break;
    case CK_SIZE:
        if (parse_size(value, (size_t *)field) != 0) {
            expect = "a positive size in bytes, optionally with a K, M or G suffix";
            goto Bad;
        }
        break;
    case CK_BOOL:
        if (parse_bool(value, (int *)field) != 0) {
            expect = "true or false";
            goto Bad;
        }
        break;
    case CK_LEVEL: {
        log_level_t lv;
        if (log_level_parse(value, &lv) != 0) {
            expect = "debug, info, warn or error";
            goto Bad;
        }
        *(int *)field = (int)lv;
        break;
    }
    case CK_AUTH:
        if (strcmp(value, "none") != 0 && strcmp(value, "jwt") != 0 && strcmp(value, "supabase") != 0 &&
            strcmp(value, "api-key") != 0) {
            expect = "none, jwt, supabase or api-key";
            goto Bad;
        }
        if (set_str((char **)field, value) != 0) {
            snprintf(err, cap, "out of memory");
            goto Exit;
        }
        break;
    case CK_FSYNC:
        if (strcmp(value, "batch") != 0 && strcmp(value, "always") != 0) {
            expect = "batch or always";
            goto Bad;
        }
        *(int *)field = strcmp(value, "always") == 0;
        break;
    case CK_FLAG_HELP:
    case CK_FLAG_VERSION:
        break;
    }
    rc = 0;
    goto Exit;
Bad:
    snprintf(err, cap, "invalid value for %s: '%s' (expected %s)", source, value, expect);
Exit:
    return rc;
}

/* Finds the option of flag name [name, name+len); NULL if none. */
static const config_opt_t *find_flag(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i != CONFIG_N_OPTS; ++i)
        if (config_opts[i].flag != NULL && strlen(config_opts[i].flag) == len && memcmp(config_opts[i].flag, name, len) == 0)
            return &config_opts[i];
    return NULL;
}

int config_parse(config_t *cfg, int argc, char *const argv[], char *err, size_t err_cap)
{
    char source[64];
    long cores;
    size_t i;
    int a, rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores < 1 ? 1 : cores > 1024 ? 1024 : (int)cores;
    cfg->run_workers = cfg->workers * 10 > 1024 ? 1024 : cfg->workers * 10;
    for (i = 0; i != CONFIG_N_OPTS; ++i)
        if (config_opts[i].dflt != NULL && apply(cfg, &config_opts[i], config_opts[i].dflt, "default", err, err_cap) != 0)
            goto Exit;
    for (i = 0; i != CONFIG_N_OPTS; ++i) {
        const config_opt_t *o = &config_opts[i];
        const char *v = NULL, *name = o->env;
        if (o->env != NULL && (v = getenv(o->env)) == NULL && o->env2 != NULL && (v = getenv(o->env2)) != NULL)
            name = o->env2;
        if (v != NULL && (v[0] != '\0' || o->kind == CK_STR) && apply(cfg, o, v, name, err, err_cap) != 0)
            goto Exit;
    }
    for (a = 1; a < argc; ++a) {
        const char *arg = argv[a], *eq, *value;
        const config_opt_t *o;
        size_t nlen;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            snprintf(err, err_cap, "unexpected argument '%s' (see --help)", arg);
            goto Exit;
        }
        arg += 2;
        eq = strchr(arg, '=');
        nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if ((o = find_flag(arg, nlen)) == NULL) {
            snprintf(err, err_cap, "unknown option '--%.*s' (see --help)", (int)nlen, arg);
            goto Exit;
        }
        if (o->kind == CK_FLAG_HELP || o->kind == CK_FLAG_VERSION) {
            if (eq != NULL) {
                snprintf(err, err_cap, "option '--%s' takes no value", o->flag);
                goto Exit;
            }
            cfg->action = o->kind == CK_FLAG_HELP ? CONFIG_HELP : CONFIG_VERSION;
            rc = 0;
            goto Exit;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (o->kind == CK_BOOL) {
            value = "true";
        } else if (a + 1 < argc) {
            value = argv[++a];
        } else {
            snprintf(err, err_cap, "option '--%s' needs a value", o->flag);
            goto Exit;
        }
        snprintf(source, sizeof(source), "--%s", o->flag);
        if (apply(cfg, o, value, source, err, err_cap) != 0)
            goto Exit;
    }
    rc = 0;
Exit:
    return rc;
}

void config_free(config_t *cfg)
{
    size_t i;

    for (i = 0; i != CONFIG_N_OPTS; ++i)
        if (config_opts[i].kind == CK_STR || config_opts[i].kind == CK_AUTH)
            free(*(char **)((char *)cfg + config_opts[i].off));
    memset(cfg, 0, sizeof(*cfg));
}

void config_print_help(FILE *out)
{
    size_t i;

    fprintf(out, "usage: lgserve [options]\n\n"
                 "Serves the LangGraph Agent Server API. Flags override environment variables.\n\n");
    for (i = 0; i != CONFIG_N_OPTS; ++i) {
        const config_opt_t *o = &config_opts[i];
        char left[64], env[64];
        if (o->flag != NULL)
            snprintf(left, sizeof(left), "--%s%s", o->flag,
                     o->kind == CK_FLAG_HELP || o->kind == CK_FLAG_VERSION ? "" : o->kind == CK_BOOL ? "[=BOOL]" : " VALUE");
        else
            snprintf(left, sizeof(left), "(environment)");
        if (o->env != NULL)
            snprintf(env, sizeof(env), "%s%s%s", o->env, o->env2 != NULL ? ", " : "", o->env2 != NULL ? o->env2 : "");
        else
            env[0] = '\0';
        fprintf(out, "  %-28s %s\n", left, o->help);
        if (env[0] != '\0' || o->dflt != NULL)
            fprintf(out, "  %-28s env: %s%sdefault: %s\n", "", env[0] != '\0' ? env : "-", "; ",
                    o->dflt != NULL ? (o->dflt[0] == '*' ? "* (any origin)" : o->dflt)
                    : o->off == OFF(run_workers) && o->kind == CK_INT ? "10 per online core"
                    : o->off == OFF(workers) && o->kind == CK_INT ? "number of online cores"
                                                                   : "unset");
    }
}

void config_install(const config_t *cfg)
{
    config_installed = cfg;
}

const config_t *config_current(void)
{
    return config_installed;
}

const char *config_auth_mode(const config_t *cfg)
{
    if (cfg == NULL)
        return "none";
    if (cfg->auth_mode != NULL && cfg->auth_mode[0] != '\0')
        return cfg->auth_mode;
    if (cfg->supabase_jwt_secret != NULL && cfg->supabase_jwt_secret[0] != '\0')
        return "jwt";
    if ((cfg->jwks_file != NULL && cfg->jwks_file[0] != '\0') || (cfg->jwks_url != NULL && cfg->jwks_url[0] != '\0'))
        return "jwt";
    if (cfg->supabase_url != NULL && cfg->supabase_url[0] != '\0' && cfg->supabase_key != NULL && cfg->supabase_key[0] != '\0')
        return "supabase";
    if ((cfg->api_keys != NULL && cfg->api_keys[0] != '\0') || (cfg->api_keys_file != NULL && cfg->api_keys_file[0] != '\0'))
        return "api-key";
    return "none";
}
