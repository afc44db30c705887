// lake/align.hpp — alignment helpers used for in-place placement of structs and slices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "config.hpp"

namespace lake {

// True when `v` is a power of two (1, 2, 4, ...). Zero is not.
constexpr bool is_power_of_two(std::size_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

namespace detail {
// Deliberately not constexpr: calling it during constant evaluation is a compile error.
inline void align_must_be_a_power_of_two() noexcept {}
}  // namespace detail

// Rounds `offset` up to the next multiple of `align`.
// `align` must be a power of two: a compile error in constant evaluation, a debug assertion at run
// time. The result wraps if `offset` is within `align` of SIZE_MAX; use `checked_align_up` where
// that can happen. (The arenas align addresses, not offsets: see ArenaCore::bump.)
constexpr std::size_t align_up(std::size_t offset, std::size_t align) noexcept {
    if (!is_power_of_two(align)) {
        if (std::is_constant_evaluated()) detail::align_must_be_a_power_of_two();
        LAKE_ASSERT(false, "align_up: alignment must be a power of two");
    }
    return (offset + (align - 1)) & ~(align - 1);
}

// Like align_up, but returns false instead of wrapping or accepting a bad alignment.
constexpr bool checked_align_up(std::size_t offset, std::size_t align, std::size_t& out) noexcept {
    if (!is_power_of_two(align) || offset > SIZE_MAX - (align - 1)) return false;
    out = (offset + (align - 1)) & ~(align - 1);
    return true;
}

}  // namespace lake
