#include "access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <charconv>

#include "log.hpp"

namespace lake::server {

namespace {

// Request data goes into the log as text a reader (and a log shipper) can trust: quotes,
// backslashes, control and non-ASCII bytes become \xHH, as nginx writes them.
char* put_escaped(char* p, char* end, std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            if (p == end) return nullptr;
            *p++ = ch;
        } else {
            if (end - p < 4) return nullptr;
            *p++ = '\\';
            *p++ = 'x';
            *p++ = kHex[c >> 4];
            *p++ = kHex[c & 0xF];
        }
    }
    return p;
}

// The same bytes as a JSON string's contents: RFC 8259 escapes, non-ASCII as \u00HH (the
// request's bytes are not known to be UTF-8).
char* put_json_escaped(char* p, char* end, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            if (p == end) return nullptr;
            *p++ = ch;
        } else {
            if (end - p < 6) return nullptr;
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = kHex[c >> 4];
            *p++ = kHex[c & 0xF];
        }
    }
    return p;
}

struct Line {
    char* p;
    char* end;
    bool ok = true;
    void raw(std::string_view s) {
        if (!ok || static_cast<std::size_t>(end - p) < s.size()) {
            ok = false;
            return;
        }
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    void escaped(std::string_view s, bool json) {
        if (!ok) return;
        char* q = json ? put_json_escaped(p, end, s) : put_escaped(p, end, s);
        if (q == nullptr)
            ok = false;
        else
            p = q;
    }
    void number(std::uint64_t v) {
        if (!ok || end - p < 20) {
            ok = false;
            return;
        }
        p = std::to_chars(p, end, v).ptr;
    }
};

std::string_view header(const http::Request* r, std::string_view name) {
    return r != nullptr ? r->header(name) : std::string_view();
}

}  // namespace

AccessLog::~AccessLog() {
    if (fd_ >= 0) ::close(fd_);
}

std::string AccessLog::open(const std::string& path, Format format, lake::BasicArena& lake) {
    if (path.empty()) return {};
    path_ = path;
    format_ = format;
    for (char*& b : buffers_) {
        b = static_cast<char*>(lake.allocate(kBufferBytes, 64));
        if (b == nullptr) return "no room for the access log's buffers";
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return "cannot open the access log " + path + ": " + std::strerror(errno);
    return {};
}

// Two buffers: lines go into `filling_`; a full one becomes `pending_` and is written (whole,
// or its rest after a short write) before the filling one, so lines keep their order.
bool AccessLog::write_line(const Entry& e) noexcept {
    char* start = buffers_[filling_] + used_[filling_];
    Line l{start, buffers_[filling_] + kBufferBytes};
    const http::Request* r = e.request;
    if (format_ == Format::Combined) {
        // host - - [time] "request line" status bytes "referer" "user agent"
        l.raw(e.client);
        l.raw(" - - [");
        l.raw(e.time);
        l.raw("] \"");
        if (r != nullptr && !r->method_name.empty()) {
            l.escaped(r->method_name, false);
            l.raw(" ");
            l.escaped(r->target, false);
            l.raw(r->version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
        } else {
            l.raw("-");
        }
        l.raw("\" ");
        l.number(static_cast<std::uint64_t>(e.status));
        l.raw(" ");
        l.number(e.body_bytes);
        l.raw(" \"");
        const std::string_view referer = header(r, "referer");
        l.escaped(referer.empty() ? "-" : referer, false);
        l.raw("\" \"");
        const std::string_view agent = header(r, "user-agent");
        l.escaped(agent.empty() ? "-" : agent, false);
        l.raw("\"\n");
    } else {
        l.raw("{\"time\":\"");
        l.raw(e.time);
        l.raw("\",\"client\":\"");
        l.raw(e.client);
        l.raw("\",\"method\":\"");
        if (r != nullptr) l.escaped(r->method_name, true);
        l.raw("\",\"target\":\"");
        if (r != nullptr) l.escaped(r->target, true);
        l.raw("\",\"status\":");
        l.number(static_cast<std::uint64_t>(e.status));
        l.raw(",\"bytes\":");
        l.number(e.body_bytes);
        l.raw(",\"duration_us\":");
        l.number(e.duration_ns / 1000);
        l.raw(",\"referer\":\"");
        l.escaped(header(r, "referer"), true);
        l.raw("\",\"user_agent\":\"");
        l.escaped(header(r, "user-agent"), true);
        l.raw("\"}\n");
    }
    if (!l.ok) return false;
    used_[filling_] += static_cast<std::size_t>(l.p - start);
    return true;
}

void AccessLog::record(const Entry& e) noexcept {
    if (buffers_[0] == nullptr) return;
    if (!write_line(e)) {
        // The filling buffer is full: it waits to be written, and lines go on into the other,
        // unless that one is still waiting or being written (the disk is behind): dropped.
        if (pending_ >= 0 || used_[filling_] == 0) {
            ++dropped;
            return;
        }
        pending_ = filling_;
        filling_ = 1 - filling_;
        used_[filling_] = 0;
        if (!write_line(e)) {
            ++dropped;
            return;
        }
    }
    ++lines;
}

std::span<const char> AccessLog::take_batch(bool all) noexcept {
    if (in_flight_ || fd_ < 0) return {};
    if (reopen_wanted_) {
        // The lines buffered when the reopen was asked for still go to the old file; the
        // file is reopened once they are written, and later lines go to the new one.
        if (!reopen_cut_) {
            reopen_cut_ = true;
            cut_len_ = used_[filling_];
        }
        if (pending_ < 0 && cut_len_ != 0) {
            // The filling buffer's first cut_len_ bytes are written; what came after moves to
            // the other (empty) buffer, which fills on.
            const int other = 1 - filling_;
            const std::size_t after = used_[filling_] - cut_len_;
            if (after != 0) std::memcpy(buffers_[other], buffers_[filling_] + cut_len_, after);
            used_[other] = after;
            used_[filling_] = cut_len_;
            pending_ = filling_;
            filling_ = other;
            cut_len_ = 0;
        }
        if (pending_ < 0) {
            reopen_now();
            reopen_cut_ = false;
        }
    }
    if (pending_ < 0) {
        // Half a buffer at least, or whatever there is once a second: few large writes.
        if (used_[filling_] == 0 || (!all && used_[filling_] < kBufferBytes / 2)) return {};
        pending_ = filling_;
        filling_ = 1 - filling_;
        used_[filling_] = 0;
    }
    in_flight_ = true;
    return {buffers_[pending_], used_[pending_]};
}

void AccessLog::written(int result) noexcept {
    in_flight_ = false;
    if (pending_ < 0) return;
    std::size_t& used = used_[pending_];
    if (result <= 0) {
        const std::uint64_t n = ++write_errors;
        if ((n & (n - 1)) == 0)
            log::error(
                "the access log {} cannot be written: {} ({} failed writes so far; their "
                "lines are lost, the server goes on)",
                path_, result < 0 ? std::strerror(-result) : "wrote nothing", n);
        used = 0;
        pending_ = -1;
        return;
    }
    const auto done = static_cast<std::size_t>(result);
    if (done >= used) {
        used = 0;
        pending_ = -1;
        return;
    }
    // A short write: the rest goes out next, ahead of the filling buffer.
    std::memmove(buffers_[pending_], buffers_[pending_] + done, used - done);
    used -= done;
}

void AccessLog::flush_blocking() noexcept {
    if (fd_ < 0 || in_flight_) return;  // a write in flight: the ring is gone, nothing to wait on
    for (int b : {pending_, filling_}) {
        if (b < 0) continue;
        std::size_t off = 0;
        while (off < used_[b]) {
            const ssize_t n = ::write(fd_, buffers_[b] + off, used_[b] - off);
            if (n <= 0) {
                ++write_errors;
                break;
            }
            off += static_cast<std::size_t>(n);
        }
        used_[b] = 0;
    }
    pending_ = -1;
}

void AccessLog::reopen_now() noexcept {
    reopen_wanted_ = false;
    cut_len_ = 0;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        ++write_errors;
        log::error("cannot reopen the access log {}: {} (still writing to the old file)", path_,
                   std::strerror(errno));
        return;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

}  // namespace lake::server
