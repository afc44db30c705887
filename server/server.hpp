// server/server.hpp — the listening sockets and the worker threads, started and stopped as one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../config/server_config.hpp"
#include "../handlers/router.hpp"
#include "../handlers/static_files.hpp"
#include "../proxy/reverse_proxy.hpp"
#include "metrics_listener.hpp"
#include "worker.hpp"

namespace lake::server {

class Server {
  public:
    Server(config::ServerConfig config, handlers::Router router);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { stop(); }

    // Listeners already open, one per worker, handed down by the master process (--master):
    // start() uses them instead of binding the port, so that a new generation joins nothing and
    // takes over the same SO_REUSEPORT group (CPU steering and all) from the old one.
    void inherit_listeners(std::vector<int> fds) { inherited_ = std::move(fds); }
    // Binds the port, starts every worker and waits until each has its ring, lake and slots.
    // Returns an empty string, or what went wrong (then nothing is left running).
    std::string start();
    // The routes the server adds itself (health, metrics, [[static]] mounts, whose roots must
    // open) checked against the plugins': an empty string, or what clashes. start() checks too.
    std::string check_routes();
    // Stops the workers, joins them and closes the listeners. Idempotent. Connections still
    // open are cut.
    void stop();
    // Graceful stop, begun: the listeners close at once (readiness turns 503), idle keep-alive
    // connections close, every request already begun is finished and answered with
    // `Connection: close`; each worker ends when its last connection is gone. Then stop() joins
    // them (call it when workers_done(), at the drain deadline, or at a second signal).
    // `handover`: the listeners stay open for the next generation, which accepts from them
    // (a restart by the master process); otherwise they leave the group at once.
    void drain(bool handover = false);
    bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
    // SIGUSR1: every worker reopens the access log (after logrotate moved it).
    void reopen_logs() {
        for (auto& w : workers_) w->request_log_reopen();
    }
    // Every worker thread has ended (after drain(): every connection is gone).
    bool workers_done() const noexcept {
        return finished_workers_.load(std::memory_order_acquire) == threads_.size();
    }

    std::uint16_t port() const noexcept { return port_; }
    // The metrics page's own port ([metrics] listen), or 0.
    std::uint16_t metrics_port() const noexcept { return metrics_listener_.port(); }
    unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
    // One line for the start-up banner: address, workers, the I/O backend (and why, when epoll
    // stands in for a refused io_uring) and its features.
    std::string describe() const;
    // What start() could not arrange but did not stop for, one line each (e.g. a file limit
    // below what the configuration needs); empty when all is well.
    const std::string& warnings() const noexcept { return warnings_; }
    // Workers whose event loop died (each said so on stderr and took its listener out).
    unsigned failed_workers() const noexcept { return failed_workers_.load(); }
    // Called (on the failing worker's thread) when the last worker has died: lake-server stops
    // with a failure status so that its supervisor starts it again.
    void on_all_workers_failed(std::function<void()> f) { on_all_workers_failed_ = std::move(f); }
    // For tests: makes worker `index`'s loop stop as if its ring had failed.
    void inject_worker_failure(unsigned index) { workers_.at(index)->inject_failure(); }
    // The sum of every worker's counters (call after stop()).
    WorkerCounters counters() const;
    // Requests served by each worker, in worker order (call after stop()): shows how evenly
    // the kernel's SO_REUSEPORT hash spread the connections.
    std::vector<std::uint64_t> requests_per_worker() const;
    // Access log lines dropped (both buffers full: the disk was behind), over every worker
    // (call after stop()).
    std::uint64_t access_log_dropped() const;

  private:
    void raise_file_limit(unsigned workers);
    void worker_failed(unsigned index, const std::string& why);
    static std::string run_hooks(const std::function<void()>& hooks) noexcept;
    static void serve_metrics(const http::Request& request, http::Response& response, void* self);
    // The Prometheus page: every worker's counters and the upstreams' ([[proxy]]).
    void write_metrics(http::Response& response) const;

    config::ServerConfig config_;
    std::atomic<bool> draining_{false};
    std::atomic<std::size_t> finished_workers_{0};
    handlers::Router router_;
    std::vector<std::unique_ptr<handlers::StaticFiles>> static_files_;  // [[static]] mounts
    std::vector<std::unique_ptr<proxy::ReverseProxy>> proxies_;         // [[proxy]] mounts
    std::string mount_error_;
    std::vector<int> listeners_;
    std::vector<int> inherited_;
    MetricsListener metrics_listener_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<HandOff*> hand_offs_;  // every worker's, in worker order
    std::vector<std::thread> threads_;
    std::vector<int> worker_cpus_;  // the CPU each worker is pinned to, or -1
    std::uint16_t port_ = 0;
    bool running_ = false;
    bool steered_ = false;     // SO_ATTACH_REUSEPORT_CBPF steering by CPU is in place
    std::string io_fallback_;  // why "auto" chose epoll; empty when it did not
    std::string warnings_;
    std::atomic<unsigned> failed_workers_{0};
    std::function<void()> on_all_workers_failed_;
};

}  // namespace lake::server
