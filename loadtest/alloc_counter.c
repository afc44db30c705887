/* loadtest/alloc_counter.c — an LD_PRELOAD shim that counts heap allocations in a process.
 *
 *   LD_PRELOAD=build/.../liballoc-counter.so LAKE_ALLOC_COUNT_FILE=/tmp/n lake-server ...
 *   kill -s RTMIN+5 <pid>   # writes the count so far (malloc + calloc + realloc + memalign)
 *
 * loadtest/compare reads it before and after a load run to report allocations per request. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ulong g_count;

void* malloc(size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
void* memalign(size_t align, size_t n) {
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) { return memalign(align, n); }
int posix_memalign(void** out, size_t align, size_t n) {
    void* p = memalign(align, n);
    if (p == NULL) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* Async-signal-safe: formats the count by hand and write()s it. */
static void dump(int sig) {
    (void)sig;
    const char* path = getenv("LAKE_ALLOC_COUNT_FILE");
    if (path == NULL) return;
    char buf[32];
    int i = (int)sizeof(buf);
    unsigned long v = atomic_load(&g_count);
    buf[--i] = '\n';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    (void)!write(fd, buf + i, sizeof(buf) - (size_t)i);
    close(fd);
}

__attribute__((constructor)) static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = dump;
    sa.sa_flags = SA_RESTART;
    // A real-time signal lake-server has no use for (SIGUSR2 means "drain" to it).
    sigaction(SIGRTMIN + 5, &sa, NULL);
}
