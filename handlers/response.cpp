#include "response.hpp"

#include <cassert>
#include <charconv>
#include <cstring>

namespace lake::http {

Response& Response::operator=(const Response& other) noexcept {
    if (this == &other) return *this;
    status = other.status;
    content_type = other.content_type;
    body = other.body;
    close = other.close;
    stream_length = other.stream_length;
    scratch_ = other.scratch_;
    out_ = other.out_;
    header_count_ = other.header_count_;
    header_capacity_ = other.header_capacity_;
    checked_ = other.checked_;
    header_bytes_ = other.header_bytes_;
    if (other.headers_ == other.inline_headers_) {
        for (std::uint32_t i = 0; i < header_count_; ++i) inline_headers_[i] = other.headers_[i];
        headers_ = inline_headers_;
    } else {
        headers_ = other.headers_;  // in the request arena: shared, read-only once answered
    }
    place_ = other.place_;
    overflowed_ = other.overflowed_;
    failure_ = other.failure_;
    head_room_ = other.head_room_;
    prepared_ = other.prepared_;
    spare_ = other.spare_;
    return *this;
}

// The array is full: it doubles into the request arena (the old one stays there until it is
// reset).
bool Response::add_header_growing(std::string_view name, std::string_view value) noexcept {
    if (scratch_ == nullptr) return false;
    const std::uint32_t capacity = header_capacity_ * 2;
    auto* more =
        static_cast<Header*>(scratch_->allocate(sizeof(Header) * capacity, alignof(Header)));
    if (more == nullptr) return false;
    for (std::uint32_t i = 0; i < header_count_; ++i) more[i] = headers_[i];
    headers_ = more;
    header_capacity_ = capacity;
    headers_[header_count_++] = Header{name, value};
    header_bytes_ += name.size() + value.size();
    return true;
}

// Checked when compiled (a ConstantHeader's name and value), so marked so.
bool Response::add_constant_header_growing(std::string_view name, std::string_view value) noexcept {
    const std::uint32_t i = header_count_;
    if (!add_header_growing(name, value)) return false;
    if (i < 32) checked_ |= std::uint32_t{1} << i;
    return true;
}

namespace {

// cookie-octet (RFC 6265 §4.1.1): US-ASCII visible characters but '"', ',', ';' and '\\'.
bool is_cookie_octet(char c) noexcept {
    const auto b = static_cast<unsigned char>(c);
    return b > 0x20 && b < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

bool is_cookie_value(std::string_view v) noexcept {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    for (char c : v)
        if (!is_cookie_octet(c)) return false;
    return true;
}

// An attribute's value (Path, Domain): any CHAR but controls and ';' (RFC 6265 §4.1.1).
bool is_attribute_value(std::string_view v) noexcept {
    for (char c : v) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7f || c == ';') return false;
    }
    return true;
}

}  // namespace

bool Response::set_cookie(std::string_view name, std::string_view value,
                          const CookieOptions& options) noexcept {
    if (name.empty() || !is_header_name(name) || !is_cookie_value(value) ||
        !is_attribute_value(options.path) || !is_attribute_value(options.domain) ||
        (options.same_site == SameSite::None && !options.secure) || scratch_ == nullptr)
        return false;
    char max_age[24];
    const std::size_t max_age_len =
        options.max_age < 0
            ? 0
            : static_cast<std::size_t>(
                  std::to_chars(max_age, max_age + sizeof max_age, options.max_age).ptr - max_age);
    constexpr std::string_view kSameSite[] = {"", "; SameSite=Lax", "; SameSite=Strict",
                                              "; SameSite=None"};
    const std::string_view parts[] = {
        name,
        "=",
        value,
        options.path.empty() ? "" : "; Path=",
        options.path,
        options.domain.empty() ? "" : "; Domain=",
        options.domain,
        max_age_len == 0 ? "" : "; Max-Age=",
        {max_age, max_age_len},
        options.secure ? "; Secure" : "",
        options.http_only ? "; HttpOnly" : "",
        kSameSite[static_cast<std::size_t>(options.same_site)],
    };
    std::size_t size = 0;
    for (std::string_view p : parts) size += p.size();
    auto* text = static_cast<char*>(scratch_->allocate(size, 1));
    if (text == nullptr) return false;
    char* at = text;
    for (std::string_view p : parts) {
        if (!p.empty()) std::memcpy(at, p.data(), p.size());
        at += p.size();
    }
    if (add_header("Set-Cookie", std::string_view(text, size))) return true;
    (void)scratch_->deallocate(text, size);  // the last allocation: handed back
    return false;
}

bool Response::append(std::string_view bytes) noexcept {
    char* p = grow(bytes.size());
    if (p == nullptr) return false;
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return true;
}

// The first write: the head's room, a body set as a view before it (which becomes the start of
// the written one) and the `n` bytes, as one allocation in the response arena. nullptr when it
// has no room.
[[gnu::always_inline]] inline char* Response::start_in_response_arena(std::size_t n) noexcept {
    const std::string_view before = body;
    if (out_ == nullptr || out_->remaining() < kHeadRoom + before.size() + n) return nullptr;
    auto* room = static_cast<std::byte*>(out_->allocate(kHeadRoom + before.size() + n, 1));
    if (room == nullptr) return nullptr;
    char* start = reinterpret_cast<char*>(room + kHeadRoom);
    if (!before.empty()) std::memcpy(start, before.data(), before.size());
    head_room_ = room;
    body = std::string_view(start, before.size() + n);
    place_ = Place::ResponseArena;
    return start + before.size();
}

// prepare()'s other cases: a body set as a view before (it becomes the written body's start),
// a response arena without room (the request arena takes the body), a later chunk.
std::span<char> Response::prepare_other(std::size_t n) noexcept {
    char* p = grow(n);
    if (p == nullptr) return {};
    prepared_ = n;
    return {p, n};
}

void Response::commit_other(std::size_t n) noexcept {
    assert(n <= prepared_);
    const std::size_t unused = prepared_ - n;
    prepared_ = 0;
    if (unused == 0) return;
    body = std::string_view(body.data(), body.size() - unused);
    // The unused tail is the request arena's last allocation (unless the handler allocated
    // there since): it goes back.
    if (scratch_ != nullptr)
        (void)scratch_->deallocate(const_cast<char*>(body.data()) + body.size(), unused);
}

void Response::release_spare() noexcept {
    if (spare_ == 0) return;
    if (out_ != nullptr)
        (void)out_->deallocate(const_cast<char*>(body.data()) + body.size(), spare_);
    spare_ = 0;
}

std::size_t Response::room() const noexcept {
    if (out_ == nullptr || overflowed_) return 0;
    if (place_ == Place::ResponseArena) return out_->remaining() + spare_;
    if (place_ != Place::None) return 0;
    const std::size_t need = kHeadRoom + body.size();
    return out_->remaining() > need ? out_->remaining() - need : 0;
}

// `n` more bytes at the body's end, contiguous with it; body grows to cover them.
char* Response::grow(std::size_t n) noexcept {
    if (overflowed_) return nullptr;
    if (place_ == Place::None) {
        if (char* p = start_in_response_arena(n)) return p;
        const std::string_view before = body;
        place_ = Place::RequestArena;
        body = {};
        if (!before.empty()) {
            char* p = grow_in_request_arena(before.size());
            if (p == nullptr) return nullptr;
            std::memcpy(p, before.data(), before.size());
        }
        return grow_in_request_arena(n);
    }
    if (place_ == Place::ResponseArena) {
        char* end = const_cast<char*>(body.data()) + body.size();
        if (n <= spare_) {
            spare_ -= n;
            body = std::string_view(body.data(), body.size() + n);
            return end;
        }
        auto* p = static_cast<char*>(out_->allocate(n - spare_, 1));
        if (p != nullptr) {
            // Contiguous: nothing else allocates in the response arena while a handler runs.
            assert(p == end + spare_);
            spare_ = 0;
            body = std::string_view(body.data(), body.size() + n);
            return end;
        }
        // The response arena is full: the body so far moves to the request arena, and the
        // response arena gets back what it lent.
        const std::string_view so_far = body;
        place_ = Place::RequestArena;
        body = {};
        char* q = grow_in_request_arena(so_far.size() + n);
        if (q != nullptr && !so_far.empty()) std::memcpy(q, so_far.data(), so_far.size());
        (void)out_->deallocate(head_room_, kHeadRoom + so_far.size() + spare_);
        head_room_ = nullptr;
        spare_ = 0;
        return q == nullptr ? nullptr : q + so_far.size();
    }
    return grow_in_request_arena(n);
}

char* Response::grow_in_request_arena(std::size_t n) noexcept {
    char* end = const_cast<char*>(body.data()) + body.size();
    auto* p = scratch_ != nullptr ? static_cast<char*>(scratch_->allocate(n, 1)) : nullptr;
    if (p != nullptr && (body.empty() || p == end)) {
        if (body.empty()) body = std::string_view(p, 0);
        body = std::string_view(body.data(), body.size() + n);
        return p;
    }
    // Something else was allocated after the body (the handler's own scratch): move it.
    auto* moved =
        scratch_ != nullptr ? static_cast<char*>(scratch_->allocate(body.size() + n, 1)) : nullptr;
    if (moved == nullptr) {
        overflowed_ = true;
        return nullptr;
    }
    if (!body.empty()) std::memmove(moved, body.data(), body.size());
    body = std::string_view(moved, body.size() + n);
    return moved + body.size() - n;
}

// The IANA HTTP Status Code Registry's phrases (RFC 9110 §15 and the RFCs it names). A code it
// does not name gets none: the reason phrase is optional (RFC 9112 §4), and "HTTP/1.1 299 " is
// truer than a made-up word.
std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 102:
            return "Processing";
        case 103:
            return "Early Hints";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 203:
            return "Non-Authoritative Information";
        case 204:
            return "No Content";
        case 205:
            return "Reset Content";
        case 206:
            return "Partial Content";
        case 207:
            return "Multi-Status";
        case 208:
            return "Already Reported";
        case 226:
            return "IM Used";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 305:
            return "Use Proxy";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 423:
            return "Locked";
        case 424:
            return "Failed Dependency";
        case 425:
            return "Too Early";
        case 426:
            return "Upgrade Required";
        case 428:
            return "Precondition Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 451:
            return "Unavailable For Legal Reasons";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        case 506:
            return "Variant Also Negotiates";
        case 507:
            return "Insufficient Storage";
        case 508:
            return "Loop Detected";
        case 511:
            return "Network Authentication Required";
        default:
            return "";
    }
}

}  // namespace lake::http
