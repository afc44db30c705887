// server/http/response_writer.hpp — serializes a Response into an arena, in one piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <lake/lake.hpp>

#include "../../handlers/response.hpp"

namespace lake::http {

// How the body's end is marked.
enum class Framing : std::uint8_t {
    BodySize,    // Content-Length: the body's size (a response in one piece)
    Length,      // Content-Length: ResponseContext::length (a body sent in parts, length known)
    Chunked,     // Transfer-Encoding: chunked (sent in parts, length unknown)
    UntilClose,  // no length: the connection closes after the body (HTTP/1.0, length unknown)
};

struct ResponseContext {
    std::string_view date_line;    // "Date: ...\r\n", refreshed once a second by the worker
    std::string_view server_line;  // "Server: lake\r\n"
    bool head = false;             // HEAD: headers as for GET, no body
    bool keep_alive = true;        // false: "Connection: close"
    bool http10 = false;           // HTTP/1.0 keep-alive must be announced
    Framing framing = Framing::BodySize;
    std::uint64_t length = 0;  // Framing::Length
};

// Why a handler's response must not go onto the wire, or nullptr when it may: a status that is
// not a final one (1xx included: 101 would leave the connection in limbo), or a content type or
// header with CR, LF or another control character (header injection from request data) or a
// header name that is not a token.
const char* response_problem(const Response& r) noexcept;

// The exact number of bytes write_response() will produce, and of them the head's.
std::size_t response_size(const Response& r, const ResponseContext& ctx) noexcept;
std::size_t head_size(const Response& r, const ResponseContext& ctx) noexcept;
// At least head_size(r, ctx), worked out without a loop (no header counted one by one, no
// digit): enough to know that a head fits a room.
std::size_t head_size_at_most(const Response& r, const ResponseContext& ctx) noexcept;
// Whether the body goes onto the wire: not for HEAD, 1xx, 204 and 304 (RFC 9110 6.4.1). In line:
// the engine asks once per response.
inline bool sends_body(const Response& r, const ResponseContext& ctx) noexcept {
    return !ctx.head && r.status >= 200 && r.status != 204 && r.status != 304;
}

// Writes status line, headers and body into `out`. Returns the bytes (they live until `out` is
// reset) or an empty span when `out` has no room.
std::span<std::byte> write_response(lake::BasicArena& out, const Response& r,
                                    const ResponseContext& ctx) noexcept;
// The same, for a caller that already knows response_size(r, ctx) (not worked out twice).
std::span<std::byte> write_response(lake::BasicArena& out, const Response& r,
                                    const ResponseContext& ctx, std::size_t size) noexcept;

// The head alone, for a body written in place: ending exactly at room + room_size (the room a
// written body keeps before itself; empty when the head is longer), or at the end of `out`.
std::span<std::byte> write_head_before(std::byte* room, std::size_t room_size, const Response& r,
                                       const ResponseContext& ctx) noexcept;
std::span<std::byte> write_head(lake::BasicArena& out, const Response& r,
                                const ResponseContext& ctx) noexcept;
// The head at `at` (room for head_size() bytes there is the caller's business).
std::span<std::byte> write_head_at(std::byte* at, const Response& r,
                                   const ResponseContext& ctx) noexcept;

// "HTTP/1.1 100 Continue\r\n\r\n".
inline constexpr std::string_view kContinueLine = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace lake::http
