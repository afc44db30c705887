// server/access_log.hpp — one line per answered request, written by io_uring in batches.
//
// Each worker formats its lines into one of two buffers carved from its own lake and hands one
// to the kernel with one write (O_APPEND) once it is half full (or once a second) while the other
// fills: the request path never waits for the disk, and writes stay few and large. When both are
// busy (a slow disk), lines are dropped and counted; a failing write (a full disk) is counted and
// reported on stderr (rate limited), and the buffer is reused: the server never stalls or stops for
// its log. SIGUSR1 makes every worker reopen the file (logrotate's copytruncate is not needed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <lake/lake.hpp>

#include "../handlers/request.hpp"
#include "counter.hpp"

namespace lake::server {

class AccessLog {
  public:
    enum class Format : std::uint8_t { Combined, Json };
    static constexpr std::size_t kBufferBytes = 64 * 1024;

    struct Entry {
        std::string_view client;       // the peer's address
        std::string_view time;         // "30/Nov/2026:15:14:37 +0000" (combined) or ISO 8601 (json)
        const http::Request* request;  // nullptr: refused before a request line was read
        int status;
        std::size_t body_bytes;
        std::uint64_t duration_ns;
    };

    AccessLog() = default;
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;
    ~AccessLog();

    // Opens `path` for appending, buffers from `lake`. "" leaves the log off. Returns "" or why.
    std::string open(const std::string& path, Format format, lake::BasicArena& lake);
    bool enabled() const noexcept { return buffers_[0] != nullptr; }

    void record(const Entry& e) noexcept;
    // The bytes to write now, or an empty span (nothing worth a write yet, or one in flight):
    // a full buffer, or one at least half full, or with `all` (once a second) any line at all.
    // Until written() the buffer belongs to the kernel.
    std::span<const char> take_batch(bool all) noexcept;
    void written(int result) noexcept;
    // A write is with the kernel (or its completion not yet reported): flush_blocking() would
    // not know which bytes went out, so the worker waits for it first.
    bool write_in_flight() const noexcept { return in_flight_; }
    // Reopens the file (after logrotate moved it); waits for the write in flight, if any.
    void request_reopen() noexcept { reopen_wanted_ = true; }
    // At the worker's end: what is still buffered, written at once (blocking is fine then).
    void flush_blocking() noexcept;
    int fd() const noexcept { return fd_; }
    Format format() const noexcept { return format_; }

    Counter lines;
    Counter dropped;
    Counter write_errors;

  private:
    void reopen_now() noexcept;
    bool write_line(const Entry& e) noexcept;

    std::string path_;
    Format format_ = Format::Combined;
    int fd_ = -1;
    char* buffers_[2] = {nullptr, nullptr};
    std::size_t used_[2] = {0, 0};
    int filling_ = 0;         // the buffer lines go into
    int pending_ = -1;        // the full one, to be written (or being written) first
    bool in_flight_ = false;  // a write of pending_ is with the kernel
    bool reopen_wanted_ = false;
    bool reopen_cut_ = false;  // the lines before the reopen are being written to the old file
    std::size_t cut_len_ = 0;  // of them, those still in the filling buffer
};

}  // namespace lake::server
