// handlers/arena_json.hpp — RapidJSON writing straight into an arena: no heap, no copy.
//
// As a response body (200, application/json, written into the connection's response arena):
//
//   lake::handlers::json(response, [&](lake::handlers::ResponseJsonWriter& w) {
//       w.StartObject(); w.Key("id"); w.String(id.data(), id.size()); w.EndObject();
//   });
//
// or into any arena (for a handler's scratch: the request arena):
//
//   std::string_view text = lake::handlers::write_json(*request.arena, [&](auto& w) { ... });
//
// The bytes live in the arena (for a handler: until the request arena is reset, after the
// response went out). An empty view means the arena had no room.
#pragma once

#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include <lake/lake.hpp>

#include "response.hpp"

namespace lake::handlers {

namespace detail {

// The bytes a JSON string must escape: controls, the quote and the backslash (a table: one load a
// byte where three comparisons cost twice as much).
inline constexpr auto kJsonEscaped = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = t['\\'] = true;
    return t;
}();

inline bool json_escaped(char c) { return kJsonEscaped[static_cast<unsigned char>(c)]; }

// A rapidjson output stream over the free space of an arena (see BasicArena::process).
class ArenaStream {
  public:
    using Ch = char;
    explicit ArenaStream(std::span<std::byte> free)
        : begin_(reinterpret_cast<char*>(free.data())), cap_(free.size()) {}
    void Put(char c) {
        if (len_ < cap_) begin_[len_] = c;
        ++len_;  // counts past the end, so that the caller sees it did not fit
    }
    void Flush() {}
    // A run of bytes at once.
    void write(const char* bytes, std::size_t n) {
        if (n <= cap_ - std::min(len_, cap_)) std::memcpy(begin_ + len_, bytes, n);
        len_ += n;  // past the end: did not fit (counted, as Put does)
    }
    // Where `n` more bytes go when they fit without a check each (nullptr otherwise); then
    // advance_to(the end of what was written).
    char* room_for(std::size_t n) {
        return n <= cap_ - std::min(len_, cap_) ? begin_ + len_ : nullptr;
    }
    void advance_to(const char* end) { len_ = static_cast<std::size_t>(end - begin_); }
    std::size_t length() const { return len_; }

  private:
    char* begin_;
    std::size_t cap_;
    std::size_t len_ = 0;
};

// rapidjson's Writer keeps a small stack of nesting levels; by default it takes it from the
// heap. This allocator hands out one inline block instead (32 levels of nesting).
class InlineStackAllocator {
  public:
    static const bool kNeedFree = false;
    void* Malloc(std::size_t size) { return size <= sizeof(block_) ? block_ : nullptr; }
    void* Realloc(void* old, std::size_t, std::size_t size) {
        return (old == nullptr || old == block_) && size <= sizeof(block_) ? block_ : nullptr;
    }
    static void Free(void*) {}

  private:
    alignas(std::max_align_t) unsigned char block_[512];
};

// A rapidjson output stream into a response's body (Response::prepare/commit, in chunks).
class ResponseStream {
  public:
    using Ch = char;
    explicit ResponseStream(http::Response& r) : response_(r) {}
    void Put(char c) {
        if (used_ == chunk_.size() && !next_chunk()) return;
        chunk_[used_++] = c;
    }
    void Flush() {}
    // A run of bytes at once, chunk by chunk.
    void write(const char* bytes, std::size_t n) {
        while (n != 0) {
            if (used_ == chunk_.size() && !next_chunk()) return;
            const std::size_t k = std::min(n, chunk_.size() - used_);
            std::memcpy(chunk_.data() + used_, bytes, k);
            used_ += k;
            bytes += k;
            n -= k;
        }
    }
    // Where `n` more bytes go when they fit without a check each (nullptr otherwise); then
    // advance_to(the end of what was written).
    char* room_for(std::size_t n) {
        return n <= chunk_.size() - used_ ? chunk_.data() + used_ : nullptr;
    }
    void advance_to(const char* end) { used_ = static_cast<std::size_t>(end - chunk_.data()); }
    // Keeps what was written; false when the body could not hold it all.
    bool finish() {
        response_.commit(used_);
        chunk_ = {};
        used_ = 0;
        return !failed_;
    }

  private:
    bool next_chunk() {
        if (failed_) return false;
        if (!chunk_.empty()) response_.commit(used_);
        chunk_ = response_.prepare(chunk_.empty() ? 256 : chunk_.size() * 2);
        used_ = 0;
        failed_ = chunk_.empty();
        return !failed_;
    }

    http::Response& response_;
    std::span<char> chunk_;
    std::size_t used_ = 0;
    bool failed_ = false;
};

// What a byte to escape becomes after its backslash: a letter, itself ('"', '\\'), or 'u' for
// \u00XX (rapidjson's choices, so that both paths below write the same bytes).
inline char json_escape_letter(char c) {
    switch (c) {
        case '"':
            return '"';
        case '\\':
            return '\\';
        case '\b':
            return 'b';
        case '\f':
            return 'f';
        case '\n':
            return 'n';
        case '\r':
            return 'r';
        case '\t':
            return 't';
        default:
            return 'u';
    }
}

// Writes the escape of `c` at `to` and returns its end (2 or 6 bytes).
inline char* put_json_escape(char* to, char c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const char letter = json_escape_letter(c);
    *to++ = '\\';
    *to++ = letter;
    if (letter == 'u') {
        const auto b = static_cast<unsigned char>(c);
        *to++ = '0';
        *to++ = '0';
        *to++ = kHex[b >> 4];
        *to++ = kHex[b & 15];
    }
    return to;
}

// `c` at `to`, escaped if it must be; returns the end.
inline char* put_json_char(char* to, char c) {
    if (!json_escaped(c)) {
        *to = c;
        return to + 1;
    }
    return put_json_escape(to, c);
}

// Whether any of the 8 bytes of `w` must be escaped: one below 0x20, a '"' or a '\\' (exact
// for presence: the borrow of a lower byte can only mark bytes above one that is found).
inline bool json_word_needs_escape(std::uint64_t w) {
    constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w & highs) | has_zero(w ^ (ones * '"')) |
            has_zero(w ^ (ones * '\\'))) != 0;
}

// The characters of [s, end), escaped, at `to` (room for 6 a byte): 8 bytes a step while none
// needs escaping, the last few as one word overlapping the bytes before them when those were
// copied as they are.
inline char* put_json_chars(char* to, const char* s, const char* const end) {
    const char* const begin = s;
    for (; end - s >= 8; s += 8) {
        std::uint64_t w;
        std::memcpy(&w, s, 8);
        if (!json_word_needs_escape(w)) {
            std::memcpy(to, &w, 8);
            to += 8;
            continue;
        }
        for (int i = 0; i < 8; ++i) to = put_json_char(to, s[i]);
    }
    const auto left = static_cast<std::size_t>(end - s);
    if (left != 0 && end - begin >= 8) {
        std::uint64_t w;
        std::memcpy(&w, end - 8, 8);
        if (!json_word_needs_escape(w)) {  // then its first 8 - left bytes went out as they are
            std::memcpy(to - (8 - left), &w, 8);
            return to + left;
        }
    }
    if (left >= 4 && end - begin < 8) {  // 4 to 7 bytes: two words of 4 that overlap
        std::uint32_t head, tail;
        std::memcpy(&head, s, 4);
        std::memcpy(&tail, end - 4, 4);
        if (!json_word_needs_escape((std::uint64_t{head} << 32) | tail)) {
            std::memcpy(to, &head, 4);
            std::memcpy(to + left - 4, &tail, 4);
            return to + left;
        }
    }
    for (; s != end; ++s) to = put_json_char(to, *s);
    return to;
}

// A JSON string, quoted and escaped. When the stream has room for the worst case (every byte
// six), the bytes are stored with no check each; otherwise runs between escapes go through
// write() (a long string costs a copy per chunk, not a call per byte).
template <class Stream>
bool write_json_string(Stream& out, const char* s, std::size_t n) {
    const char* const end = s + n;
    if (char* to = out.room_for(2 + 6 * n)) {
        *to++ = '"';
        to = put_json_chars(to, s, end);
        *to++ = '"';
        out.advance_to(to);
        return true;
    }
    out.Put('"');
    while (s != end) {
        const char* run = s;
        while (s != end && !json_escaped(*s)) ++s;
        out.write(run, static_cast<std::size_t>(s - run));
        if (s == end) break;
        char escape[6];
        out.write(escape, static_cast<std::size_t>(put_json_escape(escape, *s++) - escape));
    }
    out.Put('"');
    return true;
}

}  // namespace detail

}  // namespace lake::handlers

// rapidjson's Writer puts a string's characters through the stream one at a time, each with the
// stream's bounds check (~17 instructions a character here), after a call or two per string; for
// its own StringBuffer it reserves the worst case and stores unchecked. The same for the two
// streams above: one room check per string, then plain stores.
namespace rapidjson {

template <>
inline bool Writer<lake::handlers::detail::ArenaStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::WriteString(const Ch* str,
                                                                              SizeType length) {
    return lake::handlers::detail::write_json_string(*os_, str, length);
}

template <>
inline bool Writer<lake::handlers::detail::ResponseStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::WriteString(const Ch* str,
                                                                              SizeType length) {
    return lake::handlers::detail::write_json_string(*os_, str, length);
}

}  // namespace rapidjson

namespace lake::handlers {

using ArenaJsonWriter = rapidjson::Writer<detail::ArenaStream, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                          detail::InlineStackAllocator>;

using ResponseJsonWriter = rapidjson::Writer<detail::ResponseStream, rapidjson::UTF8<>,
                                             rapidjson::UTF8<>, detail::InlineStackAllocator>;

// Runs `fill(ResponseJsonWriter&)` to write the response's body (appended to what is there) and
// sets the content type to application/json. false when the body did not fit (the response is
// then answered 500 by the server).
template <class F>
bool json(http::Response& response, F&& fill) {
    detail::ResponseStream stream(response);
    detail::InlineStackAllocator levels;
    ResponseJsonWriter writer(stream, &levels, 8);
    fill(writer);
    response.content_type = "application/json";
    return stream.finish();
}

// Runs `fill(ArenaJsonWriter&)` over the arena's free space and keeps what it wrote.
template <class F>
std::string_view write_json(lake::BasicArena& arena, F&& fill) {
    lake::DropletDyn out = arena.process([&](std::span<std::byte> free) {
        detail::ArenaStream stream(free);
        detail::InlineStackAllocator levels;
        ArenaJsonWriter writer(stream, &levels, 8);
        fill(writer);
        return stream.length();
    });
    if (!out) return {};
    const std::string_view text = out.as_chars();
    out.leak();
    return text;
}

}  // namespace lake::handlers
