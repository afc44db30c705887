// proxy/forwarded_request.hpp — what goes to the upstream for a client's request, and which of
// the upstream's response headers come back: hop-by-hop headers (RFC 9110 7.6.1) stay on their
// hop, X-Forwarded-* and Via say where the request came from.
#pragma once

#include <span>
#include <string_view>

#include "../handlers/request.hpp"

namespace lake::proxy {

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*, and every header a
// Connection field of the message (`fields`: all of its header fields) names, but Content-Length
// and Host, which frame and route the message.
bool is_hop_by_hop(std::string_view name, std::span<const http::Header> fields) noexcept;

struct ForwardedRequest {
    std::string_view target;         // the path (maybe without the mount's prefix) and query
    std::string_view client;         // the client's address, for X-Forwarded-For
    std::string_view upstream_host;  // Host when the client sent none (HTTP/1.0)
    bool chunked_body = false;       // the body goes on chunked (the client sent it chunked)
};

// The request head for the upstream, written into `arena`: the method and target in HTTP/1.1,
// the client's end-to-end headers (Host and Content-Length kept; Expect, already answered,
// dropped), `Transfer-Encoding: chunked` for a chunked body, X-Forwarded-For (appended to the
// client's), X-Forwarded-Proto, X-Forwarded-Host and Via. Empty when the arena is full.
std::string_view write_upstream_head(const http::Request& request, const ForwardedRequest& how,
                                     lake::BasicArena& arena) noexcept;

// Whether a header of the upstream's response is passed to the client: not a hop-by-hop one,
// and not one the server writes itself (Content-Length, Date, Server).
bool passes_to_client(std::string_view name, std::span<const http::Header> fields) noexcept;

}  // namespace lake::proxy
