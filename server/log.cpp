#include "log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>

namespace lake::server::log {

namespace {
std::atomic<Level> g_level{Level::Warn};
thread_local int t_worker = -1;
constexpr std::string_view kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

bool parse_level(std::string_view name, Level& out) noexcept {
    for (unsigned i = 0; i < 4; ++i)
        if (name == kNames[i]) {
            out = static_cast<Level>(i);
            return true;
        }
    return false;
}

void set_level(Level level) noexcept { g_level.store(level, std::memory_order_relaxed); }

bool enabled(Level level) noexcept { return level <= g_level.load(std::memory_order_relaxed); }

void set_thread_worker(int index) noexcept { t_worker = index; }

void write_line(Level level, std::string_view text) noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::tm tm{};
    ::gmtime_r(&now.tv_sec, &tm);
    char buf[1200];
    std::size_t n = std::strftime(buf, 64, "%Y-%m-%dT%H:%M:%S", &tm);
    const auto head = fmt::format_to_n(buf + n, sizeof(buf) - n, ".{:03}Z {} ",
                                       now.tv_nsec / 1000000, kNames[static_cast<unsigned>(level)]);
    n += head.size;
    if (t_worker >= 0)
        n += fmt::format_to_n(buf + n, sizeof(buf) - n, "worker {}: ", t_worker).size;
    else
        n += fmt::format_to_n(buf + n, sizeof(buf) - n, "lake-server: ").size;
    const std::size_t room = sizeof(buf) - n - 1;
    const std::size_t len = text.size() < room ? text.size() : room;
    std::memcpy(buf + n, text.data(), len);
    n += len;
    buf[n++] = '\n';
    (void)!::write(2, buf, n);
}

}  // namespace lake::server::log
