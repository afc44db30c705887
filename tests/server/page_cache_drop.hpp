// tests/server/page_cache_drop.hpp — drops a file's pages from the page cache, for the tests of
// what the server does with a file that is not in memory.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "../../server/page_cache.hpp"

namespace lake::test {

// True once some page of `path` is out of the page cache (as the server's own check sees it).
// Pages that a socket still references (a file sent with sendfile, its buffers freed a little
// after the client read them) are not dropped at once: tried again for up to two seconds.
inline bool drop_from_page_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool dropped = false;
    if (::fstat(fd, &st) == 0 && ::fdatasync(fd) == 0) {  // clean pages can be dropped
        const auto size = static_cast<std::uint64_t>(st.st_size);
        for (int i = 0; i < 100 && !dropped; ++i) {
            (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            dropped = !server::in_page_cache(fd, 0, size);
            if (!dropped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ::close(fd);
    return dropped;
}

}  // namespace lake::test
