// handlers/url_encoded.hpp — application/x-www-form-urlencoded text (query strings and form
// bodies): name=value pairs split on '&', each percent-decoded ('+' is a space) into an arena.
#pragma once

#include <cstddef>
#include <string_view>

#include <lake/lake.hpp>

namespace lake::http {

// The value of a hexadecimal digit (either case), or -1: half of a %XX escape.
inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes %XX escapes and '+' in `text`. Returns `text` itself when it holds neither (no copy),
// else the decoded bytes in `arena`. An escape that is not two hex digits is kept as it stands.
// Sets `ok` to false (and returns an empty view) only when the arena has no room.
std::string_view url_decode(std::string_view text, lake::BasicArena& arena, bool& ok) noexcept;

// The same for a path or a segment of it: %XX escapes only ('+' is itself there, RFC 3986).
std::string_view percent_decode(std::string_view text, lake::BasicArena& arena, bool& ok) noexcept;

// The pairs of `text` in order: `while (fields.next(name, value))`. Empty pairs ("a=1&&b=2")
// are skipped; a pair without '=' has an empty value. Names and values are decoded into the
// arena; next() returns false at the end, or when the arena is full or absent (then full() is
// true).
class UrlEncodedFields {
  public:
    UrlEncodedFields(std::string_view text, lake::BasicArena* arena) noexcept
        : rest_(text), arena_(arena), full_(arena == nullptr && !text.empty()) {}
    bool next(std::string_view& name, std::string_view& value) noexcept;
    bool full() const noexcept { return full_; }

  private:
    std::string_view rest_;
    lake::BasicArena* arena_;
    bool full_;
};

}  // namespace lake::http
