#include "request.hpp"

#include "short_compare.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lake::http {

std::string_view trim_blanks(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool next_list_item(std::string_view& list, std::string_view& item) noexcept {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        item = trim_blanks(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (!item.empty()) return true;
    }
    return false;
}

namespace {

// ASCII lower case, one look-up a byte (the 1 to 3 byte case below).
constexpr struct Lower {
    unsigned char of[256] = {};
    constexpr Lower() {
        for (int c = 0; c < 256; ++c)
            of[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
} kLower;

// Words (of 4 or 8 bytes) that are the same but for the case of ASCII letters. Where they
// differ, the difference must be the case bit (0x20) alone, in a byte that is a letter once
// lowered: adding to a byte's low 7 bits sets its high bit when it is at least 'a', and again
// when it is past 'z' (no carry crosses a byte); bytes of 0x80 and above are no letters.
template <class Word>
inline bool same_but_case(Word a, Word b) noexcept {
    const Word diff = a ^ b;
    if (diff == 0) return true;
    constexpr Word kBytes = static_cast<Word>(~Word{0}) / 0xff;  // 0x0101...
    if ((diff & ~(kBytes * 0x20)) != 0) return false;
    const Word lower = a | kBytes * 0x20;
    const Word low7 = lower & kBytes * 0x7f;
    const Word from_a = low7 + kBytes * (0x80 - 'a');
    const Word past_z = low7 + kBytes * (0x80 - 'z' - 1);
    const Word letter = from_a & ~past_z & ~lower & kBytes * 0x80;
    return ((diff << 2) & ~letter) == 0;  // each differing byte's 0x20 moved to its 0x80
}

#if defined(__SSE2__)
// ASCII capitals to lower case in 16 bytes at once (bytes of 0x80 and above compare as negative,
// so below 'A': kept).
inline __m128i lower_16(__m128i v) noexcept {
    const __m128i capital = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                          _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    return _mm_or_si128(v, _mm_and_si128(capital, _mm_set1_epi8(0x20)));
}

inline bool same_lowered(__m128i a, __m128i b) noexcept {
    return _mm_movemask_epi8(_mm_cmpeq_epi8(lower_16(a), lower_16(b))) == 0xFFFF;
}

inline __m128i load_16(const char* p) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// 8 to 16 bytes as one vector: the first eight and the last eight (they overlap).
inline __m128i load_8_and_8(const char* p, std::size_t n) noexcept {
    using handlers::detail::load_word;
    return _mm_set_epi64x(load_word<long long>(p + n - 8), load_word<long long>(p));
}
#endif

// 8 bytes and more: 16 at a time with SSE2 (every x86-64), else a word of 8 at a time (the
// last block overlapping). Out of line, so that the short names most comparisons are about
// pay for none of its registers.
[[gnu::noinline]] bool long_iequals(const char* p, const char* q, std::size_t n) noexcept {
#if defined(__SSE2__)
    if (n <= 16) return same_lowered(load_8_and_8(p, n), load_8_and_8(q, n));
    for (std::size_t i = 0; i + 16 < n; i += 16)
        if (!same_lowered(load_16(p + i), load_16(q + i))) return false;
    return same_lowered(load_16(p + n - 16), load_16(q + n - 16));
#else
    using handlers::detail::load_word;
    for (std::size_t i = 0; i + 8 < n; i += 8)
        if (!same_but_case(load_word<std::uint64_t>(p + i), load_word<std::uint64_t>(q + i)))
            return false;
    return same_but_case(load_word<std::uint64_t>(p + n - 8), load_word<std::uint64_t>(q + n - 8));
#endif
}

}  // namespace

// Header names are compared on every request (Host, Transfer-Encoding, a handler's look-ups):
// a word at a time, as same_bytes does; a byte loop with a table cost ~8 instructions a byte.
LAKE_HOT bool iequals_same_size(std::string_view a, std::string_view b) noexcept {
    using handlers::detail::load_word;
    const std::size_t n = a.size();
    const char* p = a.data();
    const char* q = b.data();
    if (n >= 8) return long_iequals(p, q, n);
    if (n >= 4)  // the first four bytes and the last four (they overlap)
        return same_but_case(load_word<std::uint32_t>(p), load_word<std::uint32_t>(q)) &&
               (n == 4 || same_but_case(load_word<std::uint32_t>(p + n - 4),
                                        load_word<std::uint32_t>(q + n - 4)));
    if (n == 0) return true;
    // 1 to 3 bytes: the first, middle and last cover them all.
    const auto low = [](char c) { return kLower.of[static_cast<unsigned char>(c)]; };
    return low(p[0]) == low(q[0]) && low(p[n / 2]) == low(q[n / 2]) &&
           low(p[n - 1]) == low(q[n - 1]);
}

std::string_view Request::header(std::string_view name) const noexcept {
    for (const Header& h : headers)
        if (iequals(h.name, name)) return h.value;
    return {};
}

namespace {

// The first field of `text` named `name`, its value decoded into the arena. The names before it
// are decoded only to be compared, each given back after, and their values not at all: a look-up
// takes from the arena the value it returns, however many fields it passes over and however
// many look-ups a handler makes (empty when even that does not fit).
std::string_view field_of(std::string_view text, std::string_view name,
                          lake::BasicArena* arena) noexcept {
    if (arena == nullptr) return {};
    while (!text.empty()) {
        const std::size_t amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view raw_name = pair.substr(0, eq);
        bool ok = true;
        const std::string_view decoded = url_decode(raw_name, *arena, ok);
        if (!ok) return {};
        const bool found = decoded == name;
        if (decoded.data() != raw_name.data())  // a copy, the arena's last allocation
            (void)arena->deallocate(const_cast<char*>(decoded.data()), decoded.size());
        if (!found) continue;
        if (eq == std::string_view::npos) return {};
        return url_decode(pair.substr(eq + 1), *arena, ok);
    }
    return {};
}

}  // namespace

std::string_view Request::decoded_param(std::string_view name) const noexcept {
    const std::string_view raw = param(name);
    if (raw.find('%') == std::string_view::npos) return raw;
    if (arena == nullptr) return {};
    bool ok = true;
    const std::string_view decoded = percent_decode(raw, *arena, ok);
    return ok ? decoded : std::string_view();
}

std::string_view Request::query_param(std::string_view name) const noexcept {
    return field_of(query, name, arena);
}

std::string_view Request::form_field(std::string_view name) const noexcept {
    return has_form_body() ? field_of(body, name, arena) : std::string_view();
}

UrlEncodedFields Request::form_fields() const noexcept {
    return UrlEncodedFields(has_form_body() ? body : std::string_view(), arena);
}

std::string_view Request::cookie(std::string_view name) const noexcept {
    for (const Header& h : headers) {
        if (!iequals(h.name, "cookie")) continue;
        std::string_view rest = h.value;
        while (!rest.empty()) {
            const std::size_t semi = rest.find(';');
            std::string_view pair = rest.substr(0, semi);
            rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
            while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t'))
                pair.remove_prefix(1);
            const std::size_t eq = pair.find('=');
            if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
            std::string_view value = pair.substr(eq + 1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);  // RFC 6265 allows a quoted value
            return value;
        }
    }
    return {};
}

}  // namespace lake::http
