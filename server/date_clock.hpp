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
        clf_len_ = std::strftime(clf_, sizeof(clf_), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        iso_len_ = std::strftime(iso_, sizeof(iso_), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    std::string_view line() const noexcept { return {line_, len_}; }
    // For the access log, in UTC: "30/Nov/2026:15:14:37 +0000" and "2026-11-30T15:14:37Z".
    std::string_view clf_time() const noexcept { return {clf_, clf_len_}; }
    std::string_view iso_time() const noexcept { return {iso_, iso_len_}; }

  private:
    char line_[64] = {};
    std::size_t len_ = 0;
    char clf_[40] = {};
    std::size_t clf_len_ = 0;
    char iso_[32] = {};
    std::size_t iso_len_ = 0;
    std::time_t last_ = 0;
};

}  // namespace lake::server
