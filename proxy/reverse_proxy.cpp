#include "reverse_proxy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "forwarded_request.hpp"
#include "response_parser.hpp"

namespace lake::proxy {

namespace {

using http::Method;
using http::Request;
using http::Response;
using Failure = UpstreamClient::Failure;

// An upstream response's head may take this many bytes and fields (nginx: one 4-8 KiB buffer).
constexpr std::size_t kHeaderBytes = 8192;
constexpr std::size_t kHeaderFields = 64;
// A request body goes on in pieces of at most this many bytes.
constexpr std::size_t kBodyPiece = 8192;
// A response is received straight into the response arena, at most this much at a time (and
// at least kMinRoom: what does not fit there goes on in the request arena).
constexpr std::size_t kReceiveAtMost = 16384;
constexpr std::size_t kMinRoom = 2048;

bool idempotent(Method m) noexcept {
    return m == Method::Get || m == Method::Head || m == Method::Put || m == Method::Delete ||
           m == Method::Options;
}

// The response body is received into the response arena with the head around it: each piece
// the parser finds is moved down to the end of the body so far (in place; usually not at all).
// The context is that end, a `char*` (a plain pointer: a type of this file's own would sit in
// the coroutine's frame, which GCC flags once this file is part of a unity build).
void move_body_piece(void* context, std::string_view piece) {
    char*& body_end = *static_cast<char**>(context);
    if (piece.data() != body_end) std::memmove(body_end, piece.data(), piece.size());
    body_end += piece.size();
}

void answer(Response& res, int status, std::string_view text) {
    res.reset();
    res.text(status, text, "text/plain; charset=utf-8");
}

// After the response's head went out, a failure can only be told by closing the connection.
[[noreturn]] void fail_after_head(const char* why) { throw std::runtime_error(why); }

// The target for the upstream: the path (without the mount's prefix, if so configured) and the
// query, in the request arena when it must be put together. Empty when the arena is full.
std::string_view upstream_target(const Request& req, const ProxySettings& cfg) {
    std::string_view path = req.path;
    if (cfg.strip_prefix && cfg.prefix != "/") path.remove_prefix(cfg.prefix.size());
    // A target that begins "//" reads as a network-path reference ("//host/x": a host, then a
    // path) to an upstream that parses it as a URL: sent with one leading slash, as nginx sends
    // its merged path. ("/api//x" with the prefix stripped became "//x".)
    while (path.size() >= 2 && path[0] == '/' && path[1] == '/') path.remove_prefix(1);
    if (!path.empty() && req.query.empty()) return path;
    const std::string_view p = path.empty() ? std::string_view("/") : path;
    const std::size_t n = p.size() + (req.query.empty() ? 0 : 1 + req.query.size());
    auto* t = static_cast<char*>(req.arena->allocate(n, 1));
    if (t == nullptr) return {};
    std::memcpy(t, p.data(), p.size());
    if (!req.query.empty()) {
        t[p.size()] = '?';
        std::memcpy(t + p.size() + 1, req.query.data(), req.query.size());
    }
    return {t, n};
}

}  // namespace

std::unique_ptr<ReverseProxy> ReverseProxy::mount(handlers::Router& router, ProxySettings settings,
                                                  std::string& error) {
    std::unique_ptr<ReverseProxy> p(new ReverseProxy(std::move(settings)));
    const ProxySettings& s = p->settings_;
    p->client_ = UpstreamClient::create(router, s.prefix, s.upstream, error);
    if (p->client_ == nullptr) {
        error = "[[proxy]] '" + s.prefix + "': " + error;
        return nullptr;
    }
    const handlers::Handler h = handlers::Handler::streaming(&ReverseProxy::forward, p.get());
    const std::string under = s.prefix == "/" ? "/{*rest}" : s.prefix + "/{*rest}";
    for (Method m : {Method::Get, Method::Head, Method::Post, Method::Put, Method::Delete,
                     Method::Patch, Method::Options}) {
        router.add(m, s.prefix, h);
        router.add(m, under, h);
    }
    return p;
}

handlers::Task ReverseProxy::forward(const Request& req, Response& res, void* context) {
    const ReverseProxy& self = *static_cast<const ReverseProxy*>(context);
    const UpstreamClient& client = *self.client_;
    if (!client.on_a_worker() || req.arena == nullptr || req.io == nullptr) {
        answer(res, 502, "Bad Gateway: the proxy is not set up on this worker\n");
        co_return;
    }
    if (has_dot_segment(req.path)) {
        answer(res, 400, "Bad Request: a \".\" or \"..\" segment in the path is not forwarded\n");
        co_return;
    }
    handlers::Io& io = *req.io;
    lake::BasicArena& arena = *req.arena;

    // The request parser has already refused a body framed both ways or with an unknown coding.
    const bool chunked = !req.header("transfer-encoding").empty();
    const std::string_view length = req.header("content-length");
    const bool has_body = chunked || (!length.empty() && length != "0");
    // Sent again on a fresh connection when a pooled one turns out closed: only what can be.
    const bool can_resend = !has_body && idempotent(req.method);

    const std::string_view target = upstream_target(req, self.settings_);
    const std::string_view head =
        target.empty() ? std::string_view()
                       : write_upstream_head(req,
                                             ForwardedRequest{target, io.client_address(),
                                                              client.address_text(0), chunked},
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
    char* body_end = nullptr;  // move_body_piece's cursor
    UpstreamConnection up;
    bool resent = false;  // the one retry on a fresh connection is spent
    bool streaming = false;

    for (;;) {
        int rc = 0;
        co_await client.connect(io, up, can_resend, resent, rc);
        if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM) {
            // This server ran out (of descriptors, of memory), not the upstreams: a retry
            // later may well work (503, as for a client that finds no connection slot).
            answer(res, 503, "Service Unavailable: no descriptor for an upstream connection\n");
            co_return;
        }
        if (rc < 0) {
            answer(res, 502, "Bad Gateway: no upstream answered\n");
            co_return;
        }

        // The request: its head, then its body as it arrives.
        co_await client.send(io, up, head, rc);
        if (rc < 0) {
            if (up.reused() && !resent) {  // a pooled connection the upstream had closed
                up.close();
                resent = true;
                continue;
            }
            client.failed(up, Failure::Closed);
            answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
            co_return;
        }
        while (has_body) {
            char* data = body_piece + 16;
            const int n = co_await io.read_body({data, kBodyPiece});
            if (n < 0) {  // the client's body broke off
                up.close();
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
            if (!piece.empty()) co_await client.send(io, up, piece, rc);
            if (rc < 0) {
                client.failed(up, Failure::Closed);
                answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
                co_return;
            }
            if (n == 0) break;
        }

        // The response, received into the response arena and parsed as it arrives.
        parser.start(req.method == Method::Head, &move_body_piece, &body_end);
        bool received = false;
        bool head_set = false;
        bool retry = false;
        for (;;) {
            const std::span<char> room =
                res.prepare(std::min(kReceiveAtMost, std::max(res.room(), kMinRoom)));
            if (room.empty()) {  // no arena can take more
                up.close();
                if (streaming) fail_after_head("no room for the upstream's response");
                answer(res, 502, "Bad Gateway: no room for the upstream's response\n");
                co_return;
            }
            const int n = co_await client.receive(io, up, room);
            body_end = room.data();
            ResponseParser::Result r = ResponseParser::Result::More;
            if (n > 0) {
                received = true;
                r = parser.feed({room.data(), static_cast<std::size_t>(n)});
            } else if (n == 0 && received) {
                r = parser.finish();  // a body that runs until the close ends here
            }
            res.commit(static_cast<std::size_t>(body_end - room.data()));
            if (n <= 0 && r != ResponseParser::Result::Complete) {
                if (!received && up.reused() && !resent && can_resend && n != -ETIMEDOUT) {
                    up.close();  // a pooled connection the upstream had closed
                    resent = true;
                    retry = true;
                    break;
                }
                if (n == -ETIMEDOUT) {
                    client.failed(up, Failure::Timeout);
                    if (streaming) fail_after_head("the upstream stopped answering");
                    answer(res, 504, "Gateway Timeout: the upstream did not answer in time\n");
                    co_return;
                }
                client.failed(up, Failure::Closed);
                if (streaming) fail_after_head("the upstream closed the connection mid-response");
                answer(res, 502, "Bad Gateway: the upstream closed the connection\n");
                co_return;
            }
            if (r == ResponseParser::Result::Error) {
                client.failed(up, Failure::Response);
                if (streaming) fail_after_head(parser.error());
                answer(res, 502, "Bad Gateway: the upstream's response is malformed\n");
                co_return;
            }
            if (!head_set && parser.headers_done()) {
                head_set = true;
                res.status = parser.status();
                const ConnectionOptions connection(parser.headers());
                for (const http::Header& h : parser.headers())
                    if (passes_to_client(h.name, connection) && !res.add_header(h.name, h.value)) {
                        up.close();
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
        if (retry) continue;
        client.done(up, parser.reusable());
        // A HEAD answer keeps the length the upstream announced.
        if (!streaming && req.method == Method::Head && parser.content_length() >= 0) {
            res.stream_length = parser.content_length();
            (void)co_await io.send(res);
        }
        co_return;
    }
}

}  // namespace lake::proxy
