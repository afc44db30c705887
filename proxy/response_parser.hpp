// proxy/response_parser.hpp — an upstream's HTTP/1.1 response, parsed with llhttp under the same
// strict rules as requests (strict mode, no lenient flag): status, headers copied into a buffer
// of the caller's, and the body handed to a sink as it arrives, chunked or with a length or
// until the connection closes.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "../handlers/request.hpp"

namespace lake::proxy {

class ResponseParser {
  public:
    // Where body bytes go, as they are parsed (pieces of the bytes given to feed()).
    using BodySink = void (*)(void* context, std::string_view piece);

    // `header_bytes` holds the header names and values (its size is the head's limit),
    // `headers` the fields (their most).
    ResponseParser(std::span<char> header_bytes, std::span<http::Header> headers) noexcept;
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    // For a new response; `to_head`: the request was HEAD (the response has no body whatever
    // its headers say).
    void start(bool to_head, BodySink sink, void* context) noexcept;

    enum class Result : std::uint8_t {
        More,      // everything was parsed; the response goes on
        Complete,  // the response ended (any bytes after it were not parsed: see extra())
        Error,     // malformed (or over a limit): error() says why
    };
    // Parses `bytes`: headers are collected, body bytes go to the sink. Interim (1xx) responses
    // are skipped.
    Result feed(std::string_view bytes) noexcept;
    // The upstream closed its side: a body that runs until the close ends here; anything else
    // unfinished is an error.
    Result finish() noexcept;

    bool headers_done() const noexcept { return headers_done_; }
    int status() const noexcept { return status_; }
    std::span<const http::Header> headers() const noexcept { return {headers_.data(), count_}; }
    // The body's length when the response said it (Content-Length), or -1.
    std::int64_t content_length() const noexcept { return content_length_; }
    bool chunked() const noexcept { return chunked_; }
    // Whether the connection can carry another request: keep-alive, and nothing came after
    // the response.
    bool reusable() const noexcept { return complete_ && keep_alive_ && extra_ == 0; }
    std::size_t extra() const noexcept { return extra_; }
    const char* error() const noexcept { return error_; }

  private:
    static int on_message_begin(llhttp_t* p);
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n);
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n);
    static int on_header_value_complete(llhttp_t* p);
    static int on_headers_complete(llhttp_t* p);
    static int on_body(llhttp_t* p, const char* at, std::size_t n);
    static int on_message_complete(llhttp_t* p);
    static const llhttp_settings_t kSettings;

    int fail(const char* why) noexcept;
    bool copy(const char* at, std::size_t n) noexcept;

    llhttp_t parser_{};
    std::span<char> bytes_;
    std::span<http::Header> headers_;
    std::size_t used_ = 0;  // of bytes_
    std::size_t field_start_ = 0, value_start_ = 0;
    bool in_value_ = false;
    std::uint32_t count_ = 0;
    int status_ = 0;
    std::int64_t content_length_ = -1;
    bool chunked_ = false;
    bool to_head_ = false;
    bool headers_done_ = false;
    bool complete_ = false;
    bool keep_alive_ = false;
    std::size_t extra_ = 0;
    const char* error_ = nullptr;
    BodySink sink_ = nullptr;
    void* context_ = nullptr;
};

}  // namespace lake::proxy
