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
#include <cassert>
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

// rapidjson's Writer keeps a stack of its open objects and arrays, by default on the heap. With
// this type as its stack allocator the levels live inline in the writer instead (the Stack
// specialization below), and this records a writer used past what it can hold or out of
// order, so that the document is refused instead of written past the block (rapidjson's own
// stack, when its allocator says no, stores through a null pointer).
class InlineStackAllocator {
  public:
    static const bool kNeedFree = false;
    static constexpr std::size_t kLevels = 32;  // objects and arrays open at once

    enum class Misuse : std::uint8_t { None, TooDeep, Unbalanced };
    Misuse misuse() const { return misuse_; }
    void record(Misuse m) {
        if (misuse_ == Misuse::None) misuse_ = m;
    }

  private:
    Misuse misuse_ = Misuse::None;
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
[[gnu::noinline]] bool write_json_string_any(Stream& out, const char* s, std::size_t n) {
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

// 0 to 7 bytes copied as they are, as two loads and stores that may overlap; false (nothing
// written) when one of them must be escaped. (GCC 12, given a literal shorter than 4 bytes,
// warns about the 4-byte loads on the path that its length rules out: silenced here only.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
inline bool put_short_plain_json(char* to, const char* s, std::size_t n) {
    if (n < 4) {
        if (n == 0) return true;
        const char first = s[0], middle = s[n / 2], last = s[n - 1];
        if (json_escaped(first) | json_escaped(middle) | json_escaped(last)) return false;
        to[0] = first;
        to[n / 2] = middle;
        to[n - 1] = last;
        return true;
    }
    std::uint32_t head, tail;
    std::memcpy(&head, s, 4);
    std::memcpy(&tail, s + n - 4, 4);
    if (json_word_needs_escape((std::uint64_t{head} << 32) | tail)) return false;
    std::memcpy(to, &head, 4);
    std::memcpy(to + n - 4, &tail, 4);
    return true;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// A JSON string: a short one with nothing to escape is written here, in line (keys and small
// values, the common case); any other by write_json_string_any.
template <class Stream>
inline bool write_json_string(Stream& out, const char* s, std::size_t n) {
    if (n < 8) {
        char* to = out.room_for(n + 2);
        if (to != nullptr && put_short_plain_json(to + 1, s, n)) {
            to[0] = '"';
            to[n + 1] = '"';
            out.advance_to(to + n + 2);
            return true;
        }
    }
    return write_json_string_any(out, s, n);
}

}  // namespace detail

}  // namespace lake::handlers

// The nesting levels of a writer whose stack allocator is InlineStackAllocator: a fixed block
// inside the writer (no allocation, no first-push expansion). A level past the block, or a
// pop or look at the top with nothing open, is a debug assertion (rapidjson's own, or the one
// below); in a release build it goes to a spare slot and is recorded as misuse: the writer
// keeps going on valid memory and its document is refused when it ends (json(), write_json()).
namespace rapidjson::internal {

template <>
class Stack<lake::handlers::detail::InlineStackAllocator> {
    using Record = lake::handlers::detail::InlineStackAllocator;

  public:
    Stack(Record* record, size_t) : record_(record) {}
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    template <typename T>
    RAPIDJSON_FORCEINLINE T* Push(size_t count = 1) {
        static_assert(sizeof(T) <= 2 * sizeof(size_t), "a block holds kLevels rapidjson Levels");
        const size_t n = sizeof(T) * count;
        if (RAPIDJSON_UNLIKELY(size_ + n > sizeof(block_))) {
            // A debug build stops here (rapidjson's own checks would misfire further on, on a
            // shared spare level); a release build refuses the document when it ends.
            assert(!"a JSON writer nested more than 32 objects and arrays");
            size_ += n;
            return spare<T>(count, Record::Misuse::TooDeep);
        }
        T* at = reinterpret_cast<T*>(block_ + size_);
        size_ += n;
        return at;
    }
    template <typename T>
    T* Pop(size_t count) {
        const size_t n = sizeof(T) * count;
        if (RAPIDJSON_UNLIKELY(n > size_)) {
            size_ = 0;
            return spare<T>(count, Record::Misuse::Unbalanced);
        }
        size_ -= n;
        return size_ + n <= sizeof(block_) ? reinterpret_cast<T*>(block_ + size_)
                                           : spare<T>(count, Record::Misuse::TooDeep);
    }
    template <typename T>
    T* Top() {
        if (RAPIDJSON_UNLIKELY(size_ < sizeof(T))) return spare<T>(1, Record::Misuse::Unbalanced);
        return size_ <= sizeof(block_) ? reinterpret_cast<T*>(block_ + size_ - sizeof(T))
                                       : spare<T>(1, Record::Misuse::TooDeep);
    }
    bool Empty() const { return size_ == 0; }
    size_t GetSize() const { return size_; }
    void Clear() { size_ = 0; }
    void ShrinkToFit() {}

  private:
    // Where a level that does not fit, or is not there, is read and written.
    template <typename T>
    T* spare(size_t count, Record::Misuse why) {
        static_assert(sizeof(T) <= sizeof(spare_));
        assert(count == 1);  // rapidjson's writers push and pop one level at a time
        (void)count;
        if (record_ != nullptr) record_->record(why);
        return reinterpret_cast<T*>(spare_);
    }

    alignas(std::max_align_t) char block_[Record::kLevels * 2 * sizeof(size_t)];  // a Level
    alignas(std::max_align_t) char spare_[32] = {};
    size_t size_ = 0;
    Record* record_;
};

}  // namespace rapidjson::internal

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

// Key("id") and String("text") measure their C string with rapidjson's byte loop, each call;
// measured by the compiler's strlen instead, a literal's length is known where it is written.
template <>
inline bool Writer<lake::handlers::detail::ArenaStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::Key(const Ch* str) {
    return Key(str, static_cast<SizeType>(std::strlen(str)));
}
template <>
inline bool Writer<lake::handlers::detail::ArenaStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::String(const Ch* str) {
    return String(str, static_cast<SizeType>(std::strlen(str)));
}
template <>
inline bool Writer<lake::handlers::detail::ResponseStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::Key(const Ch* str) {
    return Key(str, static_cast<SizeType>(std::strlen(str)));
}
template <>
inline bool Writer<lake::handlers::detail::ResponseStream, UTF8<>, UTF8<>,
                   lake::handlers::detail::InlineStackAllocator>::String(const Ch* str) {
    return String(str, static_cast<SizeType>(std::strlen(str)));
}

}  // namespace rapidjson

namespace lake::handlers {

using ArenaJsonWriter = rapidjson::Writer<detail::ArenaStream, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                          detail::InlineStackAllocator>;

using ResponseJsonWriter = rapidjson::Writer<detail::ResponseStream, rapidjson::UTF8<>,
                                             rapidjson::UTF8<>, detail::InlineStackAllocator>;

namespace detail {

// What a writer left behind that makes its document no JSON: a level nested too deep, closed
// without being open, or left open (some bytes written, yet not complete).
template <class Writer>
http::BodyFailure json_failure(const Writer& writer, const InlineStackAllocator& levels,
                               bool wrote) {
    using Misuse = InlineStackAllocator::Misuse;
    if (levels.misuse() == Misuse::TooDeep) return http::BodyFailure::JsonTooDeep;
    if (levels.misuse() == Misuse::Unbalanced || (wrote && !writer.IsComplete()))
        return http::BodyFailure::JsonUnbalanced;
    return http::BodyFailure::None;
}

}  // namespace detail

// Runs `fill(ResponseJsonWriter&)` to write the response's body (appended to what is there) and
// sets the content type to application/json. false when the body did not fit, or when `fill`
// nested more than 32 objects and arrays, closed one it had not opened or left one open: the
// response is then answered 500 by the server, naming which.
template <class F>
bool json(http::Response& response, F&& fill) {
    const std::size_t before = response.body.size();
    detail::ResponseStream stream(response);
    detail::InlineStackAllocator levels;
    ResponseJsonWriter writer(stream, &levels);
    fill(writer);
    response.content_type = "application/json";
    const bool fit = stream.finish();
    if (const http::BodyFailure failure =
            detail::json_failure(writer, levels, response.body.size() != before);
        failure != http::BodyFailure::None) {
        response.fail_body(failure);
        return false;
    }
    return fit;
}

// Runs `fill(ArenaJsonWriter&)` over the arena's free space and keeps what it wrote; an empty
// view (and nothing kept) when it did not fit or was no JSON (see json() above).
template <class F>
std::string_view write_json(lake::BasicArena& arena, F&& fill) {
    lake::DropletDyn out = arena.process([&](std::span<std::byte> free) {
        detail::ArenaStream stream(free);
        detail::InlineStackAllocator levels;
        ArenaJsonWriter writer(stream, &levels);
        fill(writer);
        if (detail::json_failure(writer, levels, stream.length() != 0) != http::BodyFailure::None)
            return free.size() + 1;  // as if it did not fit: nothing is kept
        return stream.length();
    });
    if (!out) return {};
    const std::string_view text = out.as_chars();
    out.leak();
    return text;
}

}  // namespace lake::handlers
