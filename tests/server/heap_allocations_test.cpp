// Zero heap allocations per request in steady state, counted: this test binary replaces
// malloc, calloc, realloc and operator new with counting versions and counts only what the
// server's worker threads allocate. (Built without sanitizers, which replace malloc themselves.)
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "server_fixture.hpp"

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {
std::atomic<std::uint64_t> g_worker_allocations{0};
pthread_t g_main_thread = pthread_self();

void count() {
    if (!pthread_equal(pthread_self(), g_main_thread))
        g_worker_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" void* malloc(std::size_t n) {
    count();
    return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
    count();
    return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
    count();
    return __libc_realloc(p, n);
}

namespace lake::test {
namespace {

void exchange(Client& c, const std::string& batch, int responses, int status = 200) {
    ASSERT_TRUE(c.send(batch));
    for (int i = 0; i < responses; ++i) ASSERT_EQ(c.read_response().status, status);
}

TEST(HeapAllocations, NonePerRequestInSteadyState) {
    config::ServerConfig cfg = test_config();
    RunningServer s(cfg);
    ASSERT_EQ(s.error(), "");
    std::string pipelined;
    for (int i = 0; i < 16; ++i) pipelined += get(i % 2 ? "/json" : "/plaintext");
    const std::string echo_small =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    const std::string body(200 * 1024, 'b');
    const std::string echo_large =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    auto workload = [&] {
        for (int conn = 0; conn < 8; ++conn) {  // new connections, keep-alive, pipelining
            Client c(s.port());
            for (int i = 0; i < 20; ++i) exchange(c, get("/plaintext"), 1);
            for (int i = 0; i < 10; ++i) exchange(c, pipelined, 16);
            for (int i = 0; i < 10; ++i) exchange(c, echo_small, 1);
            exchange(c, echo_large, 1);
            exchange(c, get("/missing"), 1, 404);
        }
    };
    workload();  // warm-up: first-touch of pages, lazy libc state
    const std::uint64_t before = g_worker_allocations.load();
    workload();  // 8 x (20 + 160 + 10 + 2) = 1,536 requests
    const std::uint64_t after = g_worker_allocations.load();
    EXPECT_EQ(after - before, 0u) << "heap allocations on worker threads during 1,536 requests";
}

TEST(HeapAllocations, TheCounterSeesWorkerThreadAllocations) {
    // Guards the test above against a hook that silently counts nothing.
    const std::uint64_t before = g_worker_allocations.load();
    std::thread t([] { std::free(std::malloc(64)); });
    t.join();
    EXPECT_GE(g_worker_allocations.load() - before, 1u);
}

}  // namespace
}  // namespace lake::test
