/*
 * tests/conformance/test_store.c — black-box checks of the Store API against the real binary:
 * put/get/delete in every namespace encoding, search with filters and paging, namespace
 * listing, TTL expiry and refresh, and the error cases (which must change nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static harness_server_t srv;

static int group_setup(void **state)
{
    static const char *const args[] = {"--workers", "2", "--sweep-interval", "1", NULL};
    (void)state;
    return harness_start(&srv, args, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    return 0;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const char *method, const char *path, const char *body, long status)
{
    return harness_expect(&srv, method, path, body, status);
}

/* Like req for a request whose response is not inspected. */
static void req_ok(const char *method, const char *path, const char *body, long status)
{
    harness_resp_t r = req(method, path, body, status);
    harness_resp_free(&r);
}

/* A 422 whose JSON detail contains `needle`. */
static void req_422(const char *method, const char *path, const char *body, const char *needle)
{
    harness_resp_t r = req(method, path, body, 422);
    if (strstr(harness_detail(&r), needle) == NULL)
        fprintf(stderr, "detail %s lacks %s\n", harness_detail(&r), needle);
    assert_non_null(strstr(harness_detail(&r), needle));
    harness_resp_free(&r);
}

/* PUT /store/items {namespace: <ns_json>, key, value: <value_json>[, ttl]} answering 204. */
static void put(const char *ns_json, const char *key, const char *value_json, const char *ttl)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"namespace\":%s,\"key\":\"%s\",\"value\":%s%s%s}", ns_json, key, value_json,
             ttl ? ",\"ttl\":" : "", ttl ? ttl : "");
    harness_resp_t r = req("PUT", "/store/items", body, 204);
    assert_int_equal(r.body_len, 0);
    harness_resp_free(&r);
}

/* GET /store/items?<query> answering 200: the item (new reference), or NULL when the body is
 * JSON null (what the official servers answer for a missing item). */
static json_t *get(const char *query)
{
    char path[512];
    json_t *item;
    snprintf(path, sizeof(path), "/store/items?%s", query);
    harness_resp_t r = req("GET", path, NULL, 200);
    json_t *body = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
    assert_non_null(body);
    assert_true(json_is_null(body) || json_is_object(body));
    item = json_is_null(body) ? NULL : json_incref(body);
    json_decref(body);
    harness_resp_free(&r);
    return item;
}

/* POST /store/items/search with `body`: the number of items, each checked for the Item shape;
 * the keys are written space-separated in order into `keys` when not NULL. */
static size_t search(const char *body, char *keys, size_t cap)
{
    harness_resp_t r = req("POST", "/store/items/search", body, 200);
    json_t *items = json_object_get(r.json, "items"), *it;
    size_t i, n;
    assert_true(json_is_array(items));
    n = json_array_size(items);
    if (keys != NULL)
        keys[0] = '\0';
    json_array_foreach(items, i, it) {
        assert_true(json_is_array(json_object_get(it, "namespace")));
        assert_true(json_is_string(json_object_get(it, "key")));
        assert_true(json_is_object(json_object_get(it, "value")));
        assert_true(json_is_string(json_object_get(it, "created_at")));
        assert_true(json_is_string(json_object_get(it, "updated_at")));
        if (keys != NULL) {
            if (keys[0] != '\0')
                strncat(keys, " ", cap - strlen(keys) - 1);
            strncat(keys, json_string_value(json_object_get(it, "key")), cap - strlen(keys) - 1);
        }
    }
    harness_resp_free(&r);
    return n;
}

/* POST /store/namespaces with `body`: the compact JSON of the "namespaces" member into buf. */
static const char *namespaces(const char *body, char *buf, size_t cap)
{
    harness_resp_t r = req("POST", "/store/namespaces", body, 200);
    json_t *list = json_object_get(r.json, "namespaces");
    char *s;
    assert_true(json_is_array(list));
    s = json_dumps(list, JSON_COMPACT);
    snprintf(buf, cap, "%s", s);
    free(s);
    harness_resp_free(&r);
    return buf;
}

static void test_put_get_shapes(void **state)
{
    json_t *it;
    const char *created;
    char created_copy[64];
    (void)state;
    put("[\"shapes\",\"users\"]", "u1", "{\"name\":\"Ada\",\"n\":1}", NULL);
    it = get("namespace=shapes.users&key=u1");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "key")), "u1");
    assert_int_equal(json_array_size(json_object_get(it, "namespace")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "namespace"), 0)), "shapes");
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "namespace"), 1)), "users");
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "value"), "name")), "Ada");
    created = json_string_value(json_object_get(it, "created_at"));
    assert_non_null(created);
    assert_non_null(strchr(created, 'T'));
    assert_true(strstr(created, "+00:00") != NULL || strchr(created, 'Z') != NULL);
    snprintf(created_copy, sizeof(created_copy), "%s", created);
    json_decref(it);

    /* replace: value changes, created_at stays, updated_at moves */
    msleep(5);
    put("[\"shapes\",\"users\"]", "u1", "{\"name\":\"Grace\"}", NULL);
    it = get("namespace=shapes.users&key=u1");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "value"), "name")), "Grace");
    assert_null(json_object_get(json_object_get(it, "value"), "n"));
    assert_string_equal(json_string_value(json_object_get(it, "created_at")), created_copy);
    assert_string_not_equal(json_string_value(json_object_get(it, "updated_at")), created_copy);
    json_decref(it);
}

static void test_get_namespace_encodings(void **state)
{
    json_t *it;
    (void)state;
    put("[\"enc\",\"a,b\",\"c d\"]", "k", "{\"v\":1}", NULL);
    /* the SDKs' dot-joined form, percent-encoded */
    it = get("namespace=enc.a%2Cb.c%20d&key=k");
    assert_non_null(it);
    json_decref(it);
    it = get("namespace=enc.a,b.c+d&key=k");
    assert_non_null(it);
    json_decref(it);
    /* Python-style repeated keys */
    it = get("namespace=enc&namespace=a%2Cb&namespace=c%20d&key=k");
    assert_non_null(it);
    json_decref(it);
    /* a percent-encoded parameter name */
    it = get("name%73pace=enc.a%2Cb.c%20d&key=k");
    assert_non_null(it);
    json_decref(it);
    /* a JSON array */
    it = get("namespace=%5B%22enc%22%2C%22a%2Cb%22%2C%22c%20d%22%5D&key=k");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "namespace"), 1)), "a,b");
    json_decref(it);
    /* a prefix of the namespace is another namespace */
    assert_null(get("namespace=enc&key=k"));
    assert_null(get("namespace=enc.a%2Cb&key=k"));
    /* other key */
    assert_null(get("namespace=enc.a%2Cb.c%20d&key=other"));
}

static void test_get_missing_and_delete(void **state)
{
    json_t *it;
    (void)state;
    assert_null(get("namespace=del.x&key=nope"));
    put("[\"del\",\"x\"]", "k1", "{\"a\":1}", NULL);
    put("[\"del\",\"x\"]", "k2", "{\"a\":2}", NULL);
    req_ok("DELETE", "/store/items", "{\"namespace\":[\"del\",\"x\"],\"key\":\"k1\"}", 204);
    assert_null(get("namespace=del.x&key=k1"));
    it = get("namespace=del.x&key=k2");
    assert_non_null(it);
    json_decref(it);
    /* deleting what is not there is not an error (the official server answers 204 too) */
    req_ok("DELETE", "/store/items", "{\"namespace\":[\"del\",\"x\"],\"key\":\"k1\"}", 204);
    assert_int_equal(search("{\"namespace_prefix\":[\"del\"]}", NULL, 0), 1);
}

static void test_put_errors_change_nothing(void **state)
{
    json_t *it;
    char keys[256];
    (void)state;
    put("[\"bad\"]", "keep", "{\"v\":\"original\"}", NULL);
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\",\"a.b\"],\"key\":\"k\",\"value\":{}}", "namespace[1]");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\",\"\"],\"key\":\"k\",\"value\":{}}", "namespace[1]");
    req_422("PUT", "/store/items", "{\"namespace\":[],\"key\":\"k\",\"value\":{}}", "namespace");
    req_422("PUT", "/store/items", "{\"namespace\":\"bad\",\"key\":\"k\",\"value\":{}}", "namespace");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\",1],\"key\":\"k\",\"value\":{}}", "namespace");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"value\":{}}", "key");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"\",\"value\":{}}", "key");
    req_422("PUT", "/store/items", "{\"key\":\"k\",\"value\":{}}", "namespace");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"k\"}", "value");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":[1,2]}", "value");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":\"s\"}", "value");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":{},\"ttl\":-1}", "ttl");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":{},\"ttl\":0}", "ttl");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":{},\"ttl\":\"5\"}", "ttl");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":{},\"ttl\":1e308}", "ttl");
    req_422("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"keep\",\"value\":{},\"index\":true}", "index");
    req_422("PUT", "/store/items", "[1]", "");
    req_422("PUT", "/store/items", "{not json", "JSON");
    /* nothing changed */
    it = get("namespace=bad&key=keep");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "value"), "v")), "original");
    json_decref(it);
    assert_int_equal(search("{\"namespace_prefix\":[\"bad\"]}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "keep");

    /* index and ttl: null are accepted, and index false or a list of paths too */
    put("[\"bad\"]", "idx1", "{\"t\":\"x\"}", "null");
    req_ok("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"idx2\",\"value\":{},\"index\":false}", 204);
    req_ok("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"idx3\",\"value\":{},\"index\":[\"t\"],\"ttl\":null}", 204);
    req_ok("PUT", "/store/items", "{\"namespace\":[\"bad\"],\"key\":\"idx4\",\"value\":{},\"index\":null}", 204);
    assert_int_equal(search("{\"namespace_prefix\":[\"bad\"]}", NULL, 0), 5);
}

static void test_get_delete_errors(void **state)
{
    (void)state;
    put("[\"gerr\",\"x\"]", "k", "{\"v\":1}", NULL);
    req_422("GET", "/store/items?namespace=gerr..x&key=k", NULL, "namespace[1]");
    req_422("GET", "/store/items?namespace=gerr.x.&key=k", NULL, "namespace[2]");
    req_422("GET", "/store/items?namespace=&key=k", NULL, "namespace[0]");
    req_422("GET", "/store/items?key=k", NULL, "namespace");
    req_422("GET", "/store/items?namespace=gerr.x", NULL, "key");
    req_422("GET", "/store/items?namespace=gerr.x&key=", NULL, "key");
    req_422("GET", "/store/items?namespace=%5B%22gerr%22%2C%22a.b%22%5D&key=k", NULL, "namespace[1]");
    req_422("GET", "/store/items?namespace=gerr.x&key=k&refresh_ttl=maybe", NULL, "refresh_ttl");
    req_422("DELETE", "/store/items", "{\"namespace\":[\"gerr\",\"x.y\"],\"key\":\"k\"}", "namespace[1]");
    req_422("DELETE", "/store/items", "{\"namespace\":[\"gerr\",\"x\"]}", "key");
    req_422("DELETE", "/store/items", "{\"key\":\"k\"}", "namespace");
    req_422("DELETE", "/store/items", NULL, "body");
    /* nothing was deleted */
    json_t *it = get("namespace=gerr.x&key=k");
    assert_non_null(it);
    json_decref(it);
}

static void test_search_filters(void **state)
{
    char keys[256];
    (void)state;
    put("[\"flt\",\"p\"]", "a", "{\"n\":1,\"s\":\"apple\",\"tag\":\"x\",\"meta\":{\"lang\":\"en\"}}", NULL);
    put("[\"flt\",\"p\"]", "b", "{\"n\":2,\"s\":\"banana\",\"tag\":\"y\",\"meta\":{\"lang\":\"fr\"}}", NULL);
    put("[\"flt\",\"q\"]", "c", "{\"n\":3,\"s\":\"cherry\",\"tag\":\"x\"}", NULL);
    put("[\"flt\",\"q\"]", "d", "{\"n\":4.5,\"s\":\"date\"}", NULL);
    put("[\"flt2\"]", "e", "{\"n\":1}", NULL);

    /* newest update first */
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"]}", keys, sizeof(keys)), 4);
    assert_string_equal(keys, "d c b a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\",\"q\"]}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "d c");
    /* a prefix matches whole labels only */
    assert_int_equal(search("{\"namespace_prefix\":[\"fl\"]}", NULL, 0), 0);
    /* equality, and each operator */
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"tag\":\"x\"}}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "c a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$eq\":2}}}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"tag\":{\"$ne\":\"x\"}}}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "d b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$gt\":2}}}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "d c");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$gte\":2}}}", keys, sizeof(keys)), 3);
    assert_string_equal(keys, "d c b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$lt\":3}}}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "b a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$lte\":3}}}", keys, sizeof(keys)), 3);
    assert_string_equal(keys, "c b a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$gt\":1,\"$lt\":4.5}}}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "c b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"s\":{\"$gte\":\"banana\"}}}", keys, sizeof(keys)), 3);
    assert_string_equal(keys, "d c b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":1,\"tag\":\"x\"}}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"meta.lang\":\"fr\"}}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "b");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"filter\":{\"missing\":1}}", NULL, 0), 0);
    /* no prefix, null prefix and null filter: everything */
    assert_true(search("{\"filter\":{\"n\":1}}", NULL, 0) >= 2);
    assert_int_equal(search("{\"namespace_prefix\":null,\"filter\":null,\"refresh_ttl\":null,\"filter\":{\"n\":{\"$gte\":4}}}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "d");
    /* paging */
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"limit\":2}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "d c");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"limit\":2,\"offset\":2}", keys, sizeof(keys)), 2);
    assert_string_equal(keys, "b a");
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"limit\":2,\"offset\":4}", NULL, 0), 0);
    assert_int_equal(search("{\"namespace_prefix\":[\"flt\"],\"limit\":0}", NULL, 0), 0);
    {
        char buf[32];
        harness_resp_t r = req("POST", "/store/items/search", "{\"namespace_prefix\":[\"flt\"],\"limit\":3}", 200);
        assert_string_equal(harness_header(&r, "x-pagination-total", buf, sizeof(buf)), "4");
        assert_string_equal(harness_header(&r, "x-pagination-next", buf, sizeof(buf)), "3");
        harness_resp_free(&r);
    }
    /* errors */
    req_422("POST", "/store/items/search", "{\"query\":\"fruit\"}", "query");
    req_422("POST", "/store/items/search", "{\"namespace_prefix\":[\"flt\"],\"filter\":{\"n\":{\"$near\":1}}}", "filter");
    req_422("POST", "/store/items/search", "{\"namespace_prefix\":[\"flt.p\"]}", "namespace_prefix[0]");
    req_422("POST", "/store/items/search", "{\"namespace_prefix\":[\"\"]}", "namespace_prefix[0]");
    req_422("POST", "/store/items/search", "{\"filter\":[1]}", "filter");
    req_422("POST", "/store/items/search", "{\"limit\":-1}", "limit");
    req_422("POST", "/store/items/search", "{\"offset\":-1}", "offset");
    req_422("POST", "/store/items/search", "{\"limit\":\"2\"}", "limit");
}

static void test_namespaces(void **state)
{
    char buf[1024];
    (void)state;
    put("[\"nsl\",\"u1\",\"prefs\"]", "k", "{}", NULL);
    put("[\"nsl\",\"u2\",\"prefs\"]", "k", "{}", NULL);
    put("[\"nsl\",\"u1\",\"notes\"]", "k", "{}", NULL);
    put("[\"nsl\",\"u1\",\"notes\"]", "k2", "{}", NULL);
    put("[\"nsl\"]", "root", "{}", NULL);
    put("[\"other\",\"prefs\"]", "k", "{}", NULL);

    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"]}", buf, sizeof(buf)),
                        "[[\"nsl\"],[\"nsl\",\"u1\",\"notes\"],[\"nsl\",\"u1\",\"prefs\"],[\"nsl\",\"u2\",\"prefs\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"],\"suffix\":[\"prefs\"]}", buf, sizeof(buf)),
                        "[[\"nsl\",\"u1\",\"prefs\"],[\"nsl\",\"u2\",\"prefs\"]]");
    assert_string_equal(namespaces("{\"suffix\":[\"prefs\"]}", buf, sizeof(buf)),
                        "[[\"nsl\",\"u1\",\"prefs\"],[\"nsl\",\"u2\",\"prefs\"],[\"other\",\"prefs\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\",\"*\",\"prefs\"]}", buf, sizeof(buf)),
                        "[[\"nsl\",\"u1\",\"prefs\"],[\"nsl\",\"u2\",\"prefs\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"],\"max_depth\":2}", buf, sizeof(buf)),
                        "[[\"nsl\"],[\"nsl\",\"u1\"],[\"nsl\",\"u2\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"],\"max_depth\":1}", buf, sizeof(buf)), "[[\"nsl\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"],\"limit\":2,\"offset\":1}", buf, sizeof(buf)),
                        "[[\"nsl\",\"u1\",\"notes\"],[\"nsl\",\"u1\",\"prefs\"]]");
    assert_string_equal(namespaces("{\"prefix\":[\"nsl\"],\"offset\":10}", buf, sizeof(buf)), "[]");
    assert_string_equal(namespaces("{\"prefix\":[\"nope\"]}", buf, sizeof(buf)), "[]");
    /* an empty body lists everything (at least the namespaces above) */
    namespaces("{}", buf, sizeof(buf));
    assert_non_null(strstr(buf, "[\"other\",\"prefs\"]"));
    /* errors */
    req_422("POST", "/store/namespaces", "{\"prefix\":[\"a.b\"]}", "prefix[0]");
    req_422("POST", "/store/namespaces", "{\"suffix\":[\"\"]}", "suffix[0]");
    req_422("POST", "/store/namespaces", "{\"max_depth\":0}", "max_depth");
    req_422("POST", "/store/namespaces", "{\"max_depth\":\"2\"}", "max_depth");
    req_422("POST", "/store/namespaces", "{\"limit\":-5}", "limit");
    req_422("POST", "/store/namespaces", "{\"prefix\":\"nsl\"}", "prefix");
}

/*
 * TTL (minutes; 0.1 = 6 s): an item read with refresh (the GET default, or search) lives on past
 * its first expiry, an item read with refresh_ttl=false does not, and an expired item is gone
 * from get, search and the namespace list. The server sweeps every second.
 */
static void test_ttl_expiry_and_refresh(void **state)
{
    json_t *it;
    char keys[256], buf[512];
    (void)state;
    put("[\"ttl\",\"a\"]", "get", "{\"v\":1}", "0.1");
    put("[\"ttl\",\"b\"]", "search", "{\"v\":2}", "0.1");
    put("[\"ttl\",\"c\"]", "plain", "{\"v\":3}", "0.1");
    put("[\"ttl\",\"d\"]", "forever", "{\"v\":4}", NULL);
    /* t = 3 s: refresh a (GET default) and b (search); read c without refresh */
    msleep(3000);
    it = get("namespace=ttl.c&key=plain&refresh_ttl=false");
    assert_non_null(it);
    json_decref(it);
    it = get("namespace=ttl.a&key=get");
    assert_non_null(it);
    json_decref(it);
    assert_int_equal(search("{\"namespace_prefix\":[\"ttl\",\"b\"],\"refresh_ttl\":true}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "search");
    /* t = 7.5 s: c expired at 6 s; a and b now expire at ~9 s */
    msleep(4500);
    assert_null(get("namespace=ttl.c&key=plain&refresh_ttl=false"));
    it = get("namespace=ttl.a&key=get&refresh_ttl=false");
    assert_non_null(it);
    json_decref(it);
    it = get("namespace=ttl.b&key=search&refresh_ttl=false");
    assert_non_null(it);
    json_decref(it);
    assert_int_equal(search("{\"namespace_prefix\":[\"ttl\"],\"refresh_ttl\":false}", keys, sizeof(keys)), 3);
    assert_null(strstr(keys, "plain"));
    assert_null(strstr(namespaces("{\"prefix\":[\"ttl\"]}", buf, sizeof(buf)), "\"c\""));
    /* t = 10.5 s: the refreshed ones are gone too */
    msleep(3000);
    assert_null(get("namespace=ttl.a&key=get"));
    assert_null(get("namespace=ttl.b&key=search"));
    assert_int_equal(search("{\"namespace_prefix\":[\"ttl\"]}", keys, sizeof(keys)), 1);
    assert_string_equal(keys, "forever");
    assert_string_equal(namespaces("{\"prefix\":[\"ttl\"]}", buf, sizeof(buf)), "[[\"ttl\",\"d\"]]");
    /* a put without ttl replaces one with a TTL: the item no longer expires */
    put("[\"ttl\",\"e\"]", "k", "{}", "0.02");
    put("[\"ttl\",\"e\"]", "k", "{}", "null");
    msleep(2000);
    it = get("namespace=ttl.e&key=k");
    assert_non_null(it);
    json_decref(it);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_shapes),
        cmocka_unit_test(test_get_namespace_encodings),
        cmocka_unit_test(test_get_missing_and_delete),
        cmocka_unit_test(test_put_errors_change_nothing),
        cmocka_unit_test(test_get_delete_errors),
        cmocka_unit_test(test_search_filters),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_ttl_expiry_and_refresh),
    };
    return cmocka_run_group_tests_name("conformance_store", tests, group_setup, group_teardown);
}
