// server/output_queue.hpp — a connection's output side: the bytes queued for its client, in
// order, and the one send in flight over them.
//
// Ranges of the response view are queued (adjacent ones merged: a pipelined batch is usually
// one range), sent with one send, or one sendmsg for several; the first range's start advances
// as bytes go out, so a short send resumes where it stopped. A response too big for the response
// view lives in a large buffer of its own and goes out before them. The queue does not own the
// bytes: the connection resets its view once ranges_drained, and releases the large buffer the
// queue hands back.
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
        in_flight_ = sending_large_ = false;
        in_flight_len_ = 0;
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

    // The next send, when none is in flight and something is queued: one piece (msg null) or a
    // msghdr over several ranges. The queue's own storage backs both until on_sent().
    struct Send {
        const void* data = nullptr;
        std::size_t len = 0;
        const msghdr* msg = nullptr;
    };
    bool start_send(Send& out) noexcept {
        if (in_flight_) return false;
        if (large_ != nullptr) {
            sending_large_ = true;
            in_flight_len_ = large_bytes_.size() - large_sent_;
            out = Send{large_bytes_.data() + large_sent_, in_flight_len_, nullptr};
        } else if (pending()) {
            sending_large_ = false;
            const unsigned n = count_ - first_;
            const iovec& first = ranges_[first_];
            if (n == 1) {
                in_flight_len_ = first.iov_len;
                out = Send{first.iov_base, first.iov_len, nullptr};
            } else {
                in_flight_len_ = 0;
                for (unsigned i = first_; i < count_; ++i) in_flight_len_ += ranges_[i].iov_len;
                msg_ = msghdr{};
                msg_.msg_iov = &ranges_[first_];
                msg_.msg_iovlen = n;
                out = Send{nullptr, in_flight_len_, &msg_};
            }
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
    std::size_t in_flight_len_ = 0;
    lake::LakeView* large_ = nullptr;
    iovec ranges_[kMaxRanges];
    msghdr msg_{};
    std::span<std::byte> large_bytes_;
    std::size_t large_sent_ = 0;
};

}  // namespace lake::server
