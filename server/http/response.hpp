// server/http/response.hpp — what a handler fills in; the connection serializes it.
#pragma once

#include <cstdint>
#include <string_view>

#include "request.hpp"

namespace lake::http {

struct Response {
    static constexpr std::size_t kMaxExtraHeaders = 8;

    int status = 200;
    std::string_view content_type;  // empty: no Content-Type header
    // The body's bytes: static data, the request arena or the request itself. They are copied
    // into the connection's send buffer when the response is serialized.
    std::string_view body;
    bool close = false;  // ask for the connection to close after this response

    // Adds a header (views must outlive the handler call: static or request-arena memory).
    // false when kMaxExtraHeaders are already set.
    bool add_header(std::string_view name, std::string_view value) noexcept {
        if (extra_count == kMaxExtraHeaders) return false;
        extra[extra_count++] = Header{name, value};
        return true;
    }

    // Back to a fresh Response, in place: the same fields as Response{} without building and
    // copying a 320-byte temporary per request (extra[] past extra_count is never read).
    void reset() noexcept {
        status = 200;
        content_type = {};
        body = {};
        close = false;
        extra_count = 0;
    }

    Header extra[kMaxExtraHeaders];
    std::uint8_t extra_count = 0;
};

// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

}  // namespace lake::http
