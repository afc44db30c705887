// proxy/reverse_proxy.hpp — requests under a URL prefix forwarded to upstream HTTP/1.1 servers
// ([[proxy]] in the config), as a streaming waiting handler on the worker's io_uring.
//
// Per worker and upstream, a pool of idle keep-alive connections (nothing shared between
// workers); upstreams taken in turn (round robin), one that refuses or does not connect in time
// marked down for fail_timeout and the next one tried. The request's body is streamed to the
// upstream as it arrives (with its Content-Length, or chunked), the response streamed back as it
// arrives (a response that arrives whole goes out as one, with its length). 502 when no upstream
// answers or the answer is malformed, 504 when it is not in within read_timeout; an upstream that
// fails after the response began closes the client's connection (never a truncated body that
// looks whole). A pooled connection found closed is retried once on a fresh one when nothing
// that cannot be sent again was sent.
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

struct ProxySettings {
    std::string prefix;                  // "/api"
    std::vector<std::string> upstreams;  // "127.0.0.1:9001"
    bool strip_prefix = false;
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(60);
    std::chrono::nanoseconds fail_timeout = std::chrono::seconds(5);
    unsigned pool_size = 32;
};

class ReverseProxy {
  public:
    // Resolves the upstreams and adds the routes `prefix` and `prefix/{*rest}` for GET, HEAD,
    // POST, PUT, DELETE, PATCH and OPTIONS, and the per-worker hooks that make and close the
    // pools. nullptr and `error` set when an upstream does not resolve.
    static std::unique_ptr<ReverseProxy> mount(handlers::Router& router, ProxySettings settings,
                                               std::string& error);
    ~ReverseProxy();
    ReverseProxy(const ReverseProxy&) = delete;
    ReverseProxy& operator=(const ReverseProxy&) = delete;

    // Why an exchange with an upstream failed, for lake_upstream_failures_total{reason}.
    enum class Failure : std::uint8_t { Connect, Timeout, Response, Closed, kCount };

    // The Prometheus families lake_upstream_requests_total, lake_upstream_failures_total and
    // lake_upstream_pool_connections, for every mount.
    static void write_metrics(http::Response& response,
                              const std::vector<std::unique_ptr<ReverseProxy>>& mounts);

    const ProxySettings& settings() const noexcept { return settings_; }

  private:
    // A worker's counters for one upstream: written by that worker only, read by the metrics
    // page (relaxed atomics, each on its own cache line).
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
    explicit ReverseProxy(ProxySettings settings) : settings_(std::move(settings)) {}
    static handlers::Task forward(const http::Request& request, http::Response& response,
                                  void* self);
    void start_worker(unsigned worker);
    void stop_worker(unsigned worker);
    WorkerState* this_worker() const noexcept;
    unsigned pick(WorkerState& w) const noexcept;
    static void count(Stats& s, Failure f) noexcept;

    ProxySettings settings_;
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
