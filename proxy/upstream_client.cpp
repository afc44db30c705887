#include "upstream_client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "../handlers/response_format.hpp"

namespace lake::proxy {

namespace {

// The worker this thread runs (set by the per-worker hook), or UINT_MAX.
thread_local unsigned t_worker = UINT_MAX;

std::uint64_t now_ns() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_nsec);
}

// A pooled connection may have been closed by the upstream while idle: true when nothing (no
// end of stream, no stray byte) waits on it.
bool still_open(int fd) noexcept {
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

void UpstreamConnection::close() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

std::unique_ptr<UpstreamClient> UpstreamClient::create(handlers::Router& router, std::string name,
                                                       UpstreamSettings settings,
                                                       std::string& error) {
    std::unique_ptr<UpstreamClient> c(new UpstreamClient(std::move(name), std::move(settings)));
    if (c->settings_.upstreams.empty()) {
        error = "no upstreams";
        return nullptr;
    }
    for (const std::string& text : c->settings_.upstreams) {
        UpstreamAddress a;
        if (std::string err = resolve_upstream(text, a); !err.empty()) {
            error = std::move(err);
            return nullptr;
        }
        c->upstreams_.push_back(std::move(a));
    }
    UpstreamClient* self = c.get();
    router.lifecycle().worker_start.push_back([self](unsigned w) { self->start_worker(w); });
    router.lifecycle().worker_stop.push_back([self](unsigned w) { self->stop_worker(w); });
    return c;
}

UpstreamClient::~UpstreamClient() = default;

void UpstreamClient::start_worker(unsigned worker) {
    if (worker >= kMaxWorkers) return;
    t_worker = worker;
    auto state = std::make_unique<WorkerState>();
    state->pools.reserve(upstreams_.size());
    for (std::size_t i = 0; i < upstreams_.size(); ++i)
        state->pools.emplace_back(settings_.pool_size);
    {
        std::lock_guard lock(stats_mutex_);
        if (stats_[worker] == nullptr)
            stats_[worker] = std::make_unique<Stats[]>(upstreams_.size());
        state->stats = stats_[worker].get();
    }
    workers_[worker] = std::move(state);
}

void UpstreamClient::stop_worker(unsigned worker) {
    if (worker >= kMaxWorkers || workers_[worker] == nullptr) return;
    for (std::size_t i = 0; i < upstreams_.size(); ++i)
        workers_[worker]->stats[i].idle.store(0, std::memory_order_relaxed);
    workers_[worker].reset();  // the idle connections close
    t_worker = UINT_MAX;
}

bool UpstreamClient::on_a_worker() const noexcept {
    return t_worker < kMaxWorkers && workers_[t_worker] != nullptr;
}

UpstreamClient::WorkerState& UpstreamClient::this_worker() const noexcept {
    return *workers_[t_worker];
}

// Round robin over the upstreams not marked down; when all are, the next in turn anyway (it may
// be back).
unsigned UpstreamClient::pick(WorkerState& w) const noexcept {
    const auto n = static_cast<unsigned>(upstreams_.size());
    std::uint64_t now = 0;
    for (unsigned i = 0; i < n; ++i) {
        const unsigned u = (w.next + i) % n;
        if (w.pools[u].ever_down()) {
            if (now == 0) now = now_ns();
            if (w.pools[u].down(now)) continue;
        }
        w.next = u + 1;
        return u;
    }
    const unsigned u = w.next % n;
    w.next = u + 1;
    return u;
}

void UpstreamClient::mark_down(unsigned upstream) const noexcept {
    this_worker().pools[upstream].mark_down(
        now_ns() + static_cast<std::uint64_t>(settings_.fail_timeout.count()));
}

handlers::Task UpstreamClient::connect(handlers::Io& io, UpstreamConnection& c, bool may_resend,
                                       bool fresh, int& result) const {
    c.close();
    WorkerState& w = this_worker();
    result = -ECONNREFUSED;
    for (std::size_t attempt = 0; attempt < upstreams_.size(); ++attempt) {
        const unsigned u = pick(w);
        UpstreamPool& pool = w.pools[u];
        Stats& stats = w.stats[u];
        add(stats.requests);
        c.upstream_ = u;
        c.reused_ = false;
        if (!fresh) {
            c.fd_ = pool.take();
            if (c.fd_ >= 0 && !may_resend && !still_open(c.fd_)) c.close();
            c.reused_ = c.fd_ >= 0;
            stats.idle.store(pool.idle(), std::memory_order_relaxed);
            if (c.reused_) {
                result = 0;
                co_return;
            }
        }
        const UpstreamAddress& up = upstreams_[u];
        c.fd_ = ::socket(up.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd_ < 0) {  // out of descriptors: not the upstream's fault, and no other will do
            result = -errno;
            add(stats.failures[static_cast<int>(Failure::Connect)]);
            co_return;
        }
        const int one = 1;
        (void)::setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        result = co_await io.connect(c.fd_, reinterpret_cast<const sockaddr*>(&up.address),
                                     up.length, settings_.connect_timeout);
        if (result == 0) co_return;
        // Refused, unreachable or too slow: nothing was sent, so the next upstream is tried.
        add(stats.failures[static_cast<int>(result == -ETIMEDOUT ? Failure::Timeout
                                                                 : Failure::Connect)]);
        mark_down(u);
        c.close();
    }
}

handlers::Task UpstreamClient::send(handlers::Io& io, UpstreamConnection& c, std::string_view bytes,
                                    int& result) const {
    while (!bytes.empty()) {
        const int n = co_await io.send_bytes(c.fd(), {bytes.data(), bytes.size()});
        if (n <= 0) {
            result = n == 0 ? -EPIPE : n;
            co_return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    result = 0;
}

void UpstreamClient::failed(UpstreamConnection& c, Failure why) const noexcept {
    if (on_a_worker()) {
        add(this_worker().stats[c.upstream()].failures[static_cast<int>(why)]);
        if (why == Failure::Timeout) mark_down(c.upstream());
    }
    c.close();
}

void UpstreamClient::done(UpstreamConnection& c, bool clean) const noexcept {
    if (!clean || !c.is_open() || !on_a_worker()) {
        c.close();
        return;
    }
    UpstreamPool& pool = this_worker().pools[c.upstream()];
    pool.give_back(std::exchange(c.fd_, -1));
    this_worker().stats[c.upstream()].idle.store(pool.idle(), std::memory_order_relaxed);
}

void UpstreamClient::write_metrics(http::Response& r,
                                   const std::vector<const UpstreamClient*>& clients) {
    if (clients.empty()) return;
    using http::format;
    static constexpr const char* kReasons[] = {"connect", "timeout", "response", "closed"};
    struct Family {
        const char* name;
        const char* type;
        const char* help;
    };
    static constexpr Family kFamilies[] = {
        {"lake_upstream_requests_total", "counter",
         "Connections asked of an upstream for a request (each attempt counts)."},
        {"lake_upstream_failures_total", "counter",
         "Exchanges with an upstream that failed, by reason: connect (refused or unreachable), "
         "timeout (connect or read), response (malformed), closed (closed mid-exchange)."},
        {"lake_upstream_pool_connections", "gauge",
         "Idle keep-alive connections to an upstream, over all workers."},
    };
    for (int f = 0; f < 3; ++f) {
        const Family& fam = kFamilies[f];
        format(r, "# HELP {} {}\n# TYPE {} {}\n", fam.name, fam.help, fam.name, fam.type);
        for (const UpstreamClient* c : clients) {
            std::lock_guard lock(c->stats_mutex_);
            for (std::size_t u = 0; u < c->upstreams_.size(); ++u) {
                auto total = [&](auto field) {
                    std::uint64_t n = 0;
                    for (const auto& s : c->stats_)
                        if (s != nullptr) n += field(s[u]).load(std::memory_order_relaxed);
                    return n;
                };
                const std::string& up = c->upstreams_[u].text;
                if (f == 0) {
                    format(r, "{}{{prefix=\"{}\",upstream=\"{}\"}} {}\n", fam.name, c->name_, up,
                           total([](Stats & s) -> auto& { return s.requests; }));
                } else if (f == 1) {
                    for (int k = 0; k < static_cast<int>(Failure::kCount); ++k)
                        format(r, "{}{{prefix=\"{}\",upstream=\"{}\",reason=\"{}\"}} {}\n",
                               fam.name, c->name_, up, kReasons[k],
                               total([k](Stats & s) -> auto& { return s.failures[k]; }));
                } else {
                    format(r, "{}{{prefix=\"{}\",upstream=\"{}\"}} {}\n", fam.name, c->name_, up,
                           total([](Stats & s) -> auto& { return s.idle; }));
                }
            }
        }
    }
}

}  // namespace lake::proxy
