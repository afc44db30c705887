// server/http/strict_head.hpp — the framing rules llhttp 8.1 is lenient about, checked on the
// raw bytes of a request's head before llhttp parses them.
//
// A front proxy that frames a message differently from us is how request smuggling starts, so
// the head must be exactly RFC 9112's: a request line `method SP request-target SP HTTP/d.d CRLF`
// (one space each, the whole line validated before the method is judged), every line ending in
// CRLF (no bare LF, RFC 9112 §2.2), every field line starting with a token character (no empty
// field name, RFC 9110 §5.1; no obs-fold, RFC 9112 §5.2). Empty lines (CRLF) before the request
// line are skipped (§2.2). The scanner keeps its state across reads and stops at the empty line
// that ends the head, so it never looks at a body.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace lake::http {

class StrictHead {
  public:
    // A new request begins.
    // The request target and header section limits (414, 431), counted here byte by byte so
    // that they trip at the same byte of the stream however it was cut into reads (llhttp hands
    // over a target or field only when it ends or the read does).
    // Counted in 32 bits (a head is held in a request view far smaller): a limit of 4 GiB or
    // more acts as 4 GiB - 2, so that a count one past it still fits.
    void set_limits(std::size_t max_target, std::size_t max_header_bytes) noexcept {
        max_target_ = clamp(max_target);
        max_header_bytes_ = clamp(max_header_bytes);
    }
    // A limit as counted here (and by RequestParser, which keeps its own in 32 bits too).
    static std::uint32_t clamp(std::size_t limit) noexcept {
        return static_cast<std::uint32_t>(std::min<std::size_t>(limit, UINT32_MAX - 1));
    }
    void start() noexcept {
        state_ = State::Leading;
        prev_ = 0;
        status_ = 400;
        target_len_ = 0;
        field_bytes_ = 0;
    }
    // Checks the next `len` bytes of the stream. nullptr while they keep the rules (or the head
    // already ended), otherwise why they do not; error_status() then says how to answer.
    const char* scan(const char* data, std::size_t len) noexcept;
    // 400; 414 or 431 over a limit; 505 for an HTTP/0.9 simple-request ("GET /" CRLF).
    int error_status() const noexcept { return status_; }
    // Where in the data of the failing scan() the offending byte is: the bytes before it may
    // still hold an error that comes first (llhttp's), which must win whatever the reads were.
    std::size_t error_offset() const noexcept { return error_offset_; }
    // The request line arrived whole and well-formed.
    bool request_line_done() const noexcept { return state_ >= State::LineStart; }
    bool done() const noexcept { return state_ == State::Done; }

  private:
    enum class State : std::uint8_t {
        Leading,      // before the request line (only CRLFs allowed)
        LeadingLF,    // a CR before the request line, LF expected
        Method,       // in the method token
        TargetStart,  // right after the method's space
        Target,       // in the request target
        Version,      // in "HTTP/d.d"
        VersionLF,    // the request line's CR seen, LF expected
        LineStart,    // at the start of a field line or of the final empty line
        Field,        // inside a field line (skipped to its LF)
        EndLF,        // the final empty line's CR seen, LF expected
        Done,         // the head ended
    };

    bool scan_whole_request_line(const char*& p, const char* end) noexcept;
    const char* scan_request_line(const char*& p, const char* end) noexcept;
    const char* scan_fields(const char*& p, const char* end) noexcept;

    State state_ = State::Leading;
    std::uint8_t version_at_ = 0;  // bytes of "HTTP/d.d" matched
    char prev_ = 0;                // the byte before the current one (across reads)
    int status_ = 400;
    // 32 bits each: the parser that holds this object is read by every request, and at
    // thousands of connections each of its cache lines is a miss.
    std::uint32_t max_target_ = UINT32_MAX - 1;
    std::uint32_t max_header_bytes_ = UINT32_MAX - 1;
    std::uint32_t target_len_ = 0;
    std::uint32_t field_bytes_ = 0;  // of the field section so far, line breaks included
    std::size_t error_offset_ = 0;
};

}  // namespace lake::http
