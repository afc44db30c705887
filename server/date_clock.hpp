// server/date_clock.hpp — the "Date:" header line, formatted once a second per worker.
#pragma once

#include <cstddef>
#include <ctime>
#include <string_view>

namespace lake::server {

class DateClock {
  public:
    DateClock() { refresh(); }
    // Re-renders the line if the second changed (called from the worker's 1 s timer).
    void refresh() noexcept {
        const std::time_t now = std::time(nullptr);
        if (now == last_) return;
        last_ = now;
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        len_ = std::strftime(line_, sizeof(line_), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    }
    std::string_view line() const noexcept { return {line_, len_}; }

  private:
    char line_[64] = {};
    std::size_t len_ = 0;
    std::time_t last_ = 0;
};

}  // namespace lake::server
