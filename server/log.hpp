// server/log.hpp — the error log: leveled lines on stderr, each with a UTC timestamp and the
// worker that wrote it ("2026-11-30T15:37:23.123Z warn worker 1: ..."), written with one
// write(2) from a stack buffer: no allocation, lines from several workers never interleave.
#pragma once

#ifndef FMT_HEADER_ONLY
#define FMT_HEADER_ONLY
#endif
#include <fmt/format.h>

#include <string_view>

namespace lake::server::log {

enum class Level : unsigned char { Error, Warn, Info, Debug };

// "error", "warn", "info" or "debug"; false for anything else.
bool parse_level(std::string_view name, Level& out) noexcept;
void set_level(Level level) noexcept;
bool enabled(Level level) noexcept;
// The worker the calling thread runs (-1: the main thread), named on its lines.
void set_thread_worker(int index) noexcept;

void write_line(Level level, std::string_view text) noexcept;

template <typename... Args>
void line(Level level, fmt::format_string<Args...> text, const Args&... args) noexcept {
    if (!enabled(level)) return;
    char buf[1024];
    const auto r =
        fmt::format_to_n(buf, sizeof(buf), fmt::runtime(fmt::string_view(text)), args...);
    write_line(level, {buf, r.size < sizeof(buf) ? r.size : sizeof(buf)});
}

template <typename... Args>
void error(fmt::format_string<Args...> text, const Args&... args) noexcept {
    line(Level::Error, text, args...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> text, const Args&... args) noexcept {
    line(Level::Warn, text, args...);
}
template <typename... Args>
void info(fmt::format_string<Args...> text, const Args&... args) noexcept {
    line(Level::Info, text, args...);
}

}  // namespace lake::server::log
