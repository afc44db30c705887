// lake/thread_lake.hpp — one Lake per thread, created on demand, reached without globals.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "lake_arena.hpp"

namespace lake {

namespace detail {
inline std::unique_ptr<Lake>& thread_lake_slot() noexcept {
    thread_local std::unique_ptr<Lake> slot;
    return slot;
}
}  // namespace detail

// Creates this thread's lake with `capacity` bytes. Returns false, keeping the existing lake, if
// this thread already has one. Throws std::bad_alloc if the memory cannot be had.
[[nodiscard]] inline bool thread_lake_init(std::size_t capacity, LakeOptions options = {}) {
    auto& slot = detail::thread_lake_slot();
    if (slot) return false;
    slot = std::make_unique<Lake>(capacity, options);
    return true;
}

// This thread's lake, or nullptr before thread_lake_init().
inline Lake* thread_lake() noexcept { return detail::thread_lake_slot().get(); }

// Destroys this thread's lake (droplets and views from it must be gone). Also happens at thread
// exit.
inline void thread_lake_release() noexcept { detail::thread_lake_slot().reset(); }

// Calls f(Lake&) with this thread's lake and returns what f returns. Calling it before
// thread_lake_init() on this thread is a programming error: it prints what to do and aborts,
// in every build (one predictable branch).
template <class F>
decltype(auto) with_lake(F&& f) {
    Lake* lake = thread_lake();
    if (lake == nullptr) [[unlikely]] {
        detail::contract_failure(
            "with_lake() called on a thread with no lake; call lake::thread_lake_init(capacity) "
            "on this thread first",
            __FILE__, __LINE__);
    }
    return std::forward<F>(f)(*lake);
}

}  // namespace lake
