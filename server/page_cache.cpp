#include "page_cache.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace lake::server {

namespace {

// The system call's number and structures (Linux 6.5, include/uapi/linux/mman.h), declared here:
// Debian bookworm's kernel headers predate them.
#ifndef SYS_cachestat
constexpr long kCachestat = 451;  // the same on every architecture (the unified table)
#else
constexpr long kCachestat = SYS_cachestat;
#endif
struct CachestatRange {
    std::uint64_t off;
    std::uint64_t len;
};
struct Cachestat {
    std::uint64_t nr_cache;
    std::uint64_t nr_dirty;
    std::uint64_t nr_writeback;
    std::uint64_t nr_evicted;
    std::uint64_t nr_recently_evicted;
};

std::atomic<bool> g_unavailable{false};

}  // namespace

bool in_page_cache(int fd, std::uint64_t offset, std::uint64_t length) noexcept {
    if (length == 0) return true;
    if (g_unavailable.load(std::memory_order_relaxed)) return false;
    static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    CachestatRange range{offset, length};
    Cachestat stat{};
    if (::syscall(kCachestat, fd, &range, &stat, 0) != 0) {
        if (errno == ENOSYS || errno == EPERM) g_unavailable.store(true, std::memory_order_relaxed);
        return false;
    }
    const std::uint64_t pages = (offset + length + page - 1) / page - offset / page;
    return stat.nr_cache >= pages;
}

}  // namespace lake::server
