#include "server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <future>

#include "../handlers/builtin.hpp"
#include "cpu_affinity.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "metrics_listener.hpp"
#include "prometheus.hpp"
#include "ring.hpp"

namespace lake::server {

Server::Server(config::ServerConfig config, handlers::Router router)
    : config_(std::move(config)), router_(std::move(router)) {
    handlers::add_health_handlers(router_, config_.health_live_path, config_.health_ready_path,
                                  &draining_);
    if (!config_.metrics_path.empty() && config_.metrics_listen.empty())
        router_.add(http::Method::Get, config_.metrics_path, {&Server::serve_metrics, this});
    for (const config::ServerConfig::StaticMount& m : config_.static_mounts) {
        std::string err;
        auto mounted = handlers::StaticFiles::mount(router_, m.prefix, m.root, err, m.cache_control,
                                                    m.precompressed);
        if (mounted == nullptr) {
            if (mount_error_.empty()) mount_error_ = err;
            continue;
        }
        static_files_.push_back(std::move(mounted));
    }
    for (const config::ServerConfig::ProxyMount& m : config_.proxy_mounts) {
        using Seconds = std::chrono::duration<double>;
        auto ns = [](double s) {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds(s));
        };
        std::string err;
        auto mounted = proxy::ReverseProxy::mount(
            router_,
            proxy::ProxySettings{
                m.prefix, m.strip_prefix,
                proxy::UpstreamSettings{m.upstreams, ns(m.connect_timeout_s), ns(m.read_timeout_s),
                                        ns(m.fail_timeout_s), m.pool_size}},
            err);
        if (mounted == nullptr) {
            if (mount_error_.empty()) mount_error_ = err;
            continue;
        }
        proxies_.push_back(std::move(mounted));
    }
}

// GET /metrics: every worker's counters, summed now (each is written by its worker alone).
void Server::serve_metrics(const http::Request&, http::Response& response, void* self) {
    static_cast<const Server*>(self)->write_metrics(response);
}

void Server::write_metrics(http::Response& response) const {
    write_prometheus(response, workers_);
    std::vector<const proxy::UpstreamClient*> clients;  // a scrape, not the request path
    for (const auto& p : proxies_) clients.push_back(&p->client());
    proxy::UpstreamClient::write_metrics(response, clients);
}

std::string Server::check_routes() {
    if (!mount_error_.empty()) return mount_error_;
    if (std::string err = router_.take_error(); !err.empty())
        return "health, metrics, [[static]] and [[proxy]] routes: " + err;
    return {};
}

std::string Server::start() {
    if (std::string err = check_routes(); !err.empty()) return err;
    // Workers default to one per CPU this process may use, and are pinned round-robin to those
    // CPUs (not to CPU i of the machine, which may lie outside a taskset or cpuset).
    const std::vector<int> cpus = allowed_cpus();
    unsigned n = config_.workers;
    if (n == 0) n = static_cast<unsigned>(cpus.size());
    for (unsigned i = 0; i < n; ++i)
        worker_cpus_.push_back(config_.pin_workers ? cpus[i % cpus.size()] : -1);

    // Every worker gets its own SO_REUSEPORT listener on one port; with port 0 the first one
    // picks the port and the others join it.
    raise_file_limit(n);
    std::string error;
    if (!inherited_.empty()) {
        if (inherited_.size() != n)
            return "the master holds " + std::to_string(inherited_.size()) +
                   " listeners and this configuration needs " + std::to_string(n) +
                   " workers: a change of the worker count needs a full restart";
        const std::uint16_t inherited_port = bound_port(inherited_.front());
        if (config_.port != 0 && config_.port != inherited_port)
            return "the master listens on port " + std::to_string(inherited_port) +
                   " and this configuration asks for " + std::to_string(config_.port) +
                   ": a change of port needs a full restart";
        listeners_ = inherited_;
    } else {
        error = check_port_free(config_.host, config_.port);
        if (!error.empty()) return error;
    }
    std::uint16_t port = inherited_.empty() ? config_.port : bound_port(inherited_.front());
    for (unsigned i = 0; inherited_.empty() && i < n; ++i) {
        const int fd = open_listener(config_.host, port, error);
        if (fd < 0) {
            stop();
            return error;
        }
        listeners_.push_back(fd);
        if (port == 0) port = bound_port(fd);
    }
    port_ = port;
    // Steering needs one worker per CPU: with two on a CPU, the second would get nothing.
    steered_ = false;
    if (config_.steer_by_cpu && config_.pin_workers && n > 1 && n <= cpus.size()) {
        const int err = steer_connections_by_cpu(listeners_.front(), worker_cpus_);
        steered_ = err == 0;  // an old kernel without SKF_AD_CPU keeps the hash: still correct
    }

    // "auto": io_uring where this process may use it, epoll otherwise (and the start line says
    // why). Decided once, so that every worker runs the same backend.
    io_fallback_.clear();
    if (config_.io_backend == "auto") {
        const int err = probe_io_uring();
        config_.io_backend = err == 0 ? "io_uring" : "epoll";
        if (err != 0) io_fallback_ = std::string("io_uring refused: ") + std::strerror(-err);
    }

    // Every worker exists before any runs: a full one may hand connections to its siblings.
    for (unsigned i = 0; i < n; ++i)
        workers_.push_back(std::make_unique<Worker>(i, listeners_[i], config_, router_));
    for (auto& w : workers_) hand_offs_.push_back(&w->hand_off());
    for (unsigned i = 0; i < n; ++i) {
        workers_[i]->set_siblings(hand_offs_);
        workers_[i]->set_placement(worker_cpus_[i], steered_);
    }
    std::vector<std::future<std::string>> ready;
    for (unsigned i = 0; i < n; ++i) {
        std::promise<std::string> promise;
        ready.push_back(promise.get_future());
        Worker* w = workers_[i].get();
        const int cpu = worker_cpus_[i];
        threads_.emplace_back([this, i, w, cpu, p = std::move(promise)]() mutable {
            if (cpu >= 0) pin_current_thread(cpu);  // best effort: an unpinned worker still works
            // sendfile to a socket the peer closed raises SIGPIPE (it has no MSG_NOSIGNAL): kept
            // pending on this thread instead, whatever the process does with the signal.
            sigset_t pipe;
            ::sigemptyset(&pipe);
            ::sigaddset(&pipe, SIGPIPE);
            ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
            log::set_thread_worker(static_cast<int>(i));
            std::string err = w->setup();  // the ring and lake belong to this thread
            // Plugins' per-thread state is set up on the worker's thread, before it serves.
            if (err.empty()) err = run_hooks([&] { router_.lifecycle().start_worker(i); });
            const bool ok = err.empty();
            p.set_value(std::move(err));
            if (ok) {
                const std::string failure = w->run();
                if (!failure.empty()) worker_failed(i, failure);
                w->close_connections();  // handlers cut while waiting end before their plugins
                if (std::string e = run_hooks([&] { router_.lifecycle().stop_worker(i); });
                    !e.empty())
                    log::error("{}", e);
            }
            w->teardown();
            finished_workers_.fetch_add(1, std::memory_order_release);
        });
    }
    running_ = true;
    for (auto& f : ready) {
        std::string err = f.get();
        if (!err.empty() && error.empty()) error = std::move(err);
    }
    if (error.empty() && !config_.metrics_path.empty() && !config_.metrics_listen.empty())
        error = metrics_listener_.start(
            config_.metrics_listen, config_.metrics_path,
            [this](http::Response& r) { write_metrics(r); }, !inherited_.empty());
    if (!error.empty()) stop();
    return error;
}

// Every connection slot may hold a socket, and each worker a listener, a ring, an eventfd and a
// reserve descriptor; add stdio, plugins and slack. The soft limit is raised as far as the hard
// limit allows; below what the configuration needs, clients beyond it are answered 503 (see
// Worker::shed_backlog) and the start says so.
void Server::raise_file_limit(unsigned workers) {
    const rlim_t needed =
        static_cast<rlim_t>(workers) * (config_.max_connections_per_worker + 8) + 64;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= needed) return;
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= needed ? needed : lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0) want.rlim_cur = lim.rlim_cur;
    if (want.rlim_cur < needed) {
        warnings_ += "the file-descriptor limit is " + std::to_string(want.rlim_cur) +
                     " (hard limit " + std::to_string(lim.rlim_max) + "), below the " +
                     std::to_string(needed) + " that " + std::to_string(workers) + " x " +
                     std::to_string(config_.max_connections_per_worker) +
                     " connections need: clients beyond it get 503 (raise it with ulimit -n or "
                     "LimitNOFILE=, or lower connections.max_per_worker)\n";
    }
}

// A worker whose loop died must not leave its SO_REUSEPORT listener in the group: the kernel
// would keep handing it connections that nobody accepts. shutdown() takes the socket out of the
// group (its queued connections are reset, so their clients retry and land on a live worker);
// the fd itself is closed by stop().
void Server::worker_failed(unsigned index, const std::string& why) {
    ::shutdown(listeners_[index], SHUT_RDWR);
    const unsigned failed = failed_workers_.fetch_add(1) + 1;
    log::error(
        "worker {} stopped: {}; its listener is out of service and its connections were "
        "closed ({} of {} workers left)",
        index, why, workers_.size() - failed, workers_.size());
    if (failed == workers_.size() && on_all_workers_failed_) on_all_workers_failed_();
}

void Server::drain(bool handover) {
    if (draining_.exchange(true)) return;
    // Out of the SO_REUSEPORT group at once: new clients are refused here and go elsewhere
    // (another instance). In a handover the sockets are the next generation's too: they stay,
    // and only this generation's workers stop accepting. The fds are closed by stop().
    if (!handover)
        for (int fd : listeners_) ::shutdown(fd, SHUT_RDWR);
    for (auto& w : workers_) w->request_drain(handover);
}

void Server::stop() {
    metrics_listener_.stop();
    for (auto& w : workers_) w->request_stop();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    const bool started = !threads_.empty();
    threads_.clear();
    for (int fd : listeners_) ::close(fd);
    listeners_.clear();
    running_ = false;
    if (started) {  // once, after every worker has stopped
        if (std::string e = run_hooks([&] { router_.lifecycle().shut_down(); }); !e.empty())
            log::error("{}", e);
    }
}

// A plugin's hook that throws is reported, not let through a worker thread (std::terminate).
std::string Server::run_hooks(const std::function<void()>& hooks) noexcept {
    try {
        hooks();
        return {};
    } catch (const std::exception& e) {
        return std::string("a plugin's lifecycle hook threw: ") + e.what();
    } catch (...) {
        return "a plugin's lifecycle hook threw";
    }
}

std::string Server::describe() const {
    // An IPv6 address in brackets, as in a URL ("[::]:8080", not ":::8080").
    const bool v6 = config_.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + config_.host + "]" : config_.host;
    std::string s = "lake-server " + std::string(lake::kVersion) + " listening on " + host + ":" +
                    std::to_string(port_) + " with " + std::to_string(workers_.size()) + " worker" +
                    (workers_.size() == 1 ? "" : "s");
    if (!workers_.empty()) {
        s += "; " + workers_.front()->backend() + " " + std::to_string(config_.recv_buffers) + "x" +
             std::to_string(config_.recv_buffer_size) + " B";
        if (!io_fallback_.empty()) s += " (" + io_fallback_ + ")";
        if (worker_cpus_.front() >= 0) {
            s += "; pinned to CPU";
            s += worker_cpus_.size() == 1 ? " " : "s ";
            for (std::size_t i = 0; i < worker_cpus_.size(); ++i) {
                if (i > 0) s += ',';
                s += std::to_string(worker_cpus_[i]);
            }
        }
        if (steered_) s += "; connections steered to the worker on their CPU";
        if (metrics_port() != 0)
            s += "; metrics on " +
                 config_.metrics_listen.substr(0, config_.metrics_listen.rfind(':')) + ":" +
                 std::to_string(metrics_port()) + config_.metrics_path;
    }
    return s;
}

std::vector<std::uint64_t> Server::requests_per_worker() const {
    std::vector<std::uint64_t> out;
    for (const auto& w : workers_) out.push_back(w->counters().requests);
    return out;
}

std::uint64_t Server::access_log_dropped() const {
    std::uint64_t n = 0;
    for (const auto& w : workers_) n += w->access_log().dropped.get();
    return n;
}

WorkerCounters Server::counters() const {
    WorkerCounters sum;
    for (const auto& w : workers_) {
        const WorkerCounters& c = w->counters();
        sum.accepted += c.accepted;
        sum.requests += c.requests;
        sum.refused_no_slot += c.refused_no_slot;
        sum.handed_off += c.handed_off;
        sum.adopted += c.adopted;
        sum.moved_out += c.moved_out;
        sum.enobufs += c.enobufs;
        sum.recv_pauses += c.recv_pauses;
        sum.short_sends += c.short_sends;
        sum.cq_overflows += c.cq_overflows;
        sum.accept_errors += c.accept_errors;
        sum.bad_responses += c.bad_responses;
        sum.refused_fd_limit += c.refused_fd_limit;
        sum.drained += c.drained;
        sum.cut += c.cut;
        sum.waiting_ops_inline += c.waiting_ops_inline;
        sum.waiting_ops_ring += c.waiting_ops_ring;
        sum.file_sends += c.file_sends;
        sum.file_sends_not_cached += c.file_sends_not_cached;
        sum.received_bytes += c.received_bytes;
        sum.sent_bytes += c.sent_bytes;
        for (std::size_t i = 0; i < kTimeoutKinds.size(); ++i) sum.timeouts[i] += c.timeouts[i];
        for (std::size_t i = 0; i < kParseErrorCodes.size(); ++i)
            sum.parse_errors[i] += c.parse_errors[i];
    }
    return sum;
}

}  // namespace lake::server
