// handlers/response.hpp — what a handler fills in; the connection serializes it.
//
// The body comes one of two ways:
//   - `body = view`: bytes that live elsewhere (static data, the request arena, the request
//     itself); the connection copies them into its send buffer with the head.
//   - written: append(), format() (handlers/response_format.hpp, with {fmt}) and json()
//     (handlers/arena_json.hpp) write straight into the connection's response arena, right
//     after room kept for the head, so the bytes a handler writes are the bytes sent: no copy.
//     When the response arena cannot hold the body it continues in the request arena (and is
//     copied like a viewed body); when neither can, overflowed() and the answer is 500.
// Headers are any number, kept in the request arena once the first few are used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <lake/lake.hpp>

#include "header_rules.hpp"
#include "request.hpp"

namespace lake::http {

// A header known when the code is compiled, from string literals: the compiler checks it (a
// name that is not a token, or a control character in the value, does not compile), so the
// engine does not check it again on every response.
//     response.add_header({"Access-Control-Allow-Origin", "*"});
class ConstantHeader {
  public:
    consteval ConstantHeader(const char* name, const char* value) : name_(name), value_(value) {
        if (!is_header_name(name_)) throw "a header name must be a token (RFC 9110 5.6.2)";
        if (!is_header_value(value_)) throw "a header value must hold no control character";
    }
    constexpr std::string_view name() const noexcept { return name_; }
    constexpr std::string_view value() const noexcept { return value_; }

  private:
    std::string_view name_, value_;
};

// The attributes of a cookie set by Response::set_cookie (RFC 6265 §4.1; SameSite from
// RFC 6265bis). The defaults suit a session cookie of the whole site that scripts cannot read.
enum class SameSite : std::uint8_t { Unset, Lax, Strict, None };
struct CookieOptions {
    std::string_view path = "/";         // "" leaves Path out
    std::string_view domain = {};        // "" leaves Domain out: the cookie is host-only
    std::int64_t max_age = -1;           // seconds; < 0 leaves Max-Age out (a session cookie),
                                         // 0 asks the client to delete it
    bool http_only = true;               // not readable from scripts
    bool secure = false;                 // only over HTTPS (TLS ends in front of lake-server)
    SameSite same_site = SameSite::Lax;  // None is refused unless secure (browsers drop it)
};

// Why a written body was given up (the answer is then 500, and the log says which).
enum class BodyFailure : std::uint8_t {
    None,
    NoRoom,          // no arena could hold it
    JsonTooDeep,     // a JSON writer nested more objects and arrays than it holds (32)
    JsonUnbalanced,  // a JSON writer closed a level it had not opened, or left one open
};

class Response {
  public:
    Response() = default;
    // Copies keep their headers (inline ones are re-pointed at the copy's own array).
    Response(const Response& other) noexcept { *this = other; }
    Response& operator=(const Response& other) noexcept;

    // Bytes kept before a written body for the status line and headers (a longer head goes
    // after the body, sent as a second piece).
    static constexpr std::size_t kHeadRoom = 512;

    int status = 200;
    std::string_view content_type;  // empty: no Content-Type header
    std::string_view body;          // see above; kept up to date while the body is written
    bool close = false;             // ask for the connection to close after this response
    // A body sent in parts (co_await io.send(response), handlers/io.hpp): its whole length when
    // known (Content-Length), or -1 (Transfer-Encoding: chunked).
    std::int64_t stream_length = -1;

    // ---- headers ----------------------------------------------------------------------------
    // The views must outlive the handler call (static or request-arena memory). false only
    // when the request arena has no room for more.
    bool add_header(std::string_view name, std::string_view value) noexcept {
        if (header_count_ == header_capacity_) return add_header_growing(name, value);
        headers_[header_count_++] = Header{name, value};
        header_bytes_ += name.size() + value.size();
        return true;
    }
    // A header checked by the compiler (see ConstantHeader): not checked again per response.
    // (When the headers must grow, the whole call goes out of line: a handler or hook that adds
    // one then saves no registers around a call it almost never makes.)
    bool add_header(ConstantHeader header) noexcept {
        const std::uint32_t i = header_count_;
        if (i == header_capacity_)
            return add_constant_header_growing(header.name(), header.value());
        headers_[i] = Header{header.name(), header.value()};
        header_count_ = i + 1;
        header_bytes_ += header.name().size() + header.value().size();
        checked_ |= static_cast<std::uint32_t>(i < 32) << (i & 31);
        return true;
    }
    std::span<const Header> headers() const noexcept { return {headers_, header_count_}; }
    // The names' and values' bytes of all headers (what a bound on the head's size needs).
    std::size_t header_bytes() const noexcept { return header_bytes_; }
    // Views of moved bytes follow them (headers, content type, a body set as a view).
    void relocate(const Relocation& moved) noexcept {
        for (std::uint32_t i = 0; i < header_count_; ++i)
            headers_[i] = Header{moved(headers_[i].name), moved(headers_[i].value)};
        content_type = moved(content_type);
        if (place_ == Place::None) body = moved(body);
    }
    // Whether header `i` came as a ConstantHeader (the response writer skips its check).
    bool checked_when_compiled(std::size_t i) const noexcept {
        return i < 32 && (checked_ >> i & 1) != 0;
    }

    // ---- the body, written ------------------------------------------------------------------
    // Appends bytes to the body. false (and overflowed()) when no arena can hold them.
    bool append(std::string_view bytes) noexcept;
    // Room for up to `n` more bytes at the body's end (empty when there is none); commit(k)
    // keeps the first k written there. For writers that produce bytes in place ({fmt}, JSON).
    // (The first chunk of a writer, and keeping what was written into the response arena, are
    // in line: they are each written body's common case, and a plugin's call would cross into
    // the server's code.)
    std::span<char> prepare(std::size_t n) noexcept {
        if (place_ == Place::None && !overflowed_ && body.empty() && out_ != nullptr &&
            out_->remaining() >= kHeadRoom + n) {
            if (auto* room = static_cast<std::byte*>(out_->allocate(kHeadRoom + n, 1))) {
                char* start = reinterpret_cast<char*>(room + kHeadRoom);
                head_room_ = room;
                body = std::string_view(start, n);
                place_ = Place::ResponseArena;
                prepared_ = n;
                return {start, n};
            }
        }
        return prepare_other(n);
    }
    void commit(std::size_t n) noexcept {
        const std::size_t unused = prepared_ - n;
        if (place_ == Place::ResponseArena && n <= prepared_) {
            // Kept as spare, not given back: the next prepare() takes it first, and the engine
            // returns what is left with the head room's unused part, in one give-back.
            prepared_ = 0;
            body = std::string_view(body.data(), body.size() - unused);
            spare_ += unused;
            return;
        }
        commit_other(n);
    }
    // Where the body's writer failed (no arena could hold it, or see fail_body()).
    bool overflowed() const noexcept { return overflowed_; }
    BodyFailure body_failure() const noexcept {
        return overflowed_ ? (failure_ == BodyFailure::None ? BodyFailure::NoRoom : failure_)
                           : BodyFailure::None;
    }
    // A body writer that could not finish what it was given (JSON too deep or unbalanced):
    // nothing more is written, and the answer is 500.
    void fail_body(BodyFailure why) noexcept {
        overflowed_ = true;
        failure_ = why;
    }
    // How many bytes the body can still grow in the response arena, in place (what a file read
    // straight into prepare() can take).
    std::size_t room() const noexcept;

    // ---- helpers ----------------------------------------------------------------------------
    // `status` with a text body (a view, as `body`).
    void text(int status_code, std::string_view text_body,
              std::string_view type = "text/plain") noexcept {
        status = status_code;
        content_type = type;
        body = text_body;
    }
    // A redirect (301, 302, 303, 307, 308) to `location` (a view, as a header's).
    void redirect(int status_code, std::string_view location) noexcept {
        status = status_code;
        body = {};
        add_header("Location", location);
    }

    // A Set-Cookie header, written into the request arena: "id=abc; Path=/; HttpOnly;
    // SameSite=Lax". `name` must be a token and `value` cookie-octets (no space, '"', ',', ';',
    // '\\' or control; the whole value may be in double quotes), Path and Domain free of ';'
    // and controls. false, and nothing added, when one is not or the arena has no room.
    bool set_cookie(std::string_view name, std::string_view value,
                    const CookieOptions& options = {}) noexcept;

    // ---- for the engine ---------------------------------------------------------------------
    // Where headers and spilled bodies go (the request arena) and where written bodies go
    // (the response arena; nullptr: the request arena only). Set before each dispatch.
    void bind(lake::BasicArena* scratch, lake::BasicArena* out) noexcept {
        scratch_ = scratch;
        out_ = out;
    }
    // Back to a fresh Response, in place (the arenas stay bound).
    void reset() noexcept {
        status = 200;
        content_type = {};
        body = {};
        close = false;
        stream_length = -1;
        headers_ = inline_headers_;
        header_count_ = 0;
        header_capacity_ = kInlineHeaders;
        checked_ = 0;
        header_bytes_ = 0;
        place_ = Place::None;
        overflowed_ = false;
        failure_ = BodyFailure::None;
        head_room_ = nullptr;
        prepared_ = 0;
        spare_ = 0;
    }
    // The body was written into the response arena, just after kHeadRoom bytes that start at
    // head_room(): the head can go there, and the body need not be copied.
    bool body_in_response_arena() const noexcept { return place_ == Place::ResponseArena; }
    std::byte* head_room() const noexcept { return head_room_; }
    // Bytes the response arena holds just past the body, left over from a prepare() (a later
    // prepare() takes them first). The engine gives them back with the head's room, or with
    // release_spare() before it allocates anything else there.
    std::size_t spare() const noexcept { return spare_; }
    void release_spare() noexcept;
    // A part of a streamed body was sent and the response arena reset: the body starts anew.
    void restart_body() noexcept {
        body = {};
        place_ = Place::None;
        head_room_ = nullptr;
        prepared_ = 0;
        spare_ = 0;
    }

  private:
    static constexpr std::uint32_t kInlineHeaders = 8;
    enum class Place : std::uint8_t { None, ResponseArena, RequestArena };

    bool add_header_growing(std::string_view name, std::string_view value) noexcept;
    bool add_constant_header_growing(std::string_view name, std::string_view value) noexcept;
    char* grow(std::size_t n) noexcept;
    std::span<char> prepare_other(std::size_t n) noexcept;
    void commit_other(std::size_t n) noexcept;
    char* start_in_response_arena(std::size_t n) noexcept;
    char* grow_in_request_arena(std::size_t n) noexcept;

    lake::BasicArena* scratch_ = nullptr;
    lake::BasicArena* out_ = nullptr;
    Header* headers_ = inline_headers_;
    std::uint32_t header_count_ = 0;
    std::uint32_t header_capacity_ = kInlineHeaders;
    std::uint32_t checked_ = 0;  // bit i: header i is a ConstantHeader
    Place place_ = Place::None;
    bool overflowed_ = false;
    BodyFailure failure_ = BodyFailure::None;  // in padding: the layout plugins see is kept
    std::byte* head_room_ = nullptr;
    std::size_t prepared_ = 0;      // bytes handed out by prepare() and not yet committed
    std::size_t spare_ = 0;         // response-arena bytes past the body's end (see spare())
    std::size_t header_bytes_ = 0;  // see header_bytes()
    Header inline_headers_[kInlineHeaders];
};

// The reason phrase of a registered status code ("Not Found"), or an empty view for a code the
// IANA registry does not name.
std::string_view reason_phrase(int status) noexcept;

}  // namespace lake::http
