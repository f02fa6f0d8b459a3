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

/* Creates a fresh directory under $TMPDIR (or /tmp), or under /dev/shm when `in_memory` and it
 * exists (for suites that test meaning, not the disk); returns its path (malloc'd, caller
 * frees) or NULL. */
static inline char *store_test_mkdtemp(int in_memory)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;

    if (in_memory && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    else if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if (asprintf(&path, "%s/lgserve-store-XXXXXX", base) < 0)
        return NULL;
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
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
