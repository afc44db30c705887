// server/page_cache.hpp — whether a file's bytes are in memory, asked before a send from the page
// cache (sendfile) that would otherwise stop the worker's thread on the disk.
#pragma once

#include <cstdint>

namespace lake::server {

// True when every page of [offset, offset + length) of the open file `fd` is in the page cache
// (cachestat, Linux 6.5+). False when one is not, or when the kernel cannot say (older kernels,
// seccomp profiles that refuse the call: then it is not asked again).
bool in_page_cache(int fd, std::uint64_t offset, std::uint64_t length) noexcept;

}  // namespace lake::server
