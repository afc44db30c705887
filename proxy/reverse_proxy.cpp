#include "reverse_proxy.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "../handlers/response_format.hpp"
#include "forwarded_request.hpp"
#include "response_parser.hpp"

namespace lake::proxy {

namespace {

using http::Method;
using http::Request;
using http::Response;

// The worker this thread runs (set by the per-worker hook), or UINT_MAX.
thread_local unsigned t_worker = UINT_MAX;

// An upstream response's head may take this many bytes and fields (nginx: one 4-8 KiB buffer).
constexpr std::size_t kHeaderBytes = 8192;
constexpr std::size_t kHeaderFields = 64;
// A request body goes on in pieces of at most this many bytes.
constexpr std::size_t kBodyPiece = 8192;
// A response is received straight into the response arena, at most this much at a time (and
// at least kMinRoom: what does not fit there goes on in the request arena).
constexpr std::size_t kReceiveAtMost = 16384;
constexpr std::size_t kMinRoom = 2048;

std::uint64_t now_ns() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_nsec);
}

bool idempotent(Method m) noexcept {
    return m == Method::Get || m == Method::Head || m == Method::Put || m == Method::Delete ||
           m == Method::Options;
}

// The upstream socket of one exchange: closed when the handler ends, however it ends (returned,
// threw, or destroyed because its client left), unless it went back to the pool.
struct UpstreamSocket {
    int fd = -1;
    ~UpstreamSocket() { close(); }
    void close() noexcept {
        if (fd >= 0) ::close(std::exchange(fd, -1));
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

// A pooled connection may have been closed by the upstream while idle: true when nothing (no
// end of stream, no stray byte) waits on it.
bool still_open(int fd) noexcept {
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// The response body is received into the response arena with the head around it: each piece
// the parser finds is moved down to the end of the body so far (in place; usually not at all).
struct BodyCursor {
    char* at = nullptr;
};
void move_body_piece(void* context, std::string_view piece) {
    auto& cursor = *static_cast<BodyCursor*>(context);
    if (piece.data() != cursor.at) std::memmove(cursor.at, piece.data(), piece.size());
    cursor.at += piece.size();
}

// Sends all of `bytes`: result 0, or a negative errno.
handlers::Task send_all(handlers::Io& io, int fd, std::string_view bytes, int& result) {
    while (!bytes.empty()) {
        const int n = co_await io.send_bytes(fd, {bytes.data(), bytes.size()});
        if (n <= 0) {
            result = n == 0 ? -EPIPE : n;
            co_return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    result = 0;
}

void answer(Response& res, int status, std::string_view text) {
    res.reset();
    res.text(status, text, "text/plain; charset=utf-8");
}

// After the response's head went out, a failure can only be told by closing the connection.
[[noreturn]] void fail_after_head(const char* why) { throw std::runtime_error(why); }

}  // namespace

std::unique_ptr<ReverseProxy> ReverseProxy::mount(handlers::Router& router, ProxySettings settings,
                                                  std::string& error) {
    std::unique_ptr<ReverseProxy> p(new ReverseProxy(std::move(settings)));
    const ProxySettings& s = p->settings_;
    if (s.upstreams.empty()) {
        error = "[[proxy]] '" + s.prefix + "': no upstreams";
        return nullptr;
    }
    for (const std::string& text : s.upstreams) {
        UpstreamAddress a;
        if (std::string err = resolve_upstream(text, a); !err.empty()) {
            error = "[[proxy]] '" + s.prefix + "': " + err;
            return nullptr;
        }
        p->upstreams_.push_back(std::move(a));
    }
    const handlers::Handler h = handlers::Handler::streaming(&ReverseProxy::forward, p.get());
    const std::string under = s.prefix == "/" ? "/{*rest}" : s.prefix + "/{*rest}";
    for (Method m : {Method::Get, Method::Head, Method::Post, Method::Put, Method::Delete,
                     Method::Patch, Method::Options}) {
        router.add(m, s.prefix, h);
        router.add(m, under, h);
    }
    ReverseProxy* self = p.get();
    router.lifecycle().worker_start.push_back([self](unsigned w) { self->start_worker(w); });
    router.lifecycle().worker_stop.push_back([self](unsigned w) { self->stop_worker(w); });
    return p;
}

ReverseProxy::~ReverseProxy() = default;

void ReverseProxy::start_worker(unsigned worker) {
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

void ReverseProxy::stop_worker(unsigned worker) {
    if (worker >= kMaxWorkers || workers_[worker] == nullptr) return;
    for (std::size_t i = 0; i < upstreams_.size(); ++i)
        workers_[worker]->stats[i].idle.store(0, std::memory_order_relaxed);
    workers_[worker].reset();  // the idle connections close
    t_worker = UINT_MAX;
}

ReverseProxy::WorkerState* ReverseProxy::this_worker() const noexcept {
    return t_worker < kMaxWorkers ? workers_[t_worker].get() : nullptr;
}

// Round robin over the upstreams not marked down; when all are, the next in turn anyway (it may
// be back).
unsigned ReverseProxy::pick(WorkerState& w) const noexcept {
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

void ReverseProxy::count(Stats& s, Failure f) noexcept {
    auto& c = s.failures[static_cast<int>(f)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

handlers::Task ReverseProxy::forward(const Request& req, Response& res, void* context) {
    const ReverseProxy& self = *static_cast<const ReverseProxy*>(context);
    const ProxySettings& cfg = self.settings_;
    WorkerState* worker = self.this_worker();
    if (worker == nullptr || req.arena == nullptr || req.io == nullptr) {
        answer(res, 502, "Bad Gateway: the proxy is not set up on this worker\n");
        co_return;
    }
    handlers::Io& io = *req.io;
    lake::BasicArena& arena = *req.arena;

    // What goes to the upstream: the path (without the prefix, if so configured) and query.
    std::string_view path = req.path;
    if (cfg.strip_prefix && cfg.prefix != "/") path.remove_prefix(cfg.prefix.size());
    std::string_view target = path;
    if (path.empty() || !req.query.empty()) {
        const std::string_view p = path.empty() ? std::string_view("/") : path;
        const std::size_t n = p.size() + (req.query.empty() ? 0 : 1 + req.query.size());
        auto* t = static_cast<char*>(arena.allocate(n, 1));
        if (t == nullptr) {
            answer(res, 500, "Internal Server Error: no room to forward the request\n");
            co_return;
        }
        std::memcpy(t, p.data(), p.size());
        if (!req.query.empty()) {
            t[p.size()] = '?';
            std::memcpy(t + p.size() + 1, req.query.data(), req.query.size());
        }
        target = {t, n};
    }
    // The request parser has already refused a body framed both ways or with an unknown coding.
    const bool chunked = !req.header("transfer-encoding").empty();
    const std::string_view length = req.header("content-length");
    const bool has_body = chunked || (!length.empty() && length != "0");
    // Sent again on a fresh connection when a pooled one turns out closed: only what can be.
    const bool can_resend = !has_body && idempotent(req.method);

    unsigned u = self.pick(*worker);
    const std::string_view head = write_upstream_head(
        req, ForwardedRequest{target, io.client_address(), self.upstreams_[u].text, chunked},
        arena);
    auto* header_bytes = static_cast<char*>(arena.allocate(kHeaderBytes, 1));
    auto* header_fields = static_cast<http::Header*>(
        arena.allocate(sizeof(http::Header) * kHeaderFields, alignof(http::Header)));
    // A body piece is read with room for its chunk-size line before it and CRLF after it.
    char* body_piece = has_body ? static_cast<char*>(arena.allocate(kBodyPiece + 24, 1)) : nullptr;
    if (head.empty() || header_bytes == nullptr || header_fields == nullptr ||
        (has_body && body_piece == nullptr)) {
        answer(res, 500, "Internal Server Error: no room to forward the request\n");
        co_return;
    }
    ResponseParser parser({header_bytes, kHeaderBytes}, {header_fields, kHeaderFields});
    BodyCursor cursor;
    UpstreamSocket sock;
    bool resent = false;  // the one retry on a fresh connection is spent
    bool streaming = false;
    const std::size_t attempts = self.upstreams_.size() + 1;

    for (std::size_t attempt = 0;; ++attempt) {
        if (attempt != 0) u = self.pick(*worker);
        if (attempt >= attempts) {
            answer(res, 502, "Bad Gateway: no upstream answered\n");
            co_return;
        }
        const UpstreamAddress& up = self.upstreams_[u];
        UpstreamPool& pool = worker->pools[u];
        Stats& stats = worker->stats[u];
        stats.requests.store(stats.requests.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);

        // A connection: an idle one from the pool (checked first when the request cannot be
        // sent twice), or a new one.
        sock.fd = pool.take();
        bool reused = sock.fd >= 0;
        if (reused && !can_resend && !still_open(sock.fd)) {
            sock.close();
            reused = false;
        }
        stats.idle.store(pool.idle(), std::memory_order_relaxed);
        if (!reused) {
            sock.fd = ::socket(up.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (sock.fd < 0) {  // out of descriptors: not the upstream's fault
                count(stats, Failure::Connect);
                answer(res, 502, "Bad Gateway: cannot open a connection to the upstream\n");
                co_return;
            }
            const int one = 1;
            (void)::setsockopt(sock.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            const int rc =
                co_await io.connect(sock.fd, reinterpret_cast<const sockaddr*>(&up.address),
                                    up.length, cfg.connect_timeout);
            if (rc < 0) {
                count(stats, rc == -ETIMEDOUT ? Failure::Timeout : Failure::Connect);
                pool.mark_down(now_ns() + static_cast<std::uint64_t>(cfg.fail_timeout.count()));
                sock.close();
                continue;  // nothing was sent: the next upstream
            }
        }

        // The request: its head, then its body as it arrives.
        int sent = 0;
        co_await send_all(io, sock.fd, head, sent);
        if (sent < 0) {
            sock.close();
            if (reused && !resent) {  // a pooled connection the upstream had closed
                resent = true;
                --attempt;
                continue;
            }
            count(stats, Failure::Closed);
            answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
            co_return;
        }
        if (has_body) {
            for (;;) {
                char* data = body_piece + 16;
                const int n = co_await io.read_body({data, kBodyPiece});
                if (n < 0) {  // the client's body broke off: nothing sensible to send either way
                    answer(res, 400, "Bad Request: the request body broke off\n");
                    co_return;
                }
                std::string_view piece(data, static_cast<std::size_t>(n));
                if (chunked) {
                    if (n == 0) {
                        piece = "0\r\n\r\n";
                    } else {
                        char line[20];
                        const int k = std::snprintf(line, sizeof(line), "%x\r\n", n);
                        std::memcpy(data - k, line, static_cast<std::size_t>(k));
                        std::memcpy(data + n, "\r\n", 2);
                        piece = {data - k, static_cast<std::size_t>(k + n + 2)};
                    }
                }
                if (!piece.empty()) co_await send_all(io, sock.fd, piece, sent);
                if (sent < 0) {
                    count(stats, Failure::Closed);
                    answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
                    co_return;
                }
                if (n == 0) break;
            }
        }

        // The response, received into the response arena and parsed as it arrives.
        parser.start(req.method == Method::Head, &move_body_piece, &cursor);
        bool received = false;
        bool head_set = false;
        bool retry = false;
        for (;;) {
            const std::span<char> room =
                res.prepare(std::min(kReceiveAtMost, std::max(res.room(), kMinRoom)));
            if (room.empty()) {  // no arena can take more
                sock.close();
                if (streaming) fail_after_head("no room for the upstream's response");
                answer(res, 502, "Bad Gateway: no room for the upstream's response\n");
                co_return;
            }
            const int n = co_await io.receive(sock.fd, room, cfg.read_timeout);
            cursor.at = room.data();
            ResponseParser::Result r = ResponseParser::Result::More;
            if (n > 0) {
                received = true;
                r = parser.feed({room.data(), static_cast<std::size_t>(n)});
            } else if (n == 0 && received) {
                r = parser.finish();  // a body that runs until the close ends here
            }
            res.commit(static_cast<std::size_t>(cursor.at - room.data()));
            if (n <= 0 && r != ResponseParser::Result::Complete) {
                sock.close();
                if (!received && reused && !resent && can_resend && n != -ETIMEDOUT) {
                    resent = true;  // a pooled connection the upstream had closed
                    retry = true;
                    break;
                }
                if (n == -ETIMEDOUT) {
                    count(stats, Failure::Timeout);
                    pool.mark_down(now_ns() + static_cast<std::uint64_t>(cfg.fail_timeout.count()));
                    if (streaming) fail_after_head("the upstream stopped answering");
                    answer(res, 504, "Gateway Timeout: the upstream did not answer in time\n");
                    co_return;
                }
                count(stats, Failure::Closed);
                if (streaming) fail_after_head("the upstream closed the connection mid-response");
                answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
                co_return;
            }
            if (r == ResponseParser::Result::Error) {
                count(stats, Failure::Response);
                sock.close();
                if (streaming) fail_after_head(parser.error());
                answer(res, 502, "Bad Gateway: the upstream's response is malformed\n");
                co_return;
            }
            if (!head_set && parser.headers_done()) {
                head_set = true;
                res.status = parser.status();
                std::string_view connection;
                for (const http::Header& h : parser.headers())
                    if (http::iequals(h.name, "connection")) connection = h.value;
                for (const http::Header& h : parser.headers())
                    if (passes_to_client(h.name, connection) && !res.add_header(h.name, h.value)) {
                        sock.close();
                        answer(res, 502, "Bad Gateway: no room for the upstream's headers\n");
                        co_return;
                    }
            }
            if (r == ResponseParser::Result::Complete) break;
            if (head_set && !streaming) {
                // More is coming: the head and what is here go out now, the rest as it comes.
                streaming = true;
                res.stream_length = parser.chunked() ? -1 : parser.content_length();
                if (co_await io.send(res) < 0) fail_after_head("the client could not be sent to");
            } else if (streaming && !res.body.empty()) {
                // Passed on as it arrives (an upstream that trickles is not held back), and
                // the next receive waits until the client has these bytes: a slow client slows
                // the upstream instead of filling memory.
                if (co_await io.send(res) < 0) fail_after_head("the client could not be sent to");
            }
        }
        if (retry) {
            --attempt;
            continue;
        }
        if (parser.reusable())
            pool.give_back(sock.release());
        else
            sock.close();
        stats.idle.store(pool.idle(), std::memory_order_relaxed);
        // A HEAD answer keeps the length the upstream announced.
        if (!streaming && req.method == Method::Head && parser.content_length() >= 0) {
            res.stream_length = parser.content_length();
            (void)co_await io.send(res);
        }
        co_return;
    }
}

void ReverseProxy::write_metrics(http::Response& r,
                                 const std::vector<std::unique_ptr<ReverseProxy>>& mounts) {
    if (mounts.empty()) return;
    using http::format;
    static constexpr const char* kReasons[] = {"connect", "timeout", "response", "closed"};
    struct Family {
        const char* name;
        const char* type;
        const char* help;
    };
    const Family families[] = {
        {"lake_upstream_requests_total", "counter",
         "Requests sent to an upstream (each attempt counts)."},
        {"lake_upstream_failures_total", "counter",
         "Exchanges with an upstream that failed, by reason: connect (refused or unreachable), "
         "timeout (connect or read), response (malformed), closed (closed mid-exchange)."},
        {"lake_upstream_pool_connections", "gauge",
         "Idle keep-alive connections to an upstream, over all workers."},
    };
    for (int f = 0; f < 3; ++f) {
        format(r, "# HELP {} {}\n# TYPE {} {}\n", families[f].name, families[f].help,
               families[f].name, families[f].type);
        for (const auto& m : mounts) {
            std::lock_guard lock(m->stats_mutex_);
            for (std::size_t u = 0; u < m->upstreams_.size(); ++u) {
                auto total = [&](auto field) {
                    std::uint64_t n = 0;
                    for (const auto& s : m->stats_)
                        if (s != nullptr) n += field(s[u]).load(std::memory_order_relaxed);
                    return n;
                };
                const std::string& prefix = m->settings_.prefix;
                const std::string& up = m->upstreams_[u].text;
                if (f == 0) {
                    format(r, "{}{{prefix=\"{}\",upstream=\"{}\"}} {}\n", families[f].name, prefix,
                           up, total([](Stats & s) -> auto& { return s.requests; }));
                } else if (f == 1) {
                    for (int k = 0; k < static_cast<int>(Failure::kCount); ++k)
                        format(r, "{}{{prefix=\"{}\",upstream=\"{}\",reason=\"{}\"}} {}\n",
                               families[f].name, prefix, up, kReasons[k],
                               total([k](Stats & s) -> auto& { return s.failures[k]; }));
                } else {
                    format(r, "{}{{prefix=\"{}\",upstream=\"{}\"}} {}\n", families[f].name, prefix,
                           up, total([](Stats & s) -> auto& { return s.idle; }));
                }
            }
        }
    }
}

}  // namespace lake::proxy
