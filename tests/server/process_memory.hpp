// tests/server/process_memory.hpp — this process's resident memory: the tests that run the server
// in-process check that it stays flat while a large body or file passes through.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <fstream>

namespace lake::test {

inline std::size_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace lake::test
