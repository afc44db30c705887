// server/output_queue.hpp — a connection's output side: the bytes queued for its client, in
// order, and the one send in flight over them.
//
// Ranges of the response view are queued (adjacent ones merged: a pipelined batch is usually
// one range), sent with one send, or one sendmsg for several; the first range's start advances
// as bytes go out, so a short send resumes where it stopped. A response too big for the response
// view lives in a large buffer of its own and goes out before them. A range of a file (a waiting
// handler's send_file) goes out after them, from the page cache (sendfile), while no range is
// queued behind it. The queue does not own the bytes: the connection resets its view once
// ranges_drained, and releases the large buffer the queue hands back; the file stays the
// handler's, open until the range is sent or the send has failed.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include <lake/lake.hpp>

namespace lake::server {

class OutputQueue {
  public:
    static constexpr unsigned kMaxRanges = 16;

    // Empty, nothing in flight (a new connection on the slot).
    void clear() noexcept {
        count_ = first_ = 0;
        large_ = nullptr;
        large_bytes_ = {};
        large_sent_ = 0;
        in_flight_ = sending_large_ = sending_file_ = false;
        in_flight_len_ = 0;
        file_fd_ = -1;
        file_offset_ = file_left_ = 0;
    }

    // Appends `bytes` after what is queued (merged with the last range when adjacent to it).
    // false when every range is taken.
    bool queue(std::span<std::byte> bytes) noexcept {
        if (bytes.empty()) return true;
        if (count_ != 0) {
            iovec& last = ranges_[count_ - 1];
            if (static_cast<std::byte*>(last.iov_base) + last.iov_len == bytes.data()) {
                last.iov_len += bytes.size();
                return true;
            }
        }
        if (count_ == kMaxRanges) return false;
        ranges_[count_++] = iovec{bytes.data(), bytes.size()};
        return true;
    }
    // `length` bytes of the file `fd` from `offset`, after what is queued (one file at a time;
    // nothing may be queued behind it until it is sent).
    void queue_file(int fd, std::uint64_t offset, std::uint64_t length) noexcept {
        file_fd_ = fd;
        file_offset_ = offset;
        file_left_ = length;
    }
    // A file range is queued and not sent whole yet.
    bool file_pending() const noexcept { return file_left_ != 0; }
    // The send in flight is the file's (its descriptor must stay open until it completes).
    bool sending_file() const noexcept { return in_flight_ && sending_file_; }
    // Ranges not sent whole yet.
    bool pending() const noexcept { return first_ < count_; }
    // Ranges that can still be queued before the queue must drain.
    unsigned free_ranges() const noexcept { return kMaxRanges - count_; }
    bool empty() const noexcept { return count_ == 0; }

    // A response serialized into a large buffer: sent before the ranges.
    void set_large(lake::LakeView* buffer, std::span<std::byte> bytes) noexcept {
        large_ = buffer;
        large_bytes_ = bytes;
        large_sent_ = 0;
    }
    lake::LakeView* large() const noexcept { return large_; }
    // Hands the large buffer back (closing): the caller releases it.
    lake::LakeView* take_large() noexcept {
        lake::LakeView* v = large_;
        large_ = nullptr;
        return v;
    }

    // The next send, when none is in flight and something is queued: one piece (msg null), a
    // msghdr over several ranges, or a file's range (file_fd >= 0, from file_offset). The queue's
    // own storage backs them until on_sent().
    struct Send {
        const void* data = nullptr;
        std::size_t len = 0;
        const msghdr* msg = nullptr;
        int file_fd = -1;
        std::uint64_t file_offset = 0;
        bool more = false;  // a file's range follows these bytes
    };
    bool start_send(Send& out) noexcept {
        if (in_flight_) return false;
        sending_file_ = false;
        if (large_ != nullptr) {
            sending_large_ = true;
            in_flight_len_ = large_bytes_.size() - large_sent_;
            out = Send{large_bytes_.data() + large_sent_, in_flight_len_, nullptr};
        } else if (pending()) {
            sending_large_ = false;
            const bool more = file_left_ != 0;
            const unsigned n = count_ - first_;
            const iovec& first = ranges_[first_];
            if (n == 1) {
                in_flight_len_ = first.iov_len;
                out = Send{first.iov_base, first.iov_len, nullptr, -1, 0, more};
            } else {
                in_flight_len_ = 0;
                for (unsigned i = first_; i < count_; ++i) in_flight_len_ += ranges_[i].iov_len;
                msg_ = msghdr{};
                msg_.msg_iov = &ranges_[first_];
                msg_.msg_iovlen = n;
                out = Send{nullptr, in_flight_len_, &msg_, -1, 0, more};
            }
        } else if (file_left_ != 0) {
            sending_large_ = false;
            sending_file_ = true;
            in_flight_len_ = file_left_ < kMaxFileSend ? file_left_ : kMaxFileSend;
            out = Send{nullptr, in_flight_len_, nullptr, file_fd_, file_offset_};
        } else {
            return false;
        }
        in_flight_ = true;
        return true;
    }
    bool in_flight() const noexcept { return in_flight_; }

    // The send in flight completed with `sent` bytes (a failed one: sent = 0 and the connection
    // closes). `large_done`: the large response went out whole (its buffer, for the caller to
    // release); `ranges_drained`: every queued range is sent and the queue is empty again.
    struct Sent {
        lake::LakeView* large_done = nullptr;
        bool ranges_drained = false;
        bool short_send = false;  // fewer bytes than were handed over (the rest goes next)
    };
    Sent on_sent(std::size_t sent) noexcept {
        in_flight_ = false;
        Sent r;
        r.short_send = sent < in_flight_len_;
        if (sending_large_) {
            large_sent_ += sent;
            if (large_sent_ == large_bytes_.size()) r.large_done = take_large();
            return r;
        }
        if (sending_file_) {
            file_offset_ += sent;
            file_left_ -= sent;
            if (file_left_ == 0) file_fd_ = -1;
            return r;
        }
        while (sent != 0 && first_ < count_) {
            iovec& v = ranges_[first_];
            if (sent >= v.iov_len) {
                sent -= v.iov_len;
                ++first_;
            } else {
                v.iov_base = static_cast<std::byte*>(v.iov_base) + sent;
                v.iov_len -= sent;
                sent = 0;
            }
        }
        if (first_ == count_) {
            first_ = count_ = 0;
            r.ranges_drained = true;
        }
        return r;
    }
    void send_failed() noexcept { in_flight_ = false; }

  private:
    // The state a response of one or two ranges touches first, then the ranges: with thousands
    // of connections each line of it is a cache miss (the connection aligns this to a line).
    std::uint8_t count_ = 0;  // ranges queued
    std::uint8_t first_ = 0;  // the first one not sent whole
    bool in_flight_ = false;
    bool sending_large_ = false;
    bool sending_file_ = false;
    std::size_t in_flight_len_ = 0;
    lake::LakeView* large_ = nullptr;
    iovec ranges_[kMaxRanges];
    msghdr msg_{};
    std::span<std::byte> large_bytes_;
    std::size_t large_sent_ = 0;
    // A file's range (a waiting handler's send_file).
    static constexpr std::uint64_t kMaxFileSend = 0x7ffff000;  // what one sendfile moves at most
    int file_fd_ = -1;
    std::uint64_t file_offset_ = 0;
    std::uint64_t file_left_ = 0;
};

}  // namespace lake::server
