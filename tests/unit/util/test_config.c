/*
 * tests/unit/util/test_config.c — runtime/util/config.c: defaults, environment variables,
 * flags overriding them, both flag spellings, and the one-line message of each bad value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/config.h"
#include "util/log.h"

static const char *const config_env[] = {"HOST", "PORT", "LGSERVE_WORKERS", "LGSERVE_MAX_BODY_SIZE", "CORS_ALLOW_ORIGINS",
                                         "LGSERVE_SHUTDOWN_GRACE", "LOG_JSON", "LOG_LEVEL", "LGSERVE_DATA_DIR", "DATABASE_URI",
                                         "DATABASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "MODEL_NAME", "LGSERVE_AUTH",
                                         "SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_JWT_SECRET",
                                         "LGSERVE_JWKS_FILE", "LGSERVE_JWKS_URL", "LGSERVE_JWKS_REFRESH",
                                         "LGSERVE_JWT_ISSUER", "LGSERVE_JWT_AUDIENCE", "LGSERVE_JWT_LEEWAY", "LGSERVE_API_KEYS",
                                         "LGSERVE_API_KEYS_FILE", "LGSERVE_AUTH_METRICS", "LGSERVE_AUTH_CACHE_SIZE"};

static int clear_env(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i != sizeof(config_env) / sizeof(config_env[0]); ++i)
        unsetenv(config_env[i]);
    return 0;
}

/* Parses argv (NULL-terminated, without the program name); returns config_parse's result. */
static int parse(config_t *cfg, char *err, const char *const *args)
{
    char *argv[32] = {"lgserve"};
    int argc = 1;

    while (args != NULL && *args != NULL && argc < 31)
        argv[argc++] = (char *)*args++;
    err[0] = '\0';
    return config_parse(cfg, argc, argv, err, 256);
}

static void test_defaults(void **state)
{
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_int_equal(cfg.action, CONFIG_RUN);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 2024);
    assert_true(cfg.workers >= 1);
    assert_int_equal(cfg.max_body_size, 10 * 1024 * 1024);
    assert_string_equal(cfg.cors_allow_origins, "*");
    assert_int_equal(cfg.shutdown_grace, 10);
    assert_int_equal(cfg.log_json, 0);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_string_equal(cfg.data_dir, "./.lgserve");
    assert_null(cfg.database_uri);
    assert_null(cfg.openai_api_key);
    assert_null(cfg.auth_mode);
    config_free(&cfg);
}

static void test_env(void **state)
{
    config_t cfg;
    char err[256];

    (void)state;
    setenv("HOST", "0.0.0.0", 1);
    setenv("PORT", "8123", 1);
    setenv("LGSERVE_WORKERS", "3", 1);
    setenv("LGSERVE_MAX_BODY_SIZE", "512K", 1);
    setenv("CORS_ALLOW_ORIGINS", "", 1);
    setenv("LOG_JSON", "true", 1);
    setenv("DATABASE_URL", "postgres://u@h/db", 1);
    setenv("OPENAI_API_KEY", "sk-test", 1);
    setenv("SUPABASE_JWT_SECRET", "s3cret", 1);
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.port, 8123);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.max_body_size, 512 * 1024);
    assert_string_equal(cfg.cors_allow_origins, "");
    assert_int_equal(cfg.log_json, 1);
    assert_string_equal(cfg.database_uri, "postgres://u@h/db");
    assert_string_equal(cfg.openai_api_key, "sk-test");
    assert_string_equal(cfg.supabase_jwt_secret, "s3cret");
    config_free(&cfg);
    /* DATABASE_URI wins over DATABASE_URL */
    setenv("DATABASE_URI", "postgres://a@b/c", 1);
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(cfg.database_uri, "postgres://a@b/c");
    config_free(&cfg);
}

static void test_flags_override_env(void **state)
{
    static const char *const args[] = {"--port", "9000", "--host=::1", "--workers", "2", "--log-json=false",
                                       "--data-dir", "/tmp/d", "--max-body-size", "1048576", "--auth", "api-key",
                                       "--cors-allow-origins", "http://a,http://b", "--shutdown-grace=0", NULL};
    config_t cfg;
    char err[256];

    (void)state;
    setenv("PORT", "8123", 1);
    setenv("LOG_JSON", "1", 1);
    setenv("LGSERVE_WORKERS", "7", 1);
    assert_int_equal(parse(&cfg, err, args), 0);
    assert_int_equal(cfg.port, 9000);
    assert_string_equal(cfg.host, "::1");
    assert_int_equal(cfg.workers, 2);
    assert_int_equal(cfg.log_json, 0);
    assert_string_equal(cfg.data_dir, "/tmp/d");
    assert_int_equal(cfg.max_body_size, 1048576);
    assert_string_equal(cfg.auth_mode, "api-key");
    assert_string_equal(cfg.cors_allow_origins, "http://a,http://b");
    assert_int_equal(cfg.shutdown_grace, 0);
    config_free(&cfg);
}

static void test_bool_flag_without_value(void **state)
{
    static const char *const args[] = {"--log-json", "--log-level", "WARNING", NULL};
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, args), 0);
    assert_int_equal(cfg.log_json, 1);
    assert_int_equal(cfg.log_level, LOG_WARN);
    config_free(&cfg);
}

static void test_help_version(void **state)
{
    static const char *const help[] = {"--help", "--port", "bad", NULL}, *const version[] = {"--version", NULL};
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, help), 0);
    assert_int_equal(cfg.action, CONFIG_HELP);
    config_free(&cfg);
    assert_int_equal(parse(&cfg, err, version), 0);
    assert_int_equal(cfg.action, CONFIG_VERSION);
    config_free(&cfg);
}

/* Each bad value fails with exactly this message. */
static void test_bad_values(void **state)
{
    static const struct {
        const char *args[4];
        const char *env, *env_value;
        const char *message;
    } cases[] = {
        {{"--port", "abc"}, NULL, NULL, "invalid value for --port: 'abc' (expected an integer from 1 to 65535)"},
        {{"--port", "0"}, NULL, NULL, "invalid value for --port: '0' (expected an integer from 1 to 65535)"},
        {{"--port=65536"}, NULL, NULL, "invalid value for --port: '65536' (expected an integer from 1 to 65535)"},
        {{NULL}, "PORT", "80x", "invalid value for PORT: '80x' (expected an integer from 1 to 65535)"},
        {{"--workers", "0"}, NULL, NULL, "invalid value for --workers: '0' (expected an integer from 1 to 1024)"},
        {{NULL}, "LGSERVE_WORKERS", "-1", "invalid value for LGSERVE_WORKERS: '-1' (expected an integer from 1 to 1024)"},
        {{"--max-body-size", "10Q"}, NULL, NULL,
         "invalid value for --max-body-size: '10Q' (expected a positive size in bytes, optionally with a K, M or G suffix)"},
        {{"--max-body-size", "0"}, NULL, NULL,
         "invalid value for --max-body-size: '0' (expected a positive size in bytes, optionally with a K, M or G suffix)"},
        {{"--shutdown-grace", "-5"}, NULL, NULL, "invalid value for --shutdown-grace: '-5' (expected an integer from 0 to 3600)"},
        {{NULL}, "LOG_JSON", "perhaps", "invalid value for LOG_JSON: 'perhaps' (expected true or false)"},
        {{"--log-level", "loud"}, NULL, NULL, "invalid value for --log-level: 'loud' (expected debug, info, warn or error)"},
        {{"--auth", "basic"}, NULL, NULL, "invalid value for --auth: 'basic' (expected none, jwt, supabase or api-key)"},
        {{"--bogus"}, NULL, NULL, "unknown option '--bogus' (see --help)"},
        {{"--bogus=1"}, NULL, NULL, "unknown option '--bogus' (see --help)"},
        {{"serve"}, NULL, NULL, "unexpected argument 'serve' (see --help)"},
        {{"--port"}, NULL, NULL, "option '--port' needs a value"},
        {{"--help=1"}, NULL, NULL, "option '--help' takes no value"},
    };
    config_t cfg;
    char err[256];
    size_t i;

    for (i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        clear_env(state);
        if (cases[i].env != NULL)
            setenv(cases[i].env, cases[i].env_value, 1);
        assert_int_equal(parse(&cfg, err, cases[i].args), -1);
        assert_string_equal(err, cases[i].message);
        assert_null(strchr(err, '\n'));
        config_free(&cfg);
    }
}

/* The auth options and the mode DESIGN §7 derives from them. */
static void test_auth_mode(void **state)
{
    static const char *const jwks[] = {"--jwks-url", "http://127.0.0.1:9/jwks", "--jwt-issuer", "iss-1", "--jwt-audience",
                                       "authenticated", "--jwt-leeway", "5", "--auth-metrics", NULL};
    static const char *const forced[] = {"--auth", "none", NULL};
    static const char *const bad_leeway[] = {"--jwt-leeway", "301", NULL};
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(config_auth_mode(&cfg), "none");
    assert_int_equal(cfg.jwks_refresh, 300);
    assert_int_equal(cfg.jwt_leeway, 30);
    assert_int_equal(cfg.auth_metrics, 0);
    assert_int_equal(cfg.auth_cache_size, 10000);
    config_free(&cfg);
    assert_string_equal(config_auth_mode(NULL), "none");

    assert_int_equal(parse(&cfg, err, jwks), 0);
    assert_string_equal(config_auth_mode(&cfg), "jwt");
    assert_string_equal(cfg.jwt_issuer, "iss-1");
    assert_string_equal(cfg.jwt_audience, "authenticated");
    assert_int_equal(cfg.jwt_leeway, 5);
    assert_int_equal(cfg.auth_metrics, 1);
    config_free(&cfg);

    setenv("LGSERVE_API_KEYS", "0123456789abcdef=alice", 1);
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(config_auth_mode(&cfg), "api-key");
    config_free(&cfg);
    setenv("SUPABASE_URL", "http://127.0.0.1:9", 1);
    setenv("SUPABASE_KEY", "anon", 1);
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(config_auth_mode(&cfg), "supabase");
    config_free(&cfg);
    setenv("SUPABASE_JWT_SECRET", "s3cret", 1);
    assert_int_equal(parse(&cfg, err, NULL), 0);
    assert_string_equal(config_auth_mode(&cfg), "jwt");
    config_free(&cfg);
    assert_int_equal(parse(&cfg, err, forced), 0);
    assert_string_equal(config_auth_mode(&cfg), "none");
    config_free(&cfg);

    assert_int_equal(parse(&cfg, err, bad_leeway), -1);
    assert_non_null(strstr(err, "--jwt-leeway"));
    config_free(&cfg);
}

static void test_install(void **state)
{
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, NULL), 0);
    config_install(&cfg);
    assert_ptr_equal(config_current(), &cfg);
    config_install(NULL);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_env, clear_env),
        cmocka_unit_test_setup(test_flags_override_env, clear_env),
        cmocka_unit_test_setup(test_bool_flag_without_value, clear_env),
        cmocka_unit_test_setup(test_help_version, clear_env),
        cmocka_unit_test_setup(test_bad_values, clear_env),
        cmocka_unit_test_setup(test_install, clear_env),
        cmocka_unit_test_setup(test_auth_mode, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
