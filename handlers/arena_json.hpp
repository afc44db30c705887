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
    // A run of bytes at once (see ScanWriteUnescapedString below).
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
    // A run of bytes at once (see ScanWriteUnescapedString below).
    void write(const char* bytes, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) Put(bytes[i]);
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

// Writes the run of `is` up to the next byte to escape; true when bytes are left.
template <class Stream>
bool write_unescaped_run(Stream& out, rapidjson::StringStream& is, std::size_t length) {
    const char* p = is.src_;
    const char* const end = is.head_ + length;
    if (char* to = out.room_for(static_cast<std::size_t>(end - p))) {
        while (p != end && !json_escaped(*p)) *to++ = *p++;  // copied while scanned
        out.advance_to(to);
    } else {
        const char* const run = p;
        while (p != end && !json_escaped(*p)) ++p;
        out.write(run, static_cast<std::size_t>(p - run));  // past the room: checked writes
    }
    is.src_ = p;
    return p != end;
}

}  // namespace detail

}  // namespace lake::handlers

// rapidjson's Writer puts a string's characters through the stream one at a time, each with the
// stream's bounds check (≈17 instructions a character here); for its own StringBuffer it lets
// SSE find the run that needs no escaping and copies it at once. The same for the two streams
// above, without SSE: the run is found by a byte loop and written with one bounds check.
namespace rapidjson {

template <>
inline bool
Writer<lake::handlers::detail::ArenaStream, UTF8<>, UTF8<>,
       lake::handlers::detail::InlineStackAllocator>::ScanWriteUnescapedString(StringStream& is,
                                                                               size_t length) {
    return lake::handlers::detail::write_unescaped_run(*os_, is, length);
}

template <>
inline bool
Writer<lake::handlers::detail::ResponseStream, UTF8<>, UTF8<>,
       lake::handlers::detail::InlineStackAllocator>::ScanWriteUnescapedString(StringStream& is,
                                                                               size_t length) {
    return lake::handlers::detail::write_unescaped_run(*os_, is, length);
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
