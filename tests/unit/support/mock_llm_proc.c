/*
 * tests/unit/support/mock_llm_proc.c — runs bench/mock_llm (path in LGSERVE_MOCK_LLM, set by
 * ctest) as a child process for the unit tests that talk to an OpenAI-compatible server. A test
 * program includes this file directly (as store_contract.c is), so everything is static.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The 42-word answer of the mock (bench/mock_llm.c). */
#define MOCK_ANSWER                                                                                \
    "The quick mock model streams this deterministic answer one word at a time so that clients, " \
    "agents and benchmarks can check every chunk, count the words, join them back together and "  \
    "compare the result with the expected text exactly every single time."
#define MOCK_WORDS 42

/* The mock server of this test run; port 0 while it is not running. */
static struct {
    pid_t pid;
    int port;
    char base_url[64];
    char port_file[64];
} mock;

/*
 * Starts the mock on a free port (one thread) and waits up to 10 s for its port file. `tag`
 * names the port file. Returns 0 (also when LGSERVE_MOCK_LLM is unset: the mock stays off and
 * mock.port is 0), or -1 when it could not be started.
 */
static int mock_llm_start(const char *tag)
{
    const char *bin = getenv("LGSERVE_MOCK_LLM");
    struct timespec ts = {0, 20 * 1000 * 1000};
    FILE *f;

    if (bin == NULL || bin[0] == '\0')
        return 0;
    snprintf(mock.port_file, sizeof mock.port_file, "/tmp/lgserve-%s-test-%d.port", tag, (int)getpid());
    unlink(mock.port_file);
    mock.pid = fork();
    if (mock.pid < 0)
        return -1;
    if (mock.pid == 0) {
        execl(bin, bin, "--port", "0", "--threads", "1", "--port-file", mock.port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 10 s */
        int status;

        if (waitpid(mock.pid, &status, WNOHANG) == mock.pid) {
            fprintf(stderr, "mock_llm (%s) exited at start\n", bin);
            mock.pid = 0;
            return -1;
        }
        f = fopen(mock.port_file, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", &mock.port) == 1;

            fclose(f);
            if (ok && mock.port > 0) {
                snprintf(mock.base_url, sizeof mock.base_url, "http://127.0.0.1:%d/v1", mock.port);
                return 0;
            }
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "mock_llm (%s) wrote no port file in 10 s\n", bin);
    return -1;
}

/* Stops the mock (by PID) and removes its port file. */
static void mock_llm_stop(void)
{
    if (mock.pid > 0) {
        kill(mock.pid, SIGTERM);
        waitpid(mock.pid, NULL, 0);
        mock.pid = 0;
    }
    if (mock.port_file[0] != '\0')
        unlink(mock.port_file);
}
