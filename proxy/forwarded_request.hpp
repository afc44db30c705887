// proxy/forwarded_request.hpp — what goes to the upstream for a client's request, and which of
// the upstream's response headers come back: hop-by-hop headers (RFC 9110 7.6.1) stay on their
// hop, X-Forwarded-* and Via say where the request came from.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "../handlers/request.hpp"

namespace lake::proxy {

// The header names a message's Connection lines list (a list field: every line counts, RFC 9110
// 5.3), gathered once per message rather than once per header asked about.
class ConnectionOptions {
  public:
    explicit ConnectionOptions(std::span<const http::Header> fields) noexcept;
    bool names(std::string_view header) const noexcept;

  private:
    static constexpr std::size_t kKept = 8;  // more: names() reads the lines again
    std::span<const http::Header> fields_;
    std::array<std::string_view, kKept> tokens_;
    std::size_t count_ = 0;
    bool more_ = false;
};

// Whether `path` has a segment an upstream would resolve against its neighbours: "." or "..",
// also with dots or the slash after them percent-encoded ("%2e%2e", "..%2f") or written as a
// backslash (which some servers read as a slash). Once the upstream normalizes such a path it
// can name something outside the proxy's prefix, or under a prefix a before-hook guards here
// ("/api/x/../admin"), so it is not forwarded: browsers and curl never send one.
bool has_dot_segment(std::string_view path) noexcept;

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*, and every header the
// message's Connection lines name, but Content-Length and Host, which frame and route it.
bool is_hop_by_hop(std::string_view name, const ConnectionOptions& connection) noexcept;

struct ForwardedRequest {
    std::string_view target;         // the path (maybe without the mount's prefix) and query
    std::string_view client;         // the client's address, for X-Forwarded-For and X-Real-IP
    std::string_view upstream_host;  // Host when the client sent none (HTTP/1.0)
    bool chunked_body = false;       // the body goes on chunked (the client sent it chunked)
};

// The request head for the upstream, written into `arena`: the method and target in HTTP/1.1,
// the client's end-to-end headers (Host and Content-Length kept; Expect, already answered,
// dropped), `Transfer-Encoding: chunked` for a chunked body, X-Forwarded-For (appended to the
// client's), X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host (the last three replacing the
// client's), the proxy's Forwarded element after a client's Forwarded (none without one) and
// Via. Empty when the arena is full.
std::string_view write_upstream_head(const http::Request& request, const ForwardedRequest& how,
                                     lake::BasicArena& arena) noexcept;

// Whether a header of the upstream's response is passed to the client: not a hop-by-hop one,
// and not one the server writes itself (Content-Length, Date, Server).
bool passes_to_client(std::string_view name, const ConnectionOptions& connection) noexcept;

}  // namespace lake::proxy
