#include "response_parser.hpp"

#include <cstring>
#include <new>

namespace lake::proxy {

namespace {

ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }

}  // namespace

const llhttp_settings_t ResponseParser::kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &ResponseParser::on_message_begin;
    s.on_header_field = &ResponseParser::on_header_field;
    s.on_header_value = &ResponseParser::on_header_value;
    s.on_header_field_complete = [](llhttp_t* p) {
        ResponseParser& r = self(p);
        if (!r.headers_done_) r.value_start_ = r.used_;
        return 0;
    };
    s.on_header_value_complete = &ResponseParser::on_header_value_complete;
    s.on_headers_complete = &ResponseParser::on_headers_complete;
    s.on_body = &ResponseParser::on_body;
    s.on_message_complete = &ResponseParser::on_message_complete;
    return s;
}();

ResponseParser::ResponseParser(std::span<char> header_bytes,
                               std::span<http::Header> headers) noexcept
    : bytes_(header_bytes), headers_(headers) {}

void ResponseParser::start(bool to_head, BodySink sink, void* context) noexcept {
    // As for requests (server/http/request_parser.cpp), the version's lenient flag alone:
    // HTTP/1.2-1.9 is read as HTTP/1.1, another major version refused below.
    llhttp_init(&parser_, HTTP_RESPONSE, &kSettings);
    parser_.lenient_flags |= LENIENT_VERSION;
    parser_.data = this;
    to_head_ = to_head;
    sink_ = sink;
    context_ = context;
    headers_done_ = complete_ = keep_alive_ = chunked_ = false;
    used_ = count_ = 0;
    field_start_ = value_start_ = extra_ = 0;
    status_ = 0;
    content_length_ = -1;
    error_ = nullptr;
}

int ResponseParser::fail(const char* why) noexcept {
    error_ = why;
    return -1;
}

bool ResponseParser::copy(const char* at, std::size_t n) noexcept {
    if (n > bytes_.size() - used_) return false;
    std::memcpy(bytes_.data() + used_, at, n);
    used_ += n;
    return true;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
    ResponseParser& r = self(p);
    r.used_ = 0;  // after an interim (1xx) response: its headers are forgotten
    r.count_ = 0;
    r.field_start_ = r.value_start_ = 0;
    return 0;
}

// Fields after the body (a chunked body's trailer section) are not kept: the proxy removes the
// chunked coding and may discard them (RFC 9112 7.1.2), and must not merge them into the header
// section it passes on (RFC 9110 6.5.2), which is what keeping them here would do.
int ResponseParser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    ResponseParser& r = self(p);
    if (r.headers_done_) return 0;  // a trailer field
    if (!r.copy(at, n)) return r.fail("the upstream's header section is too large");
    return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    ResponseParser& r = self(p);
    if (r.headers_done_) return 0;  // a trailer field
    if (!r.copy(at, n)) return r.fail("the upstream's header section is too large");
    return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (r.headers_done_) return 0;  // a trailer field
    if (r.count_ == r.headers_.size()) return r.fail("the upstream sent too many header fields");
    const char* base = r.bytes_.data();
    ::new (&r.headers_[r.count_++]) http::Header{
        std::string_view(base + r.field_start_, r.value_start_ - r.field_start_),
        http::trim_blanks(std::string_view(base + r.value_start_, r.used_ - r.value_start_))};
    r.field_start_ = r.value_start_ = r.used_;
    return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (p->http_major != 1) return r.fail("the upstream answered in another HTTP version");
    r.status_ = p->status_code;
    // Three digits is all llhttp checks; a status outside 100-599 is no HTTP status (RFC 9110
    // 15): the upstream's fault (502), not one to pass on or to take as interim.
    if (r.status_ < 100 || r.status_ > 599) return r.fail("the upstream's status is not 100-599");
    if (r.status_ == 101) return r.fail("the upstream switched protocols");
    // A response to HEAD, a 1xx, a 204 and a 304 end at their empty line, whatever their header
    // fields say (RFC 9112 6.3): a 304 carries the 200's Content-Length. llhttp 8.1 reads a body
    // that such a length announces; returning 1 tells it none follows.
    const bool no_body = r.to_head_ || r.status_ < 200 || r.status_ == 204 || r.status_ == 304;
    if (r.status_ < 200) return 1;  // interim: skipped
    r.headers_done_ = true;
    r.chunked_ = (p->flags & F_CHUNKED) != 0;
    // A transfer coding other than chunked last would be passed on as the body's bytes, decoded
    // by no one: refused, as nginx does (RFC 9112 6.3 would read such a body until close).
    if (!no_body && (p->flags & F_TRANSFER_ENCODING) != 0 && !r.chunked_)
        return r.fail("the upstream's transfer coding is not chunked");
    if ((p->flags & F_CONTENT_LENGTH) != 0)
        r.content_length_ = static_cast<std::int64_t>(p->content_length);
    return no_body ? 1 : 0;  // 1: no body follows, whatever the headers say
}

int ResponseParser::on_body(llhttp_t* p, const char* at, std::size_t n) {
    ResponseParser& r = self(p);
    r.sink_(r.context_, std::string_view(at, n));
    return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (r.status_ < 200) return 0;  // an interim response ended; the final one follows
    r.complete_ = true;
    r.keep_alive_ = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;  // whatever follows is not this response's
}

ResponseParser::Result ResponseParser::feed(std::string_view data) noexcept {
    if (complete_) {
        extra_ += data.size();
        return Result::Complete;
    }
    const llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
    if (err == HPE_OK) return Result::More;
    if (err == HPE_PAUSED && complete_) {
        extra_ =
            static_cast<std::size_t>(data.data() + data.size() - llhttp_get_error_pos(&parser_));
        return Result::Complete;
    }
    if (error_ == nullptr) error_ = llhttp_get_error_reason(&parser_);
    if (error_ == nullptr) error_ = "the upstream's response is malformed";
    return Result::Error;
}

ResponseParser::Result ResponseParser::finish() noexcept {
    if (complete_) return Result::Complete;
    const llhttp_errno_t err = llhttp_finish(&parser_);
    if ((err == HPE_OK || err == HPE_PAUSED) && complete_) {
        keep_alive_ = false;
        return Result::Complete;
    }
    if (error_ == nullptr) error_ = "the upstream closed the connection before its response ended";
    return Result::Error;
}

}  // namespace lake::proxy
