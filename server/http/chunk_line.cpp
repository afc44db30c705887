#include "chunk_line.hpp"

#include "../../handlers/header_rules.hpp"

namespace lake::http {

namespace {

int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

// qdtext (RFC 9110 §5.6.4): HTAB, SP, visible characters but '"' and '\', obs-text.
bool is_qdtext(unsigned char c) {
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

// What may follow a backslash: HTAB, SP, VCHAR, obs-text.
bool is_quotable(unsigned char c) { return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7F); }

}  // namespace

ChunkLine::Result ChunkLine::scan(const char* data, std::size_t len,
                                  std::size_t& consumed) noexcept {
    if (state_ == State::FirstDigit) {
        // The line nearly every client sends, whole in this read: up to 15 hex digits, CRLF.
        // Anything else (extensions, blanks, a line cut by the read) takes the byte loop below
        // from the line's start.
        std::uint64_t size = 0;
        std::size_t i = 0;
        for (int v; i < 15 && i < len && (v = hex_value(static_cast<unsigned char>(data[i]))) >= 0;
             ++i)
            size = size << 4 | static_cast<unsigned>(v);
        if (i != 0 && i + 1 < len && data[i] == '\r' && data[i + 1] == '\n') {
            size_ = size;
            length_ = i + 1;
            state_ = State::Lf;
            consumed = i + 2;
            return Result::Done;
        }
    }
    for (std::size_t i = 0; i < len; ++i) {
        const auto c = static_cast<unsigned char>(data[i]);
        consumed = i;
        if (c != '\n' && ++length_ > kMaxChunkLineBytes) return fail("chunk line too long");
        switch (state_) {
            case State::FirstDigit:
            case State::Digits: {
                const int v = hex_value(c);
                if (v >= 0) {
                    if (size_ > (UINT64_MAX >> 4)) return fail("chunk size too large");
                    size_ = size_ << 4 | static_cast<unsigned>(v);
                    state_ = State::Digits;
                    continue;
                }
                if (state_ == State::FirstDigit) return fail("invalid chunk size");
                if (c == ';')
                    state_ = State::NameStart;
                else if (is_blank(c))
                    state_ = State::BwsToSemi;
                else if (c == '\r')
                    state_ = State::Lf;
                else
                    return fail("invalid chunk size");
                continue;
            }
            case State::BwsToSemi:
                if (c == ';')
                    state_ = State::NameStart;
                else if (!is_blank(c))
                    return fail("invalid chunk extension");
                continue;
            case State::NameStart:
                if (is_tchar(c))
                    state_ = State::Name;
                else if (!is_blank(c))
                    return fail("invalid chunk extension name");
                continue;
            case State::Name:
                if (is_tchar(c)) continue;
                if (c == ';')
                    state_ = State::NameStart;
                else if (c == '=')
                    state_ = State::ValueStart;
                else if (is_blank(c))
                    state_ = State::BwsAfterName;
                else if (c == '\r')
                    state_ = State::Lf;
                else
                    return fail("invalid chunk extension name");
                continue;
            case State::BwsAfterName:
                if (c == ';')
                    state_ = State::NameStart;
                else if (c == '=')
                    state_ = State::ValueStart;
                else if (!is_blank(c))
                    return fail("invalid chunk extension");
                continue;
            case State::ValueStart:
                if (is_tchar(c))
                    state_ = State::Token;
                else if (c == '"')
                    state_ = State::Quoted;
                else if (!is_blank(c))
                    return fail("invalid chunk extension value");
                continue;
            case State::Token:
                if (is_tchar(c)) continue;
                if (c == ';')
                    state_ = State::NameStart;
                else if (is_blank(c))
                    state_ = State::BwsToSemi;
                else if (c == '\r')
                    state_ = State::Lf;
                else
                    return fail("invalid chunk extension value");
                continue;
            case State::Quoted:
                if (c == '"')
                    state_ = State::AfterQuoted;
                else if (c == '\\')
                    state_ = State::QuotedPair;
                else if (!is_qdtext(c))
                    return fail("invalid chunk extension value");
                continue;
            case State::QuotedPair:
                if (!is_quotable(c)) return fail("invalid chunk extension value");
                state_ = State::Quoted;
                continue;
            case State::AfterQuoted:
                if (c == ';')
                    state_ = State::NameStart;
                else if (is_blank(c))
                    state_ = State::BwsToSemi;
                else if (c == '\r')
                    state_ = State::Lf;
                else
                    return fail("invalid chunk extension value");
                continue;
            case State::Lf:
                if (c != '\n') return fail("chunk line not ended by CRLF");
                consumed = i + 1;
                return Result::Done;
        }
    }
    // A bare LF anywhere but after CR was refused above: '\n' is in no accepting set.
    consumed = len;
    return Result::NeedMore;
}

}  // namespace lake::http
