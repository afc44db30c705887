// server/http/chunk_line.hpp — the chunk-size line of a chunked body (RFC 9112 §7.1), scanned
// here instead of by llhttp.
//
// llhttp 8.1 refuses what the RFC allows in chunk extensions (a quoted-string value with a
// quoted-pair, `5;q="a\"b"`, and BWS around ";" and "=", `5 ; a = b`) and bounds none of it.
// The scanner reads the line byte by byte across reads, accepts the full grammar, bounds the
// line, refuses bare LF, and yields only the chunk size: the parser then hands llhttp a
// canonical "<hex>\r\n" line, so extensions never reach it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lake::http {

// A chunk line longer than this (size, extensions and all) is refused: RFC 9112 sets no limit,
// and 20 MiB of extensions riding on a 1-byte chunk must not be free.
inline constexpr std::size_t kMaxChunkLineBytes = 4096;

class ChunkLine {
  public:
    enum class Result : std::uint8_t { NeedMore, Done, Error };

    void start() noexcept {
        state_ = State::FirstDigit;
        size_ = 0;
        length_ = 0;
    }
    // Reads from `data` up to the end of the line; `consumed` says how far it got (the whole
    // input on NeedMore, up to and including the LF on Done, the offending byte on Error).
    Result scan(const char* data, std::size_t len, std::size_t& consumed) noexcept;
    std::uint64_t size() const noexcept { return size_; }
    const char* error_reason() const noexcept { return reason_; }

  private:
    enum class State : std::uint8_t {
        FirstDigit,    // the line's first byte: a hex digit
        Digits,        // in the chunk size
        BwsToSemi,     // blanks after the size or a value: only ";" (or more blanks) may follow
        NameStart,     // after ";": blanks, then a token
        Name,          // in an extension name
        BwsAfterName,  // blanks after a name: ";" or "=" must follow
        ValueStart,    // after "=": blanks, then a token or a quoted string
        Token,         // in a token value
        Quoted,        // in a quoted-string value
        QuotedPair,    // after a backslash inside it
        AfterQuoted,   // the closing quote seen
        Lf,            // CR seen, LF expected
    };
    Result fail(const char* why) noexcept {
        reason_ = why;
        return Result::Error;
    }

    State state_ = State::FirstDigit;
    std::uint64_t size_ = 0;
    std::size_t length_ = 0;
    const char* reason_ = "";
};

}  // namespace lake::http
