// handlers/preconditions.hpp — conditional requests (RFC 9110 §13) for a representation that has
// a strong entity tag and a modification time, as a static file has: If-Match,
// If-Unmodified-Since, If-None-Match and If-Modified-Since evaluated in the order of §13.2.2, and
// If-Range (§13.1.5), which decides whether a Range header is honoured.
#pragma once

#include <cstdint>
#include <string_view>

#include "request.hpp"

namespace lake::http {

struct Validators {
    std::string_view etag;       // a strong entity tag, quotes included: "\"5f3a-1c\""
    std::int64_t last_modified;  // seconds since the epoch
};

// 0 to go on with the request, 304 (Not Modified: GET or HEAD) or 412 (Precondition Failed).
// `now` (seconds) places two-digit years. A list that is not entity tags matches nothing (an
// If-Match then fails, an If-None-Match lets the request through); a date that is not an
// HTTP-date is ignored, as §13.1.3 and §13.1.4 require.
int evaluate_preconditions(const Request& req, const Validators& v, std::int64_t now) noexcept;

// Whether a Range header is to be honoured as far as If-Range goes: there is none, or it names
// this representation: its entity tag compared strongly, or a date equal to Last-Modified when
// that is a strong validator (at least a second before `now`, §8.8.2.2). Range applies to GET
// alone (§14.2); the caller checks the method.
bool if_range_holds(const Request& req, const Validators& v, std::int64_t now) noexcept;

}  // namespace lake::http
