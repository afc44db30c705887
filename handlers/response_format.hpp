// handlers/response_format.hpp — {fmt} formatting straight into a response's body.
//
//   lake::http::format(response, "{} items, {:.2f} each\n", count, price);
//
// Appends to the body in the connection's response arena (no heap, no copy: {fmt} writes into
// the arena's free space; a result longer than first guessed is formatted once more into room of
// the exact size). false when the body could not hold it (the server then answers 500).
// {fmt} is used header-only (FMT_HEADER_ONLY), so a plugin needs its headers only
// (Debian: libfmt-dev).
#pragma once

#ifndef FMT_HEADER_ONLY
#define FMT_HEADER_ONLY
#endif
#include <fmt/format.h>

#include "response.hpp"

namespace lake::http {

template <typename... Args>
bool format(Response& response, fmt::format_string<Args...> text, const Args&... args) {
    std::size_t want = 128;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const std::span<char> room = response.prepare(want);
        if (room.empty()) return false;
        // `text` was checked against the arguments at compile time, at the caller.
        const auto result = fmt::format_to_n(room.data(), room.size(),
                                             fmt::runtime(fmt::string_view(text)), args...);
        if (result.size <= room.size()) {
            response.commit(result.size);
            return true;
        }
        response.commit(0);
        want = result.size;
    }
    return false;
}

}  // namespace lake::http
