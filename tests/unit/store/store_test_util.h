/*
 * tests/unit/store/store_test_util.h — helpers shared by the store test programs: temporary
 * data directories (mkdtemp) and their recursive removal.
 */
#ifndef LG_TESTS_STORE_TEST_UTIL_H
#define LG_TESTS_STORE_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creates a fresh directory under `base`; returns its path (malloc'd, caller frees) or NULL. */
static inline char *store_test_mkdtemp_in(const char *base)
{
    char *path = NULL;

    if (asprintf(&path, "%s/lgserve-store-XXXXXX", base) < 0)
        return NULL;
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

/* Creates a fresh directory under $TMPDIR (or /tmp): on the disk. Caller frees the path. */
static inline char *store_test_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");

    return store_test_mkdtemp_in(base != NULL && base[0] != '\0' ? base : "/tmp");
}

/* Creates a fresh directory under /dev/shm when there is one (for suites that test meaning,
 * not the disk), else like store_test_mkdtemp. Caller frees the path. */
static inline char *store_test_mkdtemp_mem(void)
{
    return access("/dev/shm", W_OK) == 0 ? store_test_mkdtemp_in("/dev/shm") : store_test_mkdtemp();
}

static inline int store_test_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes `dir` (borrowed) and everything under it. */
static inline void store_test_rmtree(const char *dir)
{
    if (dir != NULL)
        nftw(dir, store_test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
