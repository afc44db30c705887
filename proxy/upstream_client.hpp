// proxy/upstream_client.hpp — an HTTP/1.1 client for coroutine handlers (handlers/task.hpp): a set
// of upstream servers taken in turn, with a pool of idle keep-alive connections per worker and
// upstream (nothing shared between workers: no lock, no atomic read-modify-write), connect, send
// and receive on the worker's io_uring (handlers/io.hpp) with connect and read deadlines, and
// upstreams that fail marked down for a while. Responses are parsed with ResponseParser
// (proxy/response_parser.hpp), headers and body as they arrive.
//
//   UpstreamConnection c;
//   int rc = 0;
//   co_await client.connect(*req.io, c, /*may_resend=*/true, rc);   // 0, or why none connected
//   co_await client.send(*req.io, c, request_bytes, rc);            // all of them, or -errno
//   int n = co_await client.receive(*req.io, c, buffer);            // bytes, 0, -ETIMEDOUT
//   ... parser.feed(...) ...
//   client.done(c, parser.reusable());   // back to the pool when clean; else closed
//
// A handler that ends any other way (returns, throws, or is destroyed because its client left)
// closes its connection: it never goes back to the pool in an unknown state.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../handlers/router.hpp"
#include "upstream_address.hpp"
#include "upstream_pool.hpp"

namespace lake::proxy {

struct UpstreamSettings {
    std::vector<std::string> upstreams;  // "127.0.0.1:9001", "[::1]:9001", "app:8080"
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
    std::chrono::nanoseconds fail_timeout = std::chrono::seconds(5);  // marked down this long
    unsigned pool_size = 128;  // idle connections kept per worker and upstream
};

// One connection to an upstream, held by a handler for one exchange; closed when it goes out of
// scope unless UpstreamClient::done() gave it back to the pool.
class UpstreamConnection {
  public:
    UpstreamConnection() = default;
    UpstreamConnection(const UpstreamConnection&) = delete;
    UpstreamConnection& operator=(const UpstreamConnection&) = delete;
    ~UpstreamConnection() { close(); }

    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    // It came from the pool: the upstream may have closed it meanwhile (then a request that can
    // be sent twice is retried once on a fresh connection).
    bool reused() const noexcept { return reused_; }
    unsigned upstream() const noexcept { return upstream_; }
    void close() noexcept;

  private:
    friend class UpstreamClient;
    int fd_ = -1;
    unsigned upstream_ = 0;
    bool reused_ = false;
};

class UpstreamClient {
  public:
    // Why an exchange failed, for lake_upstream_failures_total{reason}.
    enum class Failure : std::uint8_t { Connect, Timeout, Response, Closed, kCount };

    // Resolves the upstreams and registers the per-worker hooks that make and close the pools
    // with `router`. `name` labels its metrics (a proxy's prefix). nullptr and `error` set when an
    // upstream does not resolve.
    static std::unique_ptr<UpstreamClient> create(handlers::Router& router, std::string name,
                                                  UpstreamSettings settings, std::string& error);
    ~UpstreamClient();
    UpstreamClient(const UpstreamClient&) = delete;
    UpstreamClient& operator=(const UpstreamClient&) = delete;

    // Whether this thread is a worker the client was set up on (false: answer 502).
    bool on_a_worker() const noexcept;
    const UpstreamSettings& settings() const noexcept { return settings_; }
    const std::string& address_text(unsigned upstream) const noexcept {
        return upstreams_[upstream].text;
    }

    // Gives `c` a connection: the next upstream in turn that is not marked down (or, when all
    // are, the next one anyway), from its pool — checked still open first unless `may_resend`
    // (a request that can be sent again if it turns out closed) — or newly connected. An
    // upstream that refuses or does not connect within connect_timeout is marked down and the
    // next one tried, each at most once. `fresh`: never from a pool. `result`: 0, or the last
    // error when none connected.
    handlers::Task connect(handlers::Io& io, UpstreamConnection& c, bool may_resend, bool fresh,
                           int& result) const;
    // Sends all of `bytes`: `result` 0, or a negative errno.
    handlers::Task send(handlers::Io& io, UpstreamConnection& c, std::string_view bytes,
                        int& result) const;
    // Receives what has come (waiting at most read_timeout): bytes, 0 at the end, -ETIMEDOUT, or
    // another negative errno.
    handlers::IoAwaitable receive(handlers::Io& io, UpstreamConnection& c,
                                  std::span<char> into) const noexcept {
        return io.receive(c.fd(), into, settings_.read_timeout);
    }
    // The exchange failed: counted, the connection closed, and after a timeout the upstream
    // marked down.
    void failed(UpstreamConnection& c, Failure why) const noexcept;
    // The exchange is over: the connection goes back to the pool when `clean` (a complete
    // keep-alive response and nothing after it), else it is closed.
    void done(UpstreamConnection& c, bool clean) const noexcept;

    // lake_upstream_requests_total, lake_upstream_failures_total and
    // lake_upstream_pool_connections for every client, labelled prefix="name".
    static void write_metrics(http::Response& response,
                              const std::vector<const UpstreamClient*>& clients);

  private:
    // A worker's counters for one upstream: written by that worker only (relaxed load + store),
    // read by the metrics page; each on its own cache line.
    struct alignas(64) Stats {
        std::atomic<std::uint64_t> requests{0};
        std::atomic<std::uint64_t> failures[static_cast<int>(Failure::kCount)] = {};
        std::atomic<std::uint64_t> idle{0};
    };
    struct WorkerState {
        std::vector<UpstreamPool> pools;  // by upstream
        Stats* stats = nullptr;           // by upstream
        unsigned next = 0;                // round robin
    };

    UpstreamClient(std::string name, UpstreamSettings settings)
        : name_(std::move(name)), settings_(std::move(settings)) {}
    void start_worker(unsigned worker);
    void stop_worker(unsigned worker);
    WorkerState& this_worker() const noexcept;
    unsigned pick(WorkerState& w) const noexcept;
    void mark_down(unsigned upstream) const noexcept;
    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    std::string name_;
    UpstreamSettings settings_;
    std::vector<UpstreamAddress> upstreams_;
    static constexpr unsigned kMaxWorkers = 1024;
    std::vector<std::unique_ptr<WorkerState>> workers_ =
        std::vector<std::unique_ptr<WorkerState>>(kMaxWorkers);
    // Counters outlive their worker's state, for the metrics page; made under the lock.
    mutable std::mutex stats_mutex_;
    std::vector<std::unique_ptr<Stats[]>> stats_ =
        std::vector<std::unique_ptr<Stats[]>>(kMaxWorkers);
};

}  // namespace lake::proxy
