// server/metrics.hpp — what the metrics count by: methods, duration buckets, the statuses the
// server answers on its own, the kinds of timeout (see WorkerCounters and prometheus.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../handlers/request.hpp"

namespace lake::server {

inline constexpr std::size_t kMethodCount = static_cast<std::size_t>(http::Method::Other) + 1;
inline constexpr std::array<std::string_view, kMethodCount> kMethodLabels = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "other"};

// Upper bounds of the request-duration histogram, in nanoseconds (100 µs .. 10 s).
inline constexpr std::array<std::uint64_t, 16> kDurationBuckets = {
    100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

inline std::size_t duration_bucket(std::uint64_t ns) noexcept {
    std::size_t i = 0;
    while (i < kDurationBuckets.size() && ns > kDurationBuckets[i]) ++i;
    return i;  // kDurationBuckets.size(): +Inf
}

// Statuses the server answers itself when a request cannot be parsed or kept.
inline constexpr std::array<int, 10> kParseErrorCodes = {400, 408, 411, 413, 414,
                                                         417, 431, 501, 503, 505};
inline std::size_t parse_error_index(int status) noexcept {
    for (std::size_t i = 0; i < kParseErrorCodes.size(); ++i)
        if (kParseErrorCodes[i] == status) return i;
    return 0;  // counted as 400
}

enum class TimeoutKind : std::uint8_t {
    Header,
    Body,
    FirstByte,
    Keepalive,
    Send,
    Handler,
    SendUnderPressure,
    LargeBufferWait,               // a body waited its 3 s for a large buffer: 503
    LargeBufferWaitUnderPressure,  // ... and gave way sooner, the receive buffers having run dry
};
inline constexpr std::array<std::string_view, 9> kTimeoutKinds = {
    "header",
    "body",
    "first_byte",
    "keepalive",
    "send",
    "handler",
    "send_under_pressure",
    "large_buffer_wait",
    "large_buffer_wait_under_pressure"};

}  // namespace lake::server
