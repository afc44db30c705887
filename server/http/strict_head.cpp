#include "strict_head.hpp"

#include <cstring>
#include <string_view>

namespace lake::http {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c) {
    static constexpr auto table = [] {
        struct T {
            bool v[256] = {};
        } t;
        for (int c = '0'; c <= '9'; ++c) t.v[c] = true;
        for (int c = 'a'; c <= 'z'; ++c) t.v[c] = true;
        for (int c = 'A'; c <= 'Z'; ++c) t.v[c] = true;
        for (char c : std::string_view("!#$%&'*+-.^_`|~"))
            t.v[static_cast<unsigned char>(c)] = true;
        return t;
    }();
    return table.v[c];
}

constexpr char kVersion[] = "HTTP/d.d";  // 'd': a digit

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const char* StrictHead::scan(const char* data, std::size_t len) noexcept {
    const char* p = data;
    const char* end = data + len;
    while (p < end && state_ != State::Done) {
        const char* why =
            state_ < State::LineStart ? scan_request_line(p, end) : scan_fields(p, end);
        if (why != nullptr) {
            error_offset_ = static_cast<std::size_t>(p - data);
            return why;
        }
    }
    return nullptr;
}

// The common case in one pass per part: a request line that lies whole in [p, end), starts at
// once (no leading CRLF) and breaks no rule. Anything else (a line split across reads, any
// irregularity) is left to the byte-by-byte scan, which names what is wrong.
bool StrictHead::scan_whole_request_line(const char*& p, const char* end) noexcept {
    const auto* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (lf == nullptr) return false;
    const char* q = p;
    while (q < lf && is_tchar(static_cast<unsigned char>(*q))) ++q;
    if (q == p || q == lf || *q != ' ') return false;
    const char* target = ++q;
    while (q<lf&& static_cast<unsigned char>(*q)> ' ' && *q != 0x7F) ++q;
    const auto target_len = static_cast<std::size_t>(q - target);
    if (target_len == 0 || target_len > max_target_ || lf - q != 10) return false;
    // " HTTP/d.d\r" then the LF
    if (q[0] != ' ' || std::memcmp(q + 1, "HTTP/", 5) != 0 || !is_digit(q[6]) || q[7] != '.' ||
        !is_digit(q[8]) || q[9] != '\r')
        return false;
    target_len_ = target_len;
    prev_ = '\n';
    state_ = State::LineStart;
    p = lf + 1;
    return true;
}

// Byte by byte: the request line is short, and every byte of it has a rule.
const char* StrictHead::scan_request_line(const char*& p, const char* end) noexcept {
    if (state_ == State::Leading && scan_whole_request_line(p, end)) return nullptr;
    for (; p < end && state_ < State::LineStart; prev_ = *p++) {
        const auto c = static_cast<unsigned char>(*p);
        switch (state_) {
            case State::Leading:
                if (c == '\r') {
                    state_ = State::LeadingLF;
                } else if (c == '\n') {
                    return "bare LF as a line terminator";
                } else if (is_tchar(c)) {
                    state_ = State::Method;
                } else {
                    return "malformed request line";
                }
                break;
            case State::LeadingLF:
                if (c != '\n') return "bare CR in the request line";
                state_ = State::Leading;
                break;
            case State::Method:
                if (c == ' ') {
                    state_ = State::TargetStart;
                } else if (!is_tchar(c)) {
                    return c == '\n' || c == '\r' ? "malformed request line"
                                                  : "malformed request line (method)";
                }
                break;
            case State::TargetStart:
                target_len_ = 1;
                if (c <= ' ' || c == 0x7F)
                    return "malformed request line (one space after the method)";
                state_ = State::Target;
                break;
            case State::Target:
                if (c != ' ' && ++target_len_ > max_target_) {
                    status_ = 414;
                    return "request target too long";
                }
                if (c == ' ') {
                    state_ = State::Version;
                    version_at_ = 0;
                } else if (c == '\r') {
                    status_ = 505;
                    return "HTTP/0.9 simple-request";
                } else if (c < ' ' || c == 0x7F) {
                    return "malformed request line (target)";
                }
                break;
            case State::Version: {
                if (version_at_ == sizeof kVersion - 1) {
                    if (c != '\r') {
                        return c == '\n' ? "bare LF as a line terminator"
                                         : "malformed request line (after the version)";
                    }
                    state_ = State::VersionLF;
                    break;
                }
                const char want = kVersion[version_at_++];
                const bool ok =
                    want == 'd' ? (c >= '0' && c <= '9') : c == static_cast<unsigned char>(want);
                if (!ok) return "malformed request line (version)";
                break;
            }
            case State::VersionLF:
                if (c != '\n') return "bare CR in the request line";
                state_ = State::LineStart;
                break;
            default:
                break;
        }
    }
    return nullptr;
}

// Line by line: the first byte of each line is checked, then memchr finds its LF, which must
// follow a CR.
const char* StrictHead::scan_fields(const char*& p, const char* end) noexcept {
    while (p < end && state_ != State::Done) {
        switch (state_) {
            case State::LineStart: {
                const auto c = static_cast<unsigned char>(*p);
                if (c == '\r') {
                    state_ = State::EndLF;
                } else if (c == ':') {
                    return "empty header field name";
                } else if (c == ' ' || c == '\t') {
                    return "obsolete line folding in a header field";
                } else if (c == '\n') {
                    return "bare LF as a line terminator";
                } else if (!is_tchar(c)) {
                    return "invalid character in a header field name";
                } else if (++field_bytes_ > max_header_bytes_) {
                    status_ = 431;
                    return "header section too large";
                } else {
                    state_ = State::Field;
                }
                prev_ = *p++;
                break;
            }
            case State::Field: {
                const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
                const char* line_end = lf != nullptr ? static_cast<const char*>(lf) + 1 : end;
                const auto n = static_cast<std::size_t>(line_end - p);
                if (n > max_header_bytes_ - field_bytes_) {
                    p += max_header_bytes_ - field_bytes_;  // the first byte over the limit
                    status_ = 431;
                    return "header section too large";
                }
                field_bytes_ += n;
                if (lf == nullptr) {
                    prev_ = end[-1];
                    p = end;
                    return nullptr;
                }
                const char* at = static_cast<const char*>(lf);
                const char before = at > p ? at[-1] : prev_;
                if (before != '\r') {
                    p = at;
                    return "bare LF as a line terminator";
                }
                prev_ = '\n';
                p = at + 1;
                state_ = State::LineStart;
                break;
            }
            case State::EndLF:
                if (*p != '\n') return "bare CR in the header section";
                prev_ = *p++;
                state_ = State::Done;
                break;
            default:
                return nullptr;
        }
    }
    return nullptr;
}

}  // namespace lake::http
