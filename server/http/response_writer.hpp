// server/http/response_writer.hpp — serializes a Response into an arena, in one piece.
#pragma once

#include <cstddef>
#include <string_view>

#include <lake/lake.hpp>

#include "response.hpp"

namespace lake::http {

struct ResponseContext {
    std::string_view date_line;    // "Date: ...\r\n", refreshed once a second by the worker
    std::string_view server_line;  // "Server: lake\r\n"
    bool head = false;             // HEAD: headers as for GET, no body
    bool keep_alive = true;        // false: "Connection: close"
    bool http10 = false;           // HTTP/1.0 keep-alive must be announced
};

// Why a handler's response must not go onto the wire, or nullptr when it may: a status that is
// not a final one (1xx included: 101 would leave the connection in limbo), or a content type or
// header with CR, LF or another control character (header injection from request data) or a
// header name that is not a token.
const char* response_problem(const Response& r) noexcept;

// The exact number of bytes write_response() will produce.
std::size_t response_size(const Response& r, const ResponseContext& ctx) noexcept;

// Writes status line, headers and body into `out`. Returns the bytes (a leaked droplet: they
// live until `out` is reset) or an empty span when `out` has no room.
std::span<std::byte> write_response(lake::BasicArena& out, const Response& r,
                                    const ResponseContext& ctx) noexcept;

// "HTTP/1.1 100 Continue\r\n\r\n".
inline constexpr std::string_view kContinueLine = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace lake::http
