// handlers/http_date.hpp — HTTP-date (RFC 9110 §5.6.7): sent as IMF-fixdate, read in all three
// forms a recipient must accept (the two obsolete ones still come from old clients and caches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lake::http {

// Seconds since the epoch of `text`, or nothing when it is not exactly one of
//   IMF-fixdate   "Sun, 06 Nov 1994 08:49:37 GMT"
//   rfc850-date   "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime-date  "Sun Nov  6 08:49:37 1994"
// (names case-sensitive, as the grammar has them; the day of the week is not checked against
// the date; a day past its month's end is refused). `now` places rfc850's two-digit year: one
// that would be more than 50 years after it is the most recent such year in the past.
std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t now) noexcept;

// IMF-fixdate of `seconds` (a time from year 0 to 9999) into `out`: always 29 bytes.
inline constexpr std::size_t kHttpDateSize = 29;
void format_http_date(std::int64_t seconds, char (&out)[kHttpDateSize]) noexcept;

}  // namespace lake::http
