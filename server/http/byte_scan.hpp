// server/http/byte_scan.hpp — the scans the strict head check makes over every request's bytes,
// 16 bytes at a time where SSE2 is there (every x86-64), a byte at a time elsewhere: the next LF,
// and whether a run of bytes is all visible characters. A call to memchr costs ~25 instructions
// before its first compare, and most lines of a request head are shorter than that.
//
// No byte at or past `end` is read, except where the caller names more readable bytes.
#pragma once

#include <bit>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lake::http::byte_scan {

// The first LF in [p, end), or nullptr.
inline const char* find_lf(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto hits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
        if (hits != 0) return p + std::countr_zero(hits);
    }
#endif
    for (; p != end; ++p)
        if (*p == '\n') return p;
    return nullptr;
}

// No byte of [p, end) is a space, a control character or DEL. Bytes up to `readable_end`
// (>= end) may be read, so that a short run costs one 16-byte compare.
inline bool all_visible(const char* p, const char* end, const char* readable_end) noexcept {
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i del = _mm_set1_epi8(0x7F);
    auto bad_bytes = [&](const char* at) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, space), v);  // v <= ' ' (unsigned)
        return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, del))));
    };
    for (; end - p >= 16; p += 16)
        if (bad_bytes(p) != 0) return false;
    if (p == end) return true;
    if (readable_end - p >= 16)  // the rest in one compare, the bytes past `end` masked off
        return (bad_bytes(p) & ((1u << (end - p)) - 1)) == 0;
#else
    (void)readable_end;
#endif
    unsigned bad = 0;
    for (; p != end; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        bad |= static_cast<unsigned>(c <= ' ') | static_cast<unsigned>(c == 0x7F);
    }
    return bad == 0;
}

}  // namespace lake::http::byte_scan
