#include "strict_head.hpp"

#include "../../handlers/header_rules.hpp"
#include "byte_scan.hpp"

#include <cstring>
#include <string_view>

#include <lake/config.hpp>

namespace lake::http {

namespace {

constexpr char kVersion[] = "HTTP/d.d";  // 'd': a digit

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

LAKE_HOT const char* StrictHead::scan(const char* data, std::size_t len) noexcept {
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
LAKE_HOT bool StrictHead::scan_whole_request_line(const char*& p, const char* end) noexcept {
    const char* lf = byte_scan::find_lf(p, end);
    // At least "M T HTTP/d.d\r" before the LF; the version is its last 10 bytes.
    if (lf == nullptr || lf - p < 12) return false;
    const char* v = lf - 10;  // " HTTP/d.d\r"
    if (v[0] != ' ' || std::memcmp(v + 1, "HTTP/", 5) != 0 || !is_digit(v[6]) || v[7] != '.' ||
        !is_digit(v[8]) || v[9] != '\r')
        return false;
    const char* q = p;
    while (is_tchar(static_cast<unsigned char>(*q))) ++q;  // stops at v's space at the latest
    if (q == p || *q != ' ') return false;
    const char* target = q + 1;
    if (target >= v || static_cast<std::size_t>(v - target) > max_target_) return false;
    // Every byte of the target visible (no space, control or DEL); the version's bytes after it
    // may be read.
    if (!byte_scan::all_visible(target, v, lf + 1)) return false;
    target_len_ = static_cast<std::uint32_t>(v - target);
    prev_ = '\n';
    state_ = State::LineStart;
    p = lf + 1;
    return true;
}

// Byte by byte: the request line is short, and every byte of it has a rule.
LAKE_HOT const char* StrictHead::scan_request_line(const char*& p, const char* end) noexcept {
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

// Line by line: the first byte of each line is checked, then a scan finds its LF, which must
// follow a CR.
LAKE_HOT const char* StrictHead::scan_fields(const char*& p, const char* end) noexcept {
    while (p < end && state_ != State::Done) {
        switch (state_) {
            case State::LineStart: {
                // Whole, valid field lines, one after another, each in one scan for its LF;
                // anything else (a line cut by the read, a rule broken, the limit reached) goes
                // byte by byte below from the start of its line, which names what is wrong.
                for (;;) {
                    const auto first = static_cast<unsigned char>(*p);
                    if (first == '\r' && end - p >= 2 && p[1] == '\n') {
                        p += 2;
                        prev_ = '\n';
                        state_ = State::Done;
                        return nullptr;
                    }
                    if (!is_tchar(first)) break;
                    const char* lf = byte_scan::find_lf(p + 1, end);
                    if (lf == nullptr || lf[-1] != '\r') break;
                    const auto n = static_cast<std::size_t>(lf + 1 - p);
                    if (n > max_header_bytes_ - field_bytes_) break;
                    field_bytes_ += static_cast<std::uint32_t>(n);
                    p = lf + 1;
                    if (p == end) return nullptr;  // prev_ stays '\n': the next read starts a line
                }
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
                const char* lf = byte_scan::find_lf(p, end);
                const char* line_end = lf != nullptr ? lf + 1 : end;
                const auto n = static_cast<std::size_t>(line_end - p);
                if (n > max_header_bytes_ - field_bytes_) {
                    p += max_header_bytes_ - field_bytes_;  // the first byte over the limit
                    status_ = 431;
                    return "header section too large";
                }
                field_bytes_ += static_cast<std::uint32_t>(n);
                if (lf == nullptr) {
                    prev_ = end[-1];
                    p = end;
                    return nullptr;
                }
                const char* at = lf;
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
