// handlers/lifecycle.hpp — hooks a plugin registers around the server's workers and its exit.
#pragma once

#include <functional>
#include <vector>

namespace lake::handlers {

// The hooks a server runs around its workers. Worker hooks run on the worker's own thread:
// start before it serves its first request, tick once a second while it runs (it must not
// throw), stop after its last (in the reverse order of registration) and after its connections
// are closed (the frames of handlers cut while they waited are destroyed by then); shutdown
// hooks once, on the main thread, after every worker stopped.
struct Lifecycle {
    using WorkerHook = std::function<void(unsigned worker)>;
    std::vector<WorkerHook> worker_start;
    std::vector<WorkerHook> worker_stop;
    // Once a second on each worker's thread, between requests (for per-thread state that ages:
    // the static files' open files of past loop passes are closed there).
    std::vector<WorkerHook> worker_tick;
    std::vector<std::function<void()>> shutdown;

    void start_worker(unsigned worker) const {
        for (const WorkerHook& h : worker_start) h(worker);
    }
    void tick_worker(unsigned worker) const {
        for (const WorkerHook& h : worker_tick) h(worker);
    }
    void stop_worker(unsigned worker) const {
        for (auto it = worker_stop.rbegin(); it != worker_stop.rend(); ++it) (*it)(worker);
    }
    void shut_down() const {
        for (auto it = shutdown.rbegin(); it != shutdown.rend(); ++it) (*it)();
    }
};

}  // namespace lake::handlers
