// lake/config.hpp — build-time policy: debug checks and AddressSanitizer poisoning.
//
// Debug checks (droplet validity on element access, view validity, contract asserts) are on when
// LAKE_DEBUG is 1. It defaults to 1 unless NDEBUG is defined, so release builds pay nothing.
// Define LAKE_DEBUG yourself to force either way.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#ifndef LAKE_DEBUG
#ifdef NDEBUG
#define LAKE_DEBUG 0
#else
#define LAKE_DEBUG 1
#endif
#endif

// LAKE_COUNT_ALLOCATIONS: count successful allocations in Stats::allocations. Follows LAKE_DEBUG
// unless defined.
#ifndef LAKE_COUNT_ALLOCATIONS
#define LAKE_COUNT_ALLOCATIONS LAKE_DEBUG
#endif

// LAKE_ASAN is 1 when compiled with AddressSanitizer (GCC defines __SANITIZE_ADDRESS__, clang
// answers __has_feature). Free arena bytes are then poisoned so that a use after rewind is caught.
#ifndef LAKE_ASAN
#if defined(__SANITIZE_ADDRESS__)
#define LAKE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAKE_ASAN 1
#endif
#endif
#endif
#ifndef LAKE_ASAN
#define LAKE_ASAN 0
#endif

// LAKE_COLD marks the rare branch of a hot function as its own out-of-line function, so that the
// hot one needs no registers saved for it (GCC and clang; elsewhere a plain function).
#if defined(__GNUC__) || defined(__clang__)
#define LAKE_COLD __attribute__((noinline, cold))
#else
#define LAKE_COLD
#endif

// LAKE_HOT marks a function that runs for every request or allocation: GCC and clang place it in
// .text.hot, which the linker keeps in one run, so that the functions a hot path calls one after
// the other sit in consecutive cache lines instead of wherever their files put them (scattered,
// they landed on the same few sets of an 8-way instruction cache and evicted each other).
// (-DLAKE_HOT= turns it off, to measure what it is worth.)
#if !defined(LAKE_HOT) && (defined(__GNUC__) || defined(__clang__))
#define LAKE_HOT __attribute__((hot))
#elif !defined(LAKE_HOT)
#define LAKE_HOT
#endif

#if LAKE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace lake {

// True when this translation unit was built with the debug checks.
inline constexpr bool kDebugChecks = LAKE_DEBUG != 0;
// True when Stats::allocations is counted (see LAKE_COUNT_ALLOCATIONS).
inline constexpr bool kCountAllocations = LAKE_COUNT_ALLOCATIONS != 0;
// True when free arena memory is poisoned for AddressSanitizer.
inline constexpr bool kAsanPoisoning = LAKE_ASAN != 0;

namespace detail {

// Reports a broken contract and aborts: used only for programming errors that debug builds catch.
[[noreturn]] inline void contract_failure(const char* what, const char* file, int line) noexcept {
    std::fprintf(stderr, "lake: contract violated: %s (%s:%d)\n", what, file, line);
    std::abort();
}

// Marks [p, p+n) unaddressable for ASan; a no-op in other builds.
inline void poison(const void* p, std::size_t n) noexcept {
#if LAKE_ASAN
    if (n != 0) __asan_poison_memory_region(p, n);
#else
    (void)p;
    (void)n;
#endif
}

// Marks [p, p+n) addressable again for ASan; a no-op in other builds.
inline void unpoison(const void* p, std::size_t n) noexcept {
#if LAKE_ASAN
    if (n != 0) __asan_unpoison_memory_region(p, n);
#else
    (void)p;
    (void)n;
#endif
}

}  // namespace detail
}  // namespace lake

// LAKE_ASSERT(cond, what): checked only in debug builds; aborts with `what` when cond is false.
#if LAKE_DEBUG
#define LAKE_ASSERT(cond, what) \
    ((cond) ? void(0) : ::lake::detail::contract_failure(what, __FILE__, __LINE__))
#else
#define LAKE_ASSERT(cond, what) void(0)
#endif
