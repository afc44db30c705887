#include "response_writer.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <span>

#include "../../handlers/header_rules.hpp"

namespace lake::http {

namespace {

// 304 carries no Content-Length: it would have to be the length of the representation not
// sent (RFC 9110 8.6), which a handler answering 304 need not know.
bool has_content_length(int status) { return status >= 200 && status != 204 && status != 304; }

std::size_t digits(std::size_t v) {
    std::size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

struct Block16 {
    std::uint64_t low, high;
};

struct Cursor {
    char* p;
    // Most pieces of a head are short (a content type, a header's name or value): up to 16
    // bytes go as two overlapping words, with no call to memcpy and no byte past the piece.
    void put(std::string_view s) {
        const std::size_t n = s.size();
        const char* from = s.data();
        if (n > 16) {
            std::memcpy(p, from, n);
        } else if (n >= 8) {
            copy_words<std::uint64_t>(from, n);
        } else if (n >= 4) {
            copy_words<std::uint32_t>(from, n);
        } else if (n != 0) {  // an empty view may carry a null pointer: not read
            p[0] = from[0];
            p[n / 2] = from[n / 2];
            p[n - 1] = from[n - 1];
        }
        p += n;
    }
    template <class Word>
    void copy_words(const char* from, std::size_t n) {
        Word first, last;
        std::memcpy(&first, from, sizeof(Word));
        std::memcpy(&last, from + n - sizeof(Word), sizeof(Word));
        std::memcpy(p, &first, sizeof(Word));
        std::memcpy(p + n - sizeof(Word), &last, sizeof(Word));
    }
    // A header's name: up to 32 bytes as two 16-byte blocks that may overlap. (Names only: long
    // names are common, and for every piece the branch cost more than it saved, the Date line
    // above all, which glibc's memcpy copies cheaper; docs/loadtest.md.)
    void put_name(std::string_view s) {
        if (s.size() > 16 && s.size() <= 32) {
            copy_words<Block16>(s.data(), s.size());
            p += s.size();
        } else {
            put(s);
        }
    }
    void put_number(std::size_t v) { p = std::to_chars(p, p + 20, v).ptr; }
};

// "HTTP/1.1 200 OK\r\n" for nearly every response, without looking up the phrase.
constexpr std::string_view kStatusLine200 = "HTTP/1.1 200 OK\r\n";

}  // namespace

namespace {

// Which bytes may appear in a field value (handlers/header_rules.hpp, whose is_tchar is a table
// already): one table look-up per byte, for every header a handler added at run time.
struct ByteClasses {
    bool value[256] = {};
    constexpr ByteClasses() {
        for (int c = 0; c < 256; ++c) value[c] = is_field_byte(static_cast<unsigned char>(c));
    }
};
constexpr ByteClasses kBytes;

// Whether a word holds a byte below 0x20 or a 0x7F (bytes of 0x80 and up are obs-text, allowed).
bool may_hold_control(std::uint64_t w) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
    const std::uint64_t x = w ^ (kOnes * 0x7F);
    const std::uint64_t is_del = (x - kOnes) & ~x & kHighs;
    return (below_space | is_del) != 0;
}

// Eight bytes at a time: a word none of whose bytes is below 0x20 or is 0x7F passes at once;
// one that has (HTAB is allowed) is looked at byte by byte.
LAKE_HOT bool is_field_value(std::string_view v) noexcept {
    if (v.size() >= 8 && v.size() <= 16) {  // most content types: two words that may overlap
        std::uint64_t first, last;
        std::memcpy(&first, v.data(), 8);
        std::memcpy(&last, v.data() + v.size() - 8, 8);
        if (!may_hold_control(first) && !may_hold_control(last)) return true;
    }
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, v.data() + i, 8);
        if (!may_hold_control(w)) continue;
        for (std::size_t j = i; j < i + 8; ++j)
            if (!kBytes.value[static_cast<unsigned char>(v[j])]) return false;
    }
    for (; i < v.size(); ++i)
        if (!kBytes.value[static_cast<unsigned char>(v[i])]) return false;
    return true;
}

bool is_token(std::string_view v) noexcept {
    if (v.empty()) return false;
    for (char ch : v)
        if (!is_tchar(static_cast<unsigned char>(ch))) return false;
    return true;
}

}  // namespace

LAKE_HOT const char* response_problem(const Response& r) noexcept {
    if (r.status < 200 || r.status > 599) return "status is not a final response (200-599)";
    if (!is_field_value(r.content_type)) return "control character in the content type";
    const std::span<const Header> headers = r.headers();
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (r.checked_when_compiled(i)) continue;  // a ConstantHeader
        if (!is_token(headers[i].name)) return "header name is not a token";
        if (!is_field_value(headers[i].value)) return "control character in a header value";
    }
    switch (r.body_failure()) {
        case BodyFailure::None:
            break;
        case BodyFailure::NoRoom:
            return "the body did not fit the connection's arenas";
        case BodyFailure::JsonTooDeep:
            return "its JSON body nested more than 32 objects and arrays";
        case BodyFailure::JsonUnbalanced:
            return "its JSON body closed a level it had not opened, or left one open";
    }
    return nullptr;
}

LAKE_HOT std::size_t head_size(const Response& r, const ResponseContext& ctx) noexcept {
    std::size_t n =
        r.status == 200 ? kStatusLine200.size() : 9 + 4 + reason_phrase(r.status).size() + 2;
    n += ctx.server_line.size() + ctx.date_line.size();
    if (!r.content_type.empty()) n += 14 + r.content_type.size() + 2;
    if (has_content_length(r.status)) {
        switch (ctx.framing) {
            case Framing::BodySize:
                n += 16 + digits(r.body.size()) + 2;
                break;
            case Framing::Length:
                n += 16 + digits(ctx.length) + 2;
                break;
            case Framing::Chunked:
                n += 28;  // "Transfer-Encoding: chunked\r\n"
                break;
            case Framing::UntilClose:
                break;
        }
    }
    if (!ctx.keep_alive)
        n += 19;  // "Connection: close\r\n"
    else if (ctx.http10)
        n += 24;  // "Connection: keep-alive\r\n"
    for (const Header& h : r.headers()) n += h.name.size() + 2 + h.value.size() + 2;
    return n + 2;
}

LAKE_HOT std::size_t head_size_at_most(const Response& r, const ResponseContext& ctx) noexcept {
    // A status line of any phrase in reason_phrase() (at most 31 bytes), "Content-Length: "
    // with 20 digits (more than "Transfer-Encoding: chunked"), "Connection: keep-alive".
    constexpr std::size_t kFixed = 9 + 4 + 31 + 2 + (16 + 20 + 2) + 24 + 2;
    if (r.status < 100 || r.status > 999) return head_size(r, ctx);  // not three digits
    return kFixed + ctx.server_line.size() + ctx.date_line.size() +
           (14 + r.content_type.size() + 2) + r.header_bytes() + 4 * r.headers().size();
}

LAKE_HOT std::size_t response_size(const Response& r, const ResponseContext& ctx) noexcept {
    return head_size(r, ctx) + (sends_body(r, ctx) ? r.body.size() : 0);
}

namespace {

LAKE_HOT char* put_head(char* at, const Response& r, const ResponseContext& ctx) noexcept {
    Cursor c{at};
    if (r.status == 200) {
        c.put(kStatusLine200);
    } else {
        c.put("HTTP/1.1 ");
        c.put_number(static_cast<std::size_t>(r.status));
        c.put(" ");
        c.put(reason_phrase(r.status));
        c.put("\r\n");
    }
    c.put(ctx.server_line);
    c.put(ctx.date_line);
    if (!r.content_type.empty()) {
        c.put("Content-Type: ");
        c.put(r.content_type);
        c.put("\r\n");
    }
    if (has_content_length(r.status)) {
        switch (ctx.framing) {
            case Framing::BodySize:
            case Framing::Length:
                c.put("Content-Length: ");
                c.put_number(ctx.framing == Framing::Length ? ctx.length : r.body.size());
                c.put("\r\n");
                break;
            case Framing::Chunked:
                c.put("Transfer-Encoding: chunked\r\n");
                break;
            case Framing::UntilClose:
                break;
        }
    }
    if (!ctx.keep_alive)
        c.put("Connection: close\r\n");
    else if (ctx.http10)
        c.put("Connection: keep-alive\r\n");
    for (const Header& h : r.headers()) {
        c.put_name(h.name);
        c.put(": ");
        c.put(h.value);
        c.put("\r\n");
    }
    c.put("\r\n");
    return c.p;
}

}  // namespace

std::span<std::byte> write_response(lake::BasicArena& out, const Response& r,
                                    const ResponseContext& ctx) noexcept {
    return write_response(out, r, ctx, response_size(r, ctx));
}

LAKE_HOT std::span<std::byte> write_response(lake::BasicArena& out, const Response& r,
                                             const ResponseContext& ctx,
                                             std::size_t size) noexcept {
    // A plain allocation, not a droplet: the bytes are the caller's until its arena is reset.
    auto* at = static_cast<std::byte*>(out.allocate(size, 1));
    if (at == nullptr) return {};
    Cursor c{put_head(reinterpret_cast<char*>(at), r, ctx)};
    if (sends_body(r, ctx)) c.put(r.body);
    return {at, size};
}

std::span<std::byte> write_head_before(std::byte* room, std::size_t room_size, const Response& r,
                                       const ResponseContext& ctx) noexcept {
    const std::size_t size = head_size(r, ctx);
    if (size > room_size) return {};
    std::byte* start = room + room_size - size;
    put_head(reinterpret_cast<char*>(start), r, ctx);
    return {start, size};
}

LAKE_HOT std::span<std::byte> write_head_at(std::byte* at, const Response& r,
                                            const ResponseContext& ctx) noexcept {
    char* end = put_head(reinterpret_cast<char*>(at), r, ctx);
    return {at, static_cast<std::size_t>(reinterpret_cast<std::byte*>(end) - at)};
}

std::span<std::byte> write_head(lake::BasicArena& out, const Response& r,
                                const ResponseContext& ctx) noexcept {
    const std::size_t size = head_size(r, ctx);
    lake::DropletDyn d = out.alloc_dyn(size);
    if (!d) return {};
    put_head(reinterpret_cast<char*>(d.data()), r, ctx);
    return d.leak();
}

}  // namespace lake::http
