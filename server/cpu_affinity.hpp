// server/cpu_affinity.hpp — which CPUs this process may run on, and pinning a worker to one.
//
// Workers follow the process's own affinity mask (taskset, a container's cpuset), not the
// machine's CPU count: `taskset -c 4-7 lake-server` runs four workers on CPUs 4, 5, 6 and 7.
#pragma once

#include <vector>

namespace lake::server {

// The CPUs in this process's affinity mask, ascending; never empty (falls back to {0..n-1} of
// std::thread::hardware_concurrency() if the mask cannot be read).
std::vector<int> allowed_cpus();

// Pins the calling thread to `cpu`. Returns false (and leaves the thread as it was) on failure.
bool pin_current_thread(int cpu) noexcept;

}  // namespace lake::server
