// Zero heap allocations per request in steady state, counted: this test binary replaces
// malloc, calloc, realloc and operator new with counting versions and counts only what the
// server's worker threads allocate. (Built without sanitizers, which replace malloc themselves.)
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "../../handlers/plugin.hpp"
#include "../../server/cpu_affinity.hpp"
#include "page_cache_drop.hpp"
#include "pinned_thread.hpp"
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

// The whole built-in workload; `access_log`: a file for the access log ("" for none).
void expect_no_allocations_per_request(const std::string& access_log) {
    config::ServerConfig cfg = test_config();
    cfg.access_log = access_log;
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
            exchange(c, get("/json"), 1);
            exchange(c, get("/metrics"), 1);  // a scrape: {fmt} into the response arena
            exchange(c, get("/healthz"), 1);
        }
    };
    workload();  // warm-up: first-touch of pages, lazy libc state
    const std::uint64_t before = g_worker_allocations.load();
    workload();  // 8 x (20 + 160 + 10 + 5) = 1,560 requests
    const std::uint64_t after = g_worker_allocations.load();
    EXPECT_EQ(after - before, 0u) << "heap allocations on worker threads during 1,560 requests";
}

TEST(HeapAllocations, NonePerRequestInSteadyState) { expect_no_allocations_per_request(""); }

// Lines formatted into the worker's own buffers, written by io_uring: no allocation either.
TEST(HeapAllocations, NonePerRequestWithTheAccessLogOn) {
    char path[] = "/tmp/lake-heap-access-XXXXXX";
    ::close(::mkstemp(path));
    expect_no_allocations_per_request(path);
    ::unlink(path);
}

std::string g_plugin_error;
void api_example_routes(handlers::Router& router) {
    const char* path = std::getenv("LAKE_API_EXAMPLE_PLUGIN");
    if (path != nullptr) g_plugin_error = handlers::load_plugin(path, router);
}

// The example plugin (routes with parameters, query and form decoding, JSON into the arena,
// before- and after-hooks) allocates nothing per request either.
TEST(HeapAllocations, NonePerRequestThroughTheApiExamplePlugin) {
    if (std::getenv("LAKE_API_EXAMPLE_PLUGIN") == nullptr)
        GTEST_SKIP() << "LAKE_API_EXAMPLE_PLUGIN not set";
    RunningServer s(test_config(), &api_example_routes);
    ASSERT_EQ(g_plugin_error, "");
    ASSERT_EQ(s.error(), "");
    const std::string form = "a=1&b=x%20y&c=%E2%9C%93";
    std::string batch = get("/users/42") + get("/search?q=hello+lake%21") +
                        "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: "
                        "application/x-www-form-urlencoded\r\nContent-Length: " +
                        std::to_string(form.size()) + "\r\n\r\n" + form +
                        get("/admin/ping", "Authorization: Bearer letmein\r\n");
    auto workload = [&] {
        for (int conn = 0; conn < 8; ++conn) {
            Client c(s.port());
            for (int i = 0; i < 25; ++i) exchange(c, batch, 4);
            exchange(c, get("/admin/ping"), 1, 401);
        }
    };
    workload();
    const std::uint64_t before = g_worker_allocations.load();
    workload();  // 8 x (100 + 1) = 808 requests
    const std::uint64_t after = g_worker_allocations.load();
    EXPECT_EQ(after - before, 0u) << "heap allocations on worker threads during 808 requests";
}

void async_example_routes(handlers::Router& router) {
    const char* path = std::getenv("LAKE_ASYNC_EXAMPLE_PLUGIN");
    if (path != nullptr) g_plugin_error = handlers::load_plugin(path, router);
}

// Handlers that wait (coroutine frames in the request arena, timers on the ring, bodies sent in
// parts) and static files (open, statx and read on the ring; 304s; ranges; a 1 MiB file from the
// page cache, and one whose pages were dropped, read in parts) allocate nothing per request either.
TEST(HeapAllocations, NonePerRequestForWaitingHandlersAndStaticFiles) {
    if (std::getenv("LAKE_ASYNC_EXAMPLE_PLUGIN") == nullptr)
        GTEST_SKIP() << "LAKE_ASYNC_EXAMPLE_PLUGIN not set";
    char dir[] = "/tmp/lake-heap-static-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string root = dir;
    for (const auto& [name, size] : {std::pair<const char*, std::size_t>{"/small.css", 4096},
                                     {"/small.css.gz", 1000},
                                     {"/big.bin", 1u << 20},
                                     {"/cold.bin", 1u << 20}}) {
        FILE* f = std::fopen((root + name).c_str(), "wb");
        ASSERT_NE(f, nullptr);
        const std::string bytes(size, 'x');
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
    }
    config::ServerConfig cfg = test_config();
    cfg.static_mounts.push_back({"/static", root, ""});
    cfg.static_mounts.push_back({"/gz", root, "", true});
    g_plugin_error.clear();
    RunningServer s(cfg, &async_example_routes);
    ASSERT_EQ(g_plugin_error, "");
    ASSERT_EQ(s.error(), "");
    std::string etag;
    {
        Client c(s.port());
        ASSERT_TRUE(c.send(get("/static/small.css")));
        etag = c.read_response().header("etag");
    }
    const std::string batch = get("/delay?ms=0") + get("/delay?ms=1") + get("/stream?parts=5") +
                              get("/static/small.css") + get("/static/big.bin") +
                              get("/static/small.css", "If-None-Match: " + etag + "\r\n") +
                              get("/static/big.bin", "Range: bytes=100-60000\r\n") +
                              get("/gz/small.css", "Accept-Encoding: br;q=0.5, gzip\r\n") +
                              get("/gz/big.bin", "Accept-Encoding: gzip, br\r\n") +
                              get("/static/cold.bin");
    const auto drop_cold_pages = [&] { ASSERT_TRUE(drop_from_page_cache(root + "/cold.bin")); };
    auto workload = [&] {
        for (int conn = 0; conn < 8; ++conn) {
            Client c(s.port());
            for (int i = 0; i < 10; ++i) {
                drop_cold_pages();
                ASSERT_TRUE(c.send(batch));
                const int statuses[] = {200, 200, 200, 200, 200, 304, 206, 200, 200, 200};
                for (int expected : statuses) ASSERT_EQ(c.read_response().status, expected);
            }
        }
    };
    workload();
    const server::WorkerCounters counted = s.server().counters();
    const std::uint64_t before = g_worker_allocations.load();
    workload();  // 8 x 10 x 10 = 800 requests
    const std::uint64_t after = g_worker_allocations.load();
    EXPECT_EQ(after - before, 0u) << "heap allocations on worker threads during 800 requests";
    // Both ways a large file goes: from the page cache (big.bin, thrice a batch) and read in
    // parts (cold.bin, its pages dropped before each batch).
    EXPECT_EQ(s.server().counters().file_sends.get() - counted.file_sends.get(), 240u);
    EXPECT_GE(
        s.server().counters().file_sends_not_cached.get() - counted.file_sends_not_cached.get(),
        80u);
    std::remove((root + "/small.css").c_str());
    std::remove((root + "/small.css.gz").c_str());
    std::remove((root + "/big.bin").c_str());
    std::remove((root + "/cold.bin").c_str());
    ::rmdir(dir);
}

// Proxied requests ([[proxy]] to a second lake-server in this process, whose workers are
// counted too): the upstream request head, the response received into the response arena,
// bodies both ways (with a length and chunked), pooled upstream connections.
TEST(HeapAllocations, NonePerProxiedRequest) {
    RunningServer upstream;
    ASSERT_EQ(upstream.error(), "");
    config::ServerConfig cfg = test_config();
    config::ServerConfig::ProxyMount m;
    m.prefix = "/api";
    m.upstreams = {"127.0.0.1:" + std::to_string(upstream.port())};
    m.strip_prefix = true;
    cfg.proxy_mounts.push_back(m);
    RunningServer proxy(cfg);
    ASSERT_EQ(proxy.error(), "");
    const std::string body(3000, 'b');
    const std::string batch =
        get("/api/plaintext") + get("/api/json?x=1", "X-Forwarded-For: 10.0.0.1\r\n") +
        "POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body +
        "POST /api/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    auto workload = [&] {
        for (int conn = 0; conn < 8; ++conn) {
            Client c(proxy.port());
            for (int i = 0; i < 25; ++i) exchange(c, batch, 4);
        }
    };
    workload();
    const std::uint64_t before = g_worker_allocations.load();
    workload();  // 8 x 25 x 4 = 800 proxied requests
    const std::uint64_t after = g_worker_allocations.load();
    EXPECT_EQ(after - before, 0u)
        << "heap allocations on worker threads during 800 proxied requests";
}

// The paths that move sockets between workers allocate nothing either: a full worker handing a
// new socket to its sibling, and open connections following their client to another CPU.
TEST(HeapAllocations, NoneWhenSocketsAreHandedOffOrMoved) {
    const std::vector<int> cpus = server::allowed_cpus();
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
    config::ServerConfig cfg = steered_config();
    cfg.max_connections_per_worker = 4;
    RunningServer s(cfg);
    ASSERT_EQ(s.error(), "");
    {
        PinnedThread pin(cpus[0]);  // warm-up: a connection served on worker 0
        ASSERT_TRUE(pin.ok());
        Client c(s.port());
        for (int i = 0; i < 10; ++i) exchange(c, get("/plaintext"), 1);
    }
    const std::uint64_t before = g_worker_allocations.load();
    std::vector<std::unique_ptr<Client>> clients;
    {
        PinnedThread pin(cpus[0]);  // six connections for worker 0's four slots: two handed off
        ASSERT_TRUE(pin.ok());
        for (int i = 0; i < 6; ++i) {
            clients.push_back(std::make_unique<Client>(s.port()));
            exchange(*clients.back(), get("/plaintext"), 1);
        }
    }
    {
        PinnedThread pin(cpus[1]);  // the client moves: its connections follow it
        ASSERT_TRUE(pin.ok());
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
        while (std::chrono::steady_clock::now() < until) {
            for (auto& c : clients) exchange(*c, get("/json"), 1);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    const std::uint64_t after = g_worker_allocations.load();
    clients.clear();
    s.server().stop();
    const server::WorkerCounters counters = s.server().counters();
    EXPECT_GE(counters.handed_off, 1u);
    EXPECT_GE(counters.moved_out, 1u);
    EXPECT_EQ(after - before, 0u) << "heap allocations on worker threads while moving sockets";
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
