// server/head_and_file.hpp — a file response's last step: the bytes queued before the file's
// range (its head, usually), then the range from the page cache, in one go on the worker's
// thread, as nginx's writev + sendfile. Both backends call it once the socket has room.
#pragma once

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace lake::server {

// Sends `head` (head_len bytes; none when null) with MSG_MORE, so that it leaves with the file's
// first bytes, then up to `len` bytes of `file` from `offset`, on a non-blocking socket. Returns
// the bytes that went (the head's first), or -errno: -EAGAIN only when nothing went (wait for
// room), -ENODATA when the file ended before its range did and nothing else went.
inline long send_head_and_file(int socket, const msghdr* head, std::size_t head_len, int file,
                               std::uint64_t offset, std::size_t len) noexcept {
    long head_sent = 0;
    if (head != nullptr && head_len != 0) {
        head_sent = ::sendmsg(socket, head, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
        if (head_sent < 0) return errno == EINTR ? -EAGAIN : -errno;
        if (static_cast<std::size_t>(head_sent) < head_len)
            return head_sent;  // full: the rest later
    }
    off_t at = static_cast<off_t>(offset);
    const long n = ::sendfile(socket, file, &at, len);
    if (n > 0) return head_sent + n;
    if (head_sent > 0) return head_sent;  // the file's turn comes again, on its own
    if (n == 0) return -ENODATA;
    return errno == EINTR ? -EAGAIN : -errno;
}

}  // namespace lake::server
