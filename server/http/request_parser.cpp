#include "request_parser.hpp"

#include <cassert>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace lake::http {

namespace {

RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// A field value without the blanks around it (RFC 9112 5.1): most have none, which is checked
// here in line, before a call that trims byte by byte.
std::string_view field_value(const char* data, std::size_t len) {
    const std::string_view v(data, len);
    if (len != 0 && !is_blank(data[0]) && !is_blank(data[len - 1])) return v;
    return trim_blanks(v);
}

// The header names the parser checks itself (check_header), and a bit for each of their lengths.
constexpr std::string_view kHost = "host", kExpect = "expect",
                           kTransferEncoding = "transfer-encoding";
constexpr std::uint64_t kCheckedNameLengths = std::uint64_t{1} << kHost.size() |
                                              std::uint64_t{1} << kExpect.size() |
                                              std::uint64_t{1} << kTransferEncoding.size();

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The bytes of a Host value by what they may be (RFC 9110 §7.2: uri-host [ ":" port ], RFC 3986
// §3.2.2): a reg-name's or IPv4 address's (unreserved, sub-delims), or one that ends it or needs
// a look (':', '%', '[', ']'); anything else (a blank, '/', '@', a control) makes it invalid.
enum HostByte : std::uint8_t { kBad, kName, kColon, kPercent, kOpen, kClose };
constexpr struct HostBytes {
    HostByte kind[256] = {};
    constexpr HostBytes() {
        for (int c = 'a'; c <= 'z'; ++c) kind[c] = kName;
        for (int c = 'A'; c <= 'Z'; ++c) kind[c] = kName;
        for (int c = '0'; c <= '9'; ++c) kind[c] = kName;
        for (const char* s = "-._~!$&'()*+,;="; *s != '\0'; ++s)
            kind[static_cast<unsigned char>(*s)] = kName;
        kind[':'] = kColon;
        kind['%'] = kPercent;
        kind['['] = kOpen;
        kind[']'] = kClose;
    }
} kHostBytes;

// port = *DIGIT (RFC 3986 §3.2.3; empty too).
inline bool is_port(const char* p, const char* const end) {
    for (; p != end; ++p)
        if (static_cast<unsigned char>(*p - '0') > 9) return false;
    return true;
}

// A Host value (or an absolute-form target's authority) in the grammar: a reg-name or IPv4
// address (its %XX escapes well formed), or an IP-literal in brackets (an IPv6 address or an
// IPvFuture: name bytes and ':'), then nothing, or ':' and digits. "x:abc", "[::1", "a]",
// "x%zz" are refused. The whole grammar, for a value with an escape or a bracket (or a bad
// byte): out of line, valid_host below takes the common forms.
[[gnu::noinline, gnu::cold]] bool valid_host_in_full(std::string_view h) {
    const char* p = h.data();
    const char* const end = p + h.size();
    if (p != end && *p == '[') {  // IP-literal
        const char* const start = ++p;
        while (p != end && kHostBytes.kind[static_cast<unsigned char>(*p)] <= kColon) {
            if (kHostBytes.kind[static_cast<unsigned char>(*p)] == kBad) return false;
            ++p;
        }
        if (p == end || *p != ']' || p == start) return false;
        ++p;
    } else {  // reg-name or IPv4address, up to the port
        for (; p != end; ++p) {
            const HostByte k = kHostBytes.kind[static_cast<unsigned char>(*p)];
            if (k == kName) continue;
            if (k != kPercent) break;
            if (end - p < 3 || http::hex_digit(p[1]) < 0 || http::hex_digit(p[2]) < 0) return false;
            p += 2;
        }
    }
    return p == end || (*p == ':' && is_port(p + 1, end));
}

// "example.com", "127.0.0.1:8080": name bytes, then nothing or ':' and digits, one table look a
// byte, in line; anything else goes to valid_host_in_full.
inline bool valid_host(std::string_view h) {
    const char* p = h.data();
    const char* const end = p + h.size();
    while (p != end && kHostBytes.kind[static_cast<unsigned char>(*p)] == kName) ++p;
    if (p == end) return true;
    if (*p != ':') return valid_host_in_full(h);
    return is_port(p + 1, end);
}

Method method_of(std::uint8_t m) {
    switch (m) {
        case HTTP_GET:
            return Method::Get;
        case HTTP_HEAD:
            return Method::Head;
        case HTTP_POST:
            return Method::Post;
        case HTTP_PUT:
            return Method::Put;
        case HTTP_DELETE:
            return Method::Delete;
        case HTTP_OPTIONS:
            return Method::Options;
        case HTTP_PATCH:
            return Method::Patch;
        case HTTP_TRACE:
            return Method::Trace;
        default:
            return Method::Other;
    }
}

}  // namespace

const llhttp_settings_t RequestParser::kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &RequestParser::on_message_begin;
    s.on_url = &RequestParser::on_url;
    s.on_url_complete = &RequestParser::on_url_complete;
    s.on_header_field = &RequestParser::on_header_field;
    s.on_header_field_complete = &RequestParser::on_header_field_complete;
    s.on_header_value = &RequestParser::on_header_value;
    s.on_header_value_complete = &RequestParser::on_header_value_complete;
    s.on_headers_complete = &RequestParser::on_headers_complete;
    s.on_body = &RequestParser::on_body;
    s.on_message_complete = &RequestParser::on_message_complete;
    s.on_chunk_header = &RequestParser::on_chunk_header;
    s.on_chunk_complete = &RequestParser::on_chunk_complete;
    return s;
}();

RequestParser::Limits RequestParser::compact(const ParseLimits& limits) noexcept {
    return {StrictHead::clamp(limits.max_target), StrictHead::clamp(limits.max_header_bytes),
            StrictHead::clamp(limits.max_headers), limits.max_body};
}

RequestParser::RequestParser(lake::BasicArena& view, BodyBuffers& large, const ParseLimits& limits)
    : view_(view), limits_(compact(limits)), pool_(large) {
    head_.set_limits(limits.max_target, limits.max_header_bytes);
    reset_connection();
}

void RequestParser::reset_connection() noexcept {
    llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
    parser_.data = this;
    // One lenient flag, the version's: HTTP/1.2-1.9 is taken as HTTP/1.1 (RFC 9110 2.5: a minor
    // version above the one implemented is processed as the highest one implemented), other
    // major versions get 505 below. llhttp 8.1 knows the flag but has no setter for it. Every
    // other lenient flag stays off; strict mode is a build flag.
    parser_.lenient_flags |= LENIENT_VERSION;
    chunk_follows_fold_prefix_ = false;
    start();
}

LAKE_HOT void RequestParser::start() noexcept {
    assert(large_ == nullptr && view_.used() == 0 && "the owner takes both back first");
    request_.reset();
    request_.arena = &view_;
    // Raw storage: slots are constructed one by one as fields arrive, not all up front.
    header_slots_ =
        static_cast<Header*>(view_.allocate(sizeof(Header) * limits_.max_headers, alignof(Header)));
    header_capacity_ = header_slots_ != nullptr ? limits_.max_headers : 0;
    header_count_ = header_bytes_ = 0;
    // One by one: a chained assignment compiled to two 8-byte stores and a 16-byte reload of
    // them, a store-forwarding stall that was a third of this function's time.
    url_ = Token{};
    field_ = Token{};
    value_ = Token{};
    body_ = BodyToken{};
    borrowing_ = false;
    error_status_ = 0;
    host_count_ = 0;
    te_present_ = te_unknown_coding_ = te_last_is_chunked_ = false;
    begun_ = complete_ = wants_continue_ = upgrade_ = method_unknown_ = absolute_form_ = false;
    in_chunk_line_ = last_chunk_ = at_body_start_ = in_body_ = false;
    streaming_ = headers_paused_ = part_ready_ = complete_pending_ = false;
    head_.start();
}

// The owner keeps its input only until it answers a complete request: what an unfinished one
// borrowed moves into the request view before the next bytes come.
ParseStep RequestParser::settle_unfinished(const char* data, std::size_t len,
                                           ParseStep step) noexcept {
    Relocation moved;
    if (settle_borrowed(data, len, moved)) return step;
    fail(431, "header section too large");
    return {len, ParseEvent::Error};
}

// Copies the span of the input [data, data + len) that the request's views point into to the
// request view, once, and points them there: the target and its parts, the fields so far, the
// tokens being received, the body so far. (Views into the request view lie elsewhere and stay
// as they are.)
bool RequestParser::settle_borrowed(const char* data, std::size_t len, Relocation& moved) noexcept {
    const auto begin = reinterpret_cast<std::uintptr_t>(data);
    const auto end = begin + len;
    std::uintptr_t first = end, last = begin;
    const auto cover = [&](std::string_view v) {
        const auto at = reinterpret_cast<std::uintptr_t>(v.data());
        if (v.empty() || at < begin || at >= end) return;
        first = std::min(first, at);
        last = std::max(last, at + v.size());
    };
    const auto views = [&](auto&& each) {
        each(request_.target);
        each(request_.path);
        each(request_.query);
        each(request_.body);
        if (absolute_form_) each(authority_);
        for (std::size_t i = 0; i < header_count_; ++i) {
            each(header_slots_[i].name);
            each(header_slots_[i].value);
        }
    };
    views([&](std::string_view& v) { cover(v); });
    const auto tokens = [&](auto&& each) {  // of two types: the body's length is wider
        each(url_);
        each(field_);
        each(value_);
        each(body_);
    };
    tokens([&](const auto& t) {
        if (t.borrowed) cover({t.data, t.len});
    });
    moved = Relocation{};
    if (first < last) {
        const std::size_t size = last - first;
        auto* copy = static_cast<char*>(view_.allocate(size, 1));
        if (copy == nullptr) return false;  // still borrowing: the owner keeps the input
        std::memcpy(copy, reinterpret_cast<const char*>(first), size);
        moved = Relocation{reinterpret_cast<const char*>(first), size, copy};
        views([&](std::string_view& v) { v = moved(v); });
    }
    tokens([&](auto& t) {
        if (!t.borrowed) return;
        // An empty one (a span llhttp closed with no bytes) points nowhere from now on.
        t.data =
            t.len == 0 ? nullptr : const_cast<char*>(moved(std::string_view(t.data, t.len)).data());
        t.borrowed = false;
    });
    borrowing_ = false;
    return true;
}

LAKE_HOT ParseStep RequestParser::feed_input(const char* data, std::size_t len) noexcept {
    if (complete_pending_) {
        complete_pending_ = false;
        return {0, ParseEvent::Complete};
    }
    chunk_start_ = data;
    // The strict scan runs ahead of llhttp over this read; when it finds a broken rule, llhttp
    // still parses the bytes before it, so that whichever error comes first in the stream is
    // the one answered, however the stream was cut into reads.
    const char* head_error = nullptr;
    std::size_t parse_len = len;
    if (!head_.done()) {
        head_error = head_.scan(data, len);
        if (head_error != nullptr) parse_len = head_.error_offset();
        if (method_unknown_) {
            // A broken rule inside the request line makes it 400; one after it comes later in
            // the stream than the method, which is then judged (501).
            if (head_error != nullptr && !head_.request_line_done())
                return fail_head(head_error, len);
            return judge_method_after_request_line(data, len);
        }
    }
    std::size_t pos = 0;
    for (;;) {
        if (in_chunk_line_) {
            std::size_t used = 0;
            const ChunkLine::Result line = chunk_line_.scan(data + pos, len - pos, used);
            pos += used;
            if (line == ChunkLine::Result::NeedMore) return {len, ParseEvent::NeedMore};
            if (line == ChunkLine::Result::Error) {
                fail(400, chunk_line_.error_reason());
                return {len, ParseEvent::Error};
            }
            in_chunk_line_ = false;
            const llhttp_errno_t err = feed_chunk_line_to_llhttp();
            if (err != HPE_OK) return parse_error(err, nullptr, len);
        }
        // Body bytes that would overflow the request view go to a body buffer, taken before
        // they are parsed: when none can be had, they wait unparsed.
        if (in_body_ && !streaming_ && large_ == nullptr && !body_fits_before(parse_len - pos) &&
            !move_body_to_large_buffer())
            return {pos, ParseEvent::NeedBodyBuffer};
        const llhttp_errno_t err = llhttp_execute(&parser_, data + pos, parse_len - pos);
        if (err == HPE_PAUSED && (headers_paused_ || part_ready_)) {  // streamed body
            const ParseEvent event = headers_paused_ ? ParseEvent::Headers : ParseEvent::BodyPart;
            headers_paused_ = part_ready_ = at_body_start_ = false;
            const auto consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            llhttp_resume(&parser_);
            if (event == ParseEvent::Headers && head_error != nullptr)
                return fail_head(head_error, len);
            if (event == ParseEvent::BodyPart && consumed == parse_len) {
                // The input ends with this part. If it ended the body too, llhttp completes the
                // message only when called again: now, with no bytes (streaming_body() is then
                // false, and the next feed() reports Complete without consuming anything).
                if (llhttp_execute(&parser_, data + consumed, 0) == HPE_PAUSED) {
                    llhttp_resume(&parser_);
                    complete_pending_ = complete_;  // reported by the next feed()
                }
            }
            return {consumed, event};
        }
        if (err == HPE_PAUSED && (in_chunk_line_ || at_body_start_)) {  // our own pause
            at_body_start_ = false;
            pos = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            llhttp_resume(&parser_);
            continue;
        }
        if (err == HPE_OK && head_error != nullptr) return fail_head(head_error, len);
        if (err == HPE_PAUSED) {
            const auto consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            llhttp_resume(&parser_);
            note_fold_prefix(data, consumed);
            return {consumed, ParseEvent::Complete};
        }
        if (err != HPE_OK) {
            if (err == HPE_PAUSED_UPGRADE && !upgrade_) {
                // llhttp stops after a request that asked for an upgrade, to read what follows
                // as the new protocol; the server did not take it (on_message_complete), so the
                // next request is HTTP/1.1: on from where it stopped (no bytes consumed).
                pos = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
                llhttp_resume_after_upgrade(&parser_);
                continue;
            }
            return parse_error(err, head_error, len);
        }
        note_fold_prefix(data, len);
        return {len, ParseEvent::NeedMore};
    }
}

// llhttp gets the chunk line ChunkLine read, as "<hex size>\r\n": extensions stop here.
llhttp_errno_t RequestParser::feed_chunk_line_to_llhttp() noexcept {
    char line[20];
    std::size_t n = 0;
    std::uint64_t size = chunk_line_.size();
    int shift = 60;
    while (shift > 0 && (size >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) line[n++] = "0123456789abcdef"[(size >> shift) & 0xF];
    line[n++] = '\r';
    line[n++] = '\n';
    // Not input: nothing may point into this line (it raises no token callbacks anyway).
    const bool borrowable = std::exchange(borrowable_, false);
    const llhttp_errno_t err = llhttp_execute(&parser_, line, n);
    borrowable_ = borrowable;
    return err;
}

ParseStep RequestParser::parse_error(llhttp_errno_t err, const char* head_error,
                                     std::size_t len) noexcept {
    if (error_status_ == 0) {
        error_reason_ = llhttp_get_error_reason(&parser_);
        // A version llhttp refuses is a malformed one ("HTTP/1.10", "GET / HTTP/1.1 x"): with
        // its lenient flag on, a well-formed other one (HTTP/3.0) gets to the 505 in
        // check_headers_complete.
        error_status_ = 400;
        if (err == HPE_INVALID_METHOD) {
            // Maybe a well-formed method llhttp does not know (501), maybe not a request
            // line at all (400): only the whole line tells.
            if (head_error != nullptr && !head_.request_line_done())
                return fail_head(head_error, len);
            begun_ = method_unknown_ = true;
            error_status_ = 0;
            return judge_method_after_request_line(nullptr, len);
        }
    }
    return {len, ParseEvent::Error};
}

// Remembers whether the parsed bytes ended in "\n" + blanks: the next read may continue a fold.
LAKE_HOT void RequestParser::note_fold_prefix(const char* data, std::size_t consumed) noexcept {
    const char* p = data + consumed;
    while (p > data && is_blank(p[-1])) --p;
    if (p > data) chunk_follows_fold_prefix_ = p[-1] == '\n';
}
// llhttp 8.1 stops at the first byte that leaves its table of known methods. The strict head
// scan has validated every byte of the request line seen so far: once the line is whole and
// well-formed, the client sent a method we do not know (RFC 9110 §9.1: 501); until then more
// bytes are awaited (a malformed line is answered 400 by the scan).
ParseStep RequestParser::fail_head(const char* why, std::size_t len) noexcept {
    begun_ = true;
    fail(head_.error_status(), why);
    return {len, ParseEvent::Error};
}

ParseStep RequestParser::judge_method_after_request_line(const char*, std::size_t len) noexcept {
    if (!head_.request_line_done()) return {len, ParseEvent::NeedMore};
    fail(501, "method not implemented");
    return {len, ParseEvent::Error};
}

int RequestParser::fail(int status, const char* reason) noexcept {
    error_status_ = status;
    error_reason_ = reason;
    return -1;
}

// Appends to a token that continues (or was not borrowed: see append()). Tokens are copied into
// the request view, where they grow in place because nothing else is allocated there while one
// is received.
template <class Length>
bool RequestParser::append_slow(BasicToken<Length>& t, const char* at, std::size_t n) noexcept {
    if (t.borrowed) {
        if (borrowable_ && at == t.data + t.len) {
            t.len += static_cast<Length>(n);
            borrowing_ = true;
            return true;
        }
        // It goes on in other bytes: what was borrowed moves into the view, with the rest.
        auto* moved = static_cast<char*>(view_.allocate(t.len + n, 1));
        if (moved == nullptr) return false;
        std::memcpy(moved, t.data, t.len);
        std::memcpy(moved + t.len, at, n);
        t = BasicToken<Length>{moved, static_cast<Length>(t.len + n), false};
        return true;
    }
    auto* p = static_cast<char*>(view_.allocate(n, 1));
    if (p == nullptr) return false;
    if (t.data == nullptr || p != t.data + t.len) {  // first piece, or not contiguous: move
        if (t.len != 0) {
            auto* moved = static_cast<char*>(view_.allocate(t.len + n, 1));
            if (moved == nullptr) return false;
            std::memmove(moved, t.data, t.len);
            p = moved + t.len;
            t.data = moved;
        } else {
            t.data = p;
        }
    }
    std::memcpy(p, at, n);
    t.len += static_cast<Length>(n);
    return true;
}

// Whether `incoming` more bytes (at most: some may be chunk framing or the next request) still
// fit the request view after the body so far. Nothing else is allocated in the view while a
// body arrives, so the body grows in place.
bool RequestParser::body_fits_before(std::size_t incoming) const noexcept {
    if ((parser_.flags & F_CHUNKED) == 0 && parser_.content_length < incoming)
        incoming = static_cast<std::size_t>(parser_.content_length);
    return incoming <= view_.remaining();
}

bool RequestParser::move_body_to_large_buffer() noexcept {
    large_ = pool_.acquire_body_buffer();
    if (large_ == nullptr) return false;
    auto* moved = static_cast<char*>(large_->allocate(body_.len, 1));
    if (moved == nullptr) return false;
    if (body_.len) std::memcpy(moved, body_.data, body_.len);
    // The copy left behind goes back to the request view (nothing was allocated after it), so
    // that it does not count against the trailer fields that may follow.
    if (body_.data != nullptr && !body_.borrowed) (void)view_.deallocate(body_.data, body_.len);
    body_ = BodyToken{moved, body_.len, false};
    return true;
}

// Bodies go to the request view while they fit, and to a large buffer beyond that (taken in
// feed() before the bytes were parsed; here only if the estimate there fell short).
bool RequestParser::append_body(const char* at, std::size_t n) noexcept {
    if (large_ == nullptr) {
        if (append(body_, at, n)) return true;
        if (!move_body_to_large_buffer()) return false;
    }
    auto* p = static_cast<char*>(large_->allocate(n, 1));
    if (p == nullptr) return false;
    if (body_.data == nullptr) body_.data = p;
    std::memcpy(p, at, n);
    body_.len += n;
    return true;
}

bool RequestParser::preceded_by_line_fold(const char* at) const noexcept {
    const char* p = at;
    while (p > chunk_start_ && is_blank(p[-1])) --p;
    if (p == chunk_start_) return chunk_follows_fold_prefix_;
    return p[-1] == '\n';
}

LAKE_HOT int RequestParser::on_message_begin(llhttp_t* p) {
    self(p).begun_ = true;
    return 0;
}

LAKE_HOT int RequestParser::on_url(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (r.url_.len + n > r.limits_.max_target) return r.fail(414, "request target too long");
    if (!r.append(r.url_, at, n)) return r.fail(414, "request target too long");
    return 0;
}

LAKE_HOT int RequestParser::on_url_complete(llhttp_t* p) { return self(p).parse_target(); }

LAKE_HOT int RequestParser::parse_target() noexcept {
    request_.method = method_of(parser_.method);
    request_.method_name = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    std::string_view t(url_.data, url_.len);
    request_.target = t;
    if (parser_.method == HTTP_CONNECT) {  // authority-form; answered 501 by the router
        request_.path = {};
        return 0;
    }
    if (t == "*") {
        if (parser_.method != HTTP_OPTIONS) return fail(400, "'*' target is for OPTIONS only");
        request_.path = t;
        return 0;
    }
    if (!t.empty() && t.front() == '/') {
        // origin-form, nearly every request: nothing to take apart
    } else if (starts_with_icase(t, "http://") || starts_with_icase(t, "https://")) {
        t.remove_prefix(t.find("//") + 2);
        const std::size_t slash = t.find_first_of("/?");
        // RFC 9112 §3.2.2: the target's authority replaces the Host header.
        authority_ = t.substr(0, slash);
        absolute_form_ = true;
        if (authority_.empty() || authority_.find('@') != std::string_view::npos ||
            !valid_host(authority_))
            return fail(400, "invalid authority in an absolute-form target");
        t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        if (t.front() == '?') return fail(400, "absolute-form target without a path");
    } else if (t.empty() || t.front() != '/') {
        return fail(400, "request target must be origin-form or absolute-form");
    }
    if (t.find('#') != std::string_view::npos) return fail(400, "fragment in request target");
    const std::size_t q = t.find('?');
    request_.path = t.substr(0, q);
    request_.query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
    return 0;
}

LAKE_HOT int RequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (n > r.limits_.max_header_bytes - r.header_bytes_)
        return r.fail(431, "header section too large");
    r.header_bytes_ += static_cast<std::uint32_t>(n);
    if (!r.append(r.field_, at, n)) return r.fail(431, "header section too large");
    return 0;
}

LAKE_HOT int RequestParser::on_header_field_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    if (r.header_count_ == r.header_capacity_) return r.fail(431, "too many header fields");
    r.value_ = Token{};
    return 0;
}

LAKE_HOT int RequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    // A fold in the head never reaches llhttp: the strict scan stops it first (StrictHead).
    // Trailer fields, after the body, are not scanned: a fold there is caught here.
    if (r.in_body_ && n != 0 && r.preceded_by_line_fold(at))
        return r.fail(400, "obsolete line folding in a header field");
    if (n > r.limits_.max_header_bytes - r.header_bytes_)
        return r.fail(431, "header section too large");
    r.header_bytes_ += static_cast<std::uint32_t>(n);
    if (n != 0 && !r.append(r.value_, at, n)) return r.fail(431, "header section too large");
    return 0;
}

LAKE_HOT int RequestParser::on_header_value_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    // Built in its slot: a Header made on the stack and copied in was reloaded as 16-byte
    // halves of 8-byte stores (a store-forwarding stall on every header).
    Header* h = ::new (&r.header_slots_[r.header_count_++]) Header{
        std::string_view(r.field_.data, r.field_.len), field_value(r.value_.data, r.value_.len)};
    r.field_ = Token{};
    // Only the names check_header knows are checked: any other name's length says so without a
    // call (a browser's dozen headers paid ~26 instructions each for one).
    if (h->name.size() >= 64 || (kCheckedNameLengths >> h->name.size() & 1) == 0) return 0;
    return r.check_header(*h);
}

LAKE_HOT int RequestParser::check_header(const Header& h) noexcept {
    if (iequals(h.name, kHost)) {
        if (++host_count_ > 1) return fail(400, "more than one Host header");
        if (!valid_host(h.value)) return fail(400, "invalid Host header");
    } else if (iequals(h.name, kTransferEncoding)) {
        te_present_ = true;
        std::string_view rest = h.value;
        for (std::string_view coding; next_list_item(rest, coding);) {
            te_last_is_chunked_ = iequals(coding, "chunked");
            if (!te_last_is_chunked_) te_unknown_coding_ = true;
        }
    } else if (iequals(h.name, kExpect)) {
        if (!iequals(h.value, "100-continue")) return fail(417, "unsupported expectation");
        wants_continue_ = parser_.http_minor >= 1;
    }
    return 0;
}

LAKE_HOT int RequestParser::on_headers_complete(llhttp_t* p) {
    return self(p).check_headers_complete();
}

LAKE_HOT int RequestParser::check_headers_complete() noexcept {
    if (parser_.http_major != 1) return fail(505, "HTTP version not supported");
    request_.version_minor = parser_.http_minor == 0 ? 0 : 1;
    if (absolute_form_) {
        // Handlers see the absolute-form target's authority as the Host, whatever was sent.
        bool replaced = false;
        for (std::size_t i = 0; i < header_count_; ++i) {
            if (iequals(header_slots_[i].name, "host")) {
                header_slots_[i].value = authority_;
                replaced = true;
            }
        }
        if (!replaced && header_count_ < header_capacity_)
            ::new (&header_slots_[header_count_++]) Header{"Host", authority_};
    }
    request_.headers = std::span<const Header>(header_slots_, header_count_);
    if (parser_.http_minor >= 1 && host_count_ == 0)
        return fail(400, "HTTP/1.1 request without Host");
    if (te_present_) {
        if (parser_.http_minor == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
        if (!te_last_is_chunked_) return fail(400, "chunked is not the final transfer coding");
        if (te_unknown_coding_) return fail(501, "unsupported transfer coding");
    }
    const bool has_length = (parser_.flags & F_CONTENT_LENGTH) != 0;
    const bool chunked = (parser_.flags & F_CHUNKED) != 0;
    const bool connect = parser_.upgrade && parser_.method == HTTP_CONNECT;
    if (!connect && (chunked || (has_length && parser_.content_length > 0)) &&
        pool_.stream_body(request_)) {
        // Its handler reads the body as it arrives: no ceiling here, and the handler runs now.
        streaming_ = in_body_ = headers_paused_ = true;
        if (chunked) {
            in_chunk_line_ = true;
            chunk_line_.start();
        }
        return HPE_PAUSED;
    }
    if (has_length && parser_.content_length > limits_.max_body)
        return fail(413, "request body too large");
    if (!has_length && !te_present_) wants_continue_ = false;  // no body is coming
    if (has_length && parser_.content_length == 0) wants_continue_ = false;
    // A large body borrows a large buffer only once its bytes outgrow the request view
    // (append_body): announcing a length commits nothing, so headers alone cannot hold the pool.
    // A chunked body's first chunk line follows (CONNECT's bytes belong to another protocol).
    if (parser_.upgrade && parser_.method == HTTP_CONNECT) return 0;
    if ((parser_.flags & F_CHUNKED) != 0) {
        in_body_ = true;
        return await_chunk_line();
    }
    if (has_length && parser_.content_length > 0) {
        in_body_ = at_body_start_ = true;
        return HPE_PAUSED;
    }
    return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser& r = self(p);
    if (r.streaming_) {        // handed out where it lies: the owner copies it to its handler
        if (n == 0) return 0;  // llhttp closing a span at the end of an empty execute
        r.part_ = std::string_view(at, n);
        r.part_ready_ = true;
        r.body_.len += n;
        return HPE_PAUSED;
    }
    if (r.body_.len + n > r.limits_.max_body) return r.fail(413, "request body too large");
    if (!r.append_body(at, n)) return r.fail(503, "no large buffer free for this body");
    return 0;
}

int RequestParser::on_chunk_header(llhttp_t* p) {
    RequestParser& r = self(p);
    r.last_chunk_ = p->content_length == 0;
    if (!r.streaming_ && r.body_.len + p->content_length > r.limits_.max_body)
        return r.fail(413, "request body too large");
    return 0;
}

// After a chunk's data and its CRLF comes the next chunk line (after the last chunk, the
// trailer section came instead and the message is complete).
int RequestParser::on_chunk_complete(llhttp_t* p) { return self(p).await_chunk_line(); }

int RequestParser::await_chunk_line() noexcept {
    if (last_chunk_) return 0;
    in_chunk_line_ = true;
    chunk_line_.start();
    return HPE_PAUSED;
}

// llhttp_should_keep_alive() for a request (which never reads its body to the connection's end),
// in line: two calls into llhttp per request fewer (llhttp calls it again itself). Where they
// differ: an HTTP/1.0 request that names both "keep-alive" and "close" is closed, as RFC 9112
// §9.3 asks ("close" is read first); llhttp reads only "keep-alive" for HTTP/1.0.
static bool request_keeps_alive(const llhttp_t* p) noexcept {
    if (p->http_major > 0 && p->http_minor > 0) return (p->flags & F_CONNECTION_CLOSE) == 0;
    return (p->flags & (F_CONNECTION_KEEP_ALIVE | F_CONNECTION_CLOSE)) == F_CONNECTION_KEEP_ALIVE;
}

LAKE_HOT int RequestParser::on_message_complete(llhttp_t* p) {
    RequestParser& r = self(p);
    if (!r.streaming_) r.request_.body = std::string_view(r.body_.data, r.body_.len);
    r.in_body_ = false;
    // An Upgrade this server does not take is ignored (RFC 9110 §7.8): the connection goes on in
    // HTTP/1.1. Only CONNECT turns what follows into another protocol's bytes.
    r.upgrade_ = p->upgrade != 0 && p->method == HTTP_CONNECT;
    r.request_.keep_alive = request_keeps_alive(p) && !r.upgrade_;
    r.complete_ = true;
    return HPE_PAUSED;  // one request at a time: the connection answers it before going on
}

}  // namespace lake::http
