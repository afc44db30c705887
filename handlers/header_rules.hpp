// handlers/header_rules.hpp — which bytes a header may hold: a name is a token (tchar, RFC 9110
// §5.6.2), a value has no control character but HTAB (no CR, LF or NUL: §5.5). constexpr, so
// that the compiler checks a ConstantHeader and the response writer builds its tables from the
// same rules.
#pragma once

#include <string_view>

namespace lake::http {

namespace detail {
// One look-up a byte: the request head's strict check and the chunk-line scanner call this for
// every byte of a name.
inline constexpr auto kTcharTable = [] {
    struct Table {
        bool v[256] = {};
    } t;
    for (int c = '0'; c <= '9'; ++c) t.v[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t.v[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t.v[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t.v[static_cast<unsigned char>(c)] = true;
    return t;
}();
}  // namespace detail

constexpr bool is_tchar(unsigned char c) noexcept { return detail::kTcharTable.v[c]; }

constexpr bool is_field_byte(unsigned char c) noexcept {
    return (c >= 0x20 && c != 0x7F) || c == '\t';
}

constexpr bool is_header_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (char c : name)
        if (!is_tchar(static_cast<unsigned char>(c))) return false;
    return true;
}

constexpr bool is_header_value(std::string_view value) noexcept {
    for (char c : value)
        if (!is_field_byte(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace lake::http
