/*
 * runtime/llm/llm_config.c — model selection: turns a run's config.configurable and the process
 * configuration into an llm_config_t (contract in llm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"
#include "llm/llm_internal.h"
#include "util/config.h"

/*
 * Reads the optional string `key` of `configurable` (borrowed) into *out (borrowed, NULL when
 * absent, null or empty). Returns -1 with a message when the value is of another type.
 */
static int get_str(const json_t *configurable, const char *key, const char **out, char *err,
                   size_t cap)
{
    const json_t *v = configurable != NULL ? json_object_get(configurable, key) : NULL;

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        llm_set_err(err, cap, "config.configurable.%s: expected a string", key);
        return -1;
    }
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

/* A malloc'd copy of `s` (borrowed) without trailing slashes, or NULL when out of memory. */
static char *dup_trimmed_url(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/')
        n--;
    return strndup(s, n);
}

/* The non-empty string `s` (borrowed, may be NULL) or NULL. */
static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

int llm_config_resolve(const json_t *configurable, llm_config_t *out, char *err, size_t cap)
{
    const config_t *pc = config_current();
    const char *model_name, *override, *custom_model, *base_url, *custom_key, *prompt;
    const char *api_key = NULL, *model, *colon;
    const json_t *v;
    size_t plen;
    int custom, own_endpoint, rc = -1;

    memset(out, 0, sizeof *out);
    if (configurable != NULL && !json_is_object(configurable))
        configurable = NULL;
    if (get_str(configurable, "model_name", &model_name, err, cap) != 0 ||
        get_str(configurable, "model_name_override", &override, err, cap) != 0 ||
        get_str(configurable, "custom_model_name", &custom_model, err, cap) != 0 ||
        get_str(configurable, "base_url", &base_url, err, cap) != 0 ||
        get_str(configurable, "custom_api_key", &custom_key, err, cap) != 0 ||
        get_str(configurable, "system_prompt", &prompt, err, cap) != 0)
        goto Exit;
    if (override != NULL)
        model_name = override;
    if (model_name == NULL)
        model_name = pc != NULL ? nonempty(pc->model_name) : NULL;
    if (model_name == NULL)
        model_name = LLM_DEFAULT_MODEL_NAME;

    /* provider prefix */
    colon = strchr(model_name, ':');
    plen = colon != NULL ? (size_t)(colon - model_name) : 0;
    model = colon != NULL ? colon + 1 : model_name;
    custom = colon != NULL && plen == 6 && memcmp(model_name, "custom", 6) == 0;
    if (colon != NULL && !custom && !(plen == 6 && memcmp(model_name, "openai", 6) == 0)) {
        llm_set_err(err, cap, "model provider '%.*s' is not supported yet (only openai:)", (int)plen,
                model_name);
        goto Exit;
    }
    if (custom && base_url == NULL) {
        llm_set_err(err, cap, "model_name 'custom:' needs base_url (the OpenAI-compatible endpoint)");
        goto Exit;
    }
    if ((custom || base_url != NULL) && custom_model != NULL)
        model = custom_model;
    if (model[0] == '\0') {
        llm_set_err(err, cap, "model_name '%s' names no model%s", model_name,
                custom ? " (set custom_model_name)" : "");
        goto Exit;
    }

    /* endpoint */
    own_endpoint = base_url != NULL;
    if (base_url == NULL)
        base_url = pc != NULL ? nonempty(pc->openai_base_url) : NULL;
    if (base_url == NULL)
        base_url = LLM_DEFAULT_BASE_URL;
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        llm_set_err(err, cap, "base_url '%s' must start with http:// or https://", base_url);
        goto Exit;
    }

    /* key: custom_api_key (custom endpoints), apiKeys.OPENAI_API_KEY, OPENAI_API_KEY */
    if (own_endpoint)
        api_key = custom_key;
    v = configurable != NULL ? json_object_get(configurable, "apiKeys") : NULL;
    if (api_key == NULL && v != NULL && !json_is_null(v)) {
        const json_t *k;

        if (!json_is_object(v)) {
            llm_set_err(err, cap, "config.configurable.apiKeys: expected an object");
            goto Exit;
        }
        k = json_object_get(v, "OPENAI_API_KEY");
        if (k != NULL && !json_is_null(k) && !json_is_string(k)) {
            llm_set_err(err, cap, "config.configurable.apiKeys.OPENAI_API_KEY: expected a string");
            goto Exit;
        }
        api_key = nonempty(json_string_value(k));
    }
    if (api_key == NULL && pc != NULL)
        api_key = nonempty(pc->openai_api_key);

    /* sampling */
    out->temperature = LLM_DEFAULT_TEMPERATURE;
    out->has_temperature = 1;
    v = configurable != NULL ? json_object_get(configurable, "temperature") : NULL;
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_number(v)) {
            llm_set_err(err, cap, "config.configurable.temperature: expected a number");
            goto Exit;
        }
        out->temperature = json_number_value(v);
    }
    out->max_tokens = LLM_DEFAULT_MAX_TOKENS;
    v = configurable != NULL ? json_object_get(configurable, "max_tokens") : NULL;
    if (v != NULL && !json_is_null(v)) {
        double d = json_number_value(v);

        if (!json_is_number(v) || d < 1 || d != (double)(long)d) {
            llm_set_err(err, cap, "config.configurable.max_tokens: expected an integer >= 1");
            goto Exit;
        }
        out->max_tokens = (long)d;
    }

    if (prompt == NULL)
        prompt = LLM_DEFAULT_SYSTEM_PROMPT;
    out->model = strdup(model);
    out->base_url = dup_trimmed_url(base_url);
    out->api_key = api_key != NULL ? strdup(api_key) : NULL;
    if (asprintf(&out->system_prompt, "%s\n%s", prompt, LLM_SYSTEM_PROMPT_SUFFIX) < 0)
        out->system_prompt = NULL;
    if (out->model == NULL || out->base_url == NULL || out->system_prompt == NULL ||
        (api_key != NULL && out->api_key == NULL)) {
        llm_set_err(err, cap, "out of memory");
        goto Exit;
    }
    out->connect_timeout_ms = LLM_DEFAULT_CONNECT_TIMEOUT_MS;
    out->idle_timeout_ms = LLM_DEFAULT_IDLE_TIMEOUT_MS;
    rc = 0;
Exit:
    if (rc != 0)
        llm_config_free(out);
    return rc;
}

void llm_config_free(llm_config_t *cfg)
{
    free(cfg->model);
    free(cfg->base_url);
    free(cfg->api_key);
    free(cfg->system_prompt);
    memset(cfg, 0, sizeof *cfg);
}
