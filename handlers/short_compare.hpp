// handlers/short_compare.hpp — equality of the short strings routing compares (path segments,
// parameter names, hook prefixes), kept inline: a call to memcmp (through the PLT and glibc's
// dispatch) cost more than the comparison itself, and a byte loop costs ~6 instructions a byte.
// Here a few word loads cover any length: words of 8 (the last one overlapping), two of 4, or the
// first, middle and last byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace lake::handlers {

namespace detail {

template <class Word>
inline Word load_word(const char* p) noexcept {
    Word w;
    std::memcpy(&w, p, sizeof w);  // one unaligned load
    return w;
}

}  // namespace detail

// The `n` bytes at `a` and at `b` are the same.
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
    using detail::load_word;
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (load_word<std::uint64_t>(a + i) != load_word<std::uint64_t>(b + i)) return false;
        return load_word<std::uint64_t>(a + n - 8) == load_word<std::uint64_t>(b + n - 8);
    }
    if (n >= 4)
        return ((load_word<std::uint32_t>(a) ^ load_word<std::uint32_t>(b)) |
                (load_word<std::uint32_t>(a + n - 4) ^ load_word<std::uint32_t>(b + n - 4))) == 0;
    if (n == 0) return true;
    // 1 to 3 bytes: the first, middle and last cover them all.
    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}

inline bool starts_with_bytes(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && same_bytes(s.data(), prefix.data(), prefix.size());
}

}  // namespace lake::handlers
