// server/http/request_parser.hpp — llhttp (strict mode) driven one request at a time, with the
// limits llhttp does not enforce and the RFC 9112 checks it leaves to us. Its tokens (target,
// header names and values) point into the input when the owner keeps that input in place until
// the request is answered, and are copied into the connection's request view otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

#include <llhttp.h>

#include <lake/lake.hpp>

#include "../../handlers/request.hpp"
#include "body_buffers.hpp"
#include "chunk_line.hpp"
#include "strict_head.hpp"

namespace lake::http {

struct ParseLimits {
    std::size_t max_target = 8 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_headers = 64;
    std::size_t max_body = 1024 * 1024;
};

enum class ParseEvent : std::uint8_t {
    NeedMore,  // all input consumed, the request is not complete yet
    Complete,  // a whole request is ready in request(); the rest of the input is untouched
    Error,     // malformed or over a limit: answer error_status() and close
    // The body's next bytes need a body buffer and none could be had: feed the rest again
    // once one may be free (the bytes before them were consumed).
    NeedBodyBuffer,
    // The owner chose to stream this request's body (BodyBuffers::stream_body): the headers are
    // in request(), the body follows as BodyPart events, then Complete.
    Headers,
    // body_part() holds the body's next bytes, pointing into the input just consumed.
    BodyPart,
};

struct ParseStep {
    std::size_t consumed;
    ParseEvent event;
};

class RequestParser {
  public:
    RequestParser(lake::BasicArena& view, BodyBuffers& large, const ParseLimits& limits);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    // Readies for the next message, in a request view its owner has just reset, after taking
    // back any large buffer (take_large()): the parser borrows both and gives back neither, so
    // that exactly one owner resets each view and returns each buffer. reset_connection() also
    // restarts llhttp (a new connection on this slot).
    void start() noexcept;
    void reset_connection() noexcept;

    // Parses up to `len` bytes; stops right after a complete request. `borrowable`: the owner
    // keeps these bytes where they are until the request is answered (the next start()), so
    // the tokens lying whole in them are not copied; borrowing() then says some were not.
    ParseStep feed(const char* data, std::size_t len, bool borrowable = false) noexcept {
        borrowable_ = borrowable;
        const ParseStep step = feed_input(data, len);
        borrowable_ = false;
        if (borrowing_ && !complete_ && step.event != ParseEvent::Error) [[unlikely]]
            return settle_unfinished(data, len, step);
        return step;
    }
    bool borrowing() const noexcept { return borrowing_; }
    // Copies what the request's views point to in [data, data + len) into the request view and
    // points them there (`moved` says how, for views others took of them). false, borrowing
    // still, when the request view has no room.
    bool settle_borrowed(const char* data, std::size_t len, Relocation& moved) noexcept;

    Request& request() noexcept { return request_; }
    int error_status() const noexcept { return error_status_; }
    const char* error_reason() const noexcept { return error_status_ != 0 ? error_reason_ : ""; }
    // A request has begun (at least one byte of it arrived) and is not complete.
    bool in_progress() const noexcept { return begun_ && !complete_; }
    // The headers said `Expect: 100-continue`, a body is coming and no answer was sent yet.
    bool wants_continue() const noexcept { return wants_continue_ && !complete_; }
    void continue_answered() noexcept { wants_continue_ = false; }
    // True after a CONNECT: what follows is not HTTP (an Upgrade is ignored: the stream goes on).
    bool must_close() const noexcept { return upgrade_; }
    // The request's body lives in a large buffer (borrowed from the worker's pool), and how many
    // body bytes have arrived so far.
    bool holds_large_buffer() const noexcept { return large_ != nullptr; }
    std::size_t body_received() const noexcept { return body_.len; }
    // A streamed body's bytes of the last BodyPart event (valid as long as the input fed).
    std::string_view body_part() const noexcept { return streaming_ ? part_ : std::string_view{}; }
    bool streaming_body() const noexcept { return streaming_ && !complete_; }
    // Hands the large buffer holding this request's body (if any) back to the owner.
    lake::LakeView* take_large() noexcept {
        lake::LakeView* v = large_;
        large_ = nullptr;
        return v;
    }

  private:
    // A token as it arrives: the target, a field name or value (their lengths bounded by the
    // 32-bit limits below), or the body (any length while it streams).
    template <class Length>
    struct BasicToken {
        char* data = nullptr;
        Length len = 0;
        bool borrowed = false;  // points into the input fed, not into the request view
    };
    using Token = BasicToken<std::uint32_t>;
    using BodyToken = BasicToken<std::size_t>;
    // The limits as every request reads them: the target and header ones in 32 bits (a limit
    // of 4 GiB or more acts as 4 GiB - 2, as in StrictHead), the body's as given.
    struct Limits {
        std::uint32_t max_target;
        std::uint32_t max_header_bytes;
        std::uint32_t max_headers;
        std::size_t max_body;
    };
    static Limits compact(const ParseLimits& limits) noexcept;

    static int on_message_begin(llhttp_t* p);
    static int on_url(llhttp_t* p, const char* at, std::size_t n);
    static int on_url_complete(llhttp_t* p);
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n);
    static int on_header_field_complete(llhttp_t* p);
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n);
    static int on_header_value_complete(llhttp_t* p);
    static int on_headers_complete(llhttp_t* p);
    static int on_body(llhttp_t* p, const char* at, std::size_t n);
    static int on_message_complete(llhttp_t* p);
    static int on_chunk_header(llhttp_t* p);
    static int on_chunk_complete(llhttp_t* p);
    static const llhttp_settings_t kSettings;

    int fail(int status, const char* reason) noexcept;
    ParseStep judge_method_after_request_line(const char* data, std::size_t len) noexcept;
    ParseStep fail_head(const char* why, std::size_t len) noexcept;
    ParseStep parse_error(llhttp_errno_t err, const char* head_error, std::size_t len) noexcept;
    int await_chunk_line() noexcept;
    llhttp_errno_t feed_chunk_line_to_llhttp() noexcept;
    void note_fold_prefix(const char* data, std::size_t consumed) noexcept;
    // Appends to a token. In input the owner keeps in place (feed's `borrowable`), a token that
    // lies whole in it is not copied: it points there.
    // `n` fits the token's length: the callers check it against the limits first.
    template <class Length>
    bool append(BasicToken<Length>& t, const char* at, std::size_t n) noexcept {
        if (borrowable_ && t.len == 0) {
            t = BasicToken<Length>{const_cast<char*>(at), static_cast<Length>(n), true};
            borrowing_ = true;
            return true;
        }
        return append_slow(t, at, n);
    }
    // Out of line, as before it became a template: inlined, it made each token callback save
    // four registers on the common path (+28 instructions per request).
    template <class Length>
    [[gnu::noinline]] bool append_slow(BasicToken<Length>& t, const char* at,
                                       std::size_t n) noexcept;
    ParseStep feed_input(const char* data, std::size_t len) noexcept;
    ParseStep settle_unfinished(const char* data, std::size_t len, ParseStep step) noexcept;
    bool append_body(const char* at, std::size_t n) noexcept;
    bool body_fits_before(std::size_t incoming) const noexcept;
    bool move_body_to_large_buffer() noexcept;
    bool preceded_by_line_fold(const char* at) const noexcept;
    int parse_target() noexcept;
    int check_header(const Header& h) noexcept;
    int check_headers_complete() noexcept;

    // Layout: a server cycling through thousands of connections misses on every cache line of
    // this object that a request touches, and a request touches nearly all of it (start() resets
    // it), so the chunked-body and error details that most requests never read come last. What
    // every request touches ends with request_, at 448 bytes: 7 cache lines (counts, lengths
    // and limits in 32 bits where their limits allow, the authority of a rare absolute-form
    // target among the cold fields: 8 lines before).
    llhttp_t parser_;
    lake::BasicArena& view_;
    lake::LakeView* large_ = nullptr;
    Header* header_slots_ = nullptr;
    std::uint32_t header_capacity_ = 0;
    std::uint32_t header_count_ = 0;
    std::uint32_t header_bytes_ = 0;  // never above limits_.max_header_bytes
    int error_status_ = 0;
    unsigned host_count_ = 0;
    bool te_present_ = false;
    bool te_unknown_coding_ = false;
    bool te_last_is_chunked_ = false;
    bool borrowable_ = false;  // the input being fed may be pointed into (see feed())
    bool borrowing_ = false;   // a token of this request points into input fed
    bool begun_ = false;
    bool complete_ = false;
    bool wants_continue_ = false;
    bool upgrade_ = false;
    bool absolute_form_ = false;  // the target was absolute-form: authority_ is set
    // llhttp refused the method before the request line was whole: judged once it is.
    bool method_unknown_ = false;
    // llhttp paused where a chunk-size line begins: ChunkLine reads it instead.
    bool in_chunk_line_ = false;
    // llhttp paused where a body begins, so that its bytes are judged before they are parsed.
    bool at_body_start_ = false;
    bool in_body_ = false;
    bool last_chunk_ = false;
    // The body is handed out as it arrives (no ceiling, nothing kept): paused after the headers
    // (headers_paused_) and after each piece (part_).
    bool streaming_ = false;
    bool headers_paused_ = false;
    bool part_ready_ = false;
    bool complete_pending_ = false;  // the last BodyPart ended the message: Complete is next
    // Where the input being fed starts, and whether the previous input ended in a line break
    // followed only by blanks: both serve to spot obs-fold, which llhttp 8.1 accepts.
    bool chunk_follows_fold_prefix_ = false;
    const char* chunk_start_ = nullptr;
    Limits limits_;
    Token url_, field_, value_;
    BodyToken body_;
    StrictHead head_;
    Request request_;

    // Read only after an error (error_status_ set with it), while a body streams or after an
    // absolute-form target: not reset per request, and past the lines every request touches.
    const char* error_reason_ = "";
    std::string_view part_;
    std::string_view authority_;  // of an absolute-form target (absolute_form_), else stale
    BodyBuffers& pool_;
    ChunkLine chunk_line_;
};

}  // namespace lake::http
