// handlers/request.hpp — a parsed request: views into the connection's request arena.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <lake/lake.hpp>

#include "short_compare.hpp"
#include "url_encoded.hpp"

namespace lake::handlers {
class Io;
}

namespace lake::http {

struct Header {
    std::string_view name;
    std::string_view value;
};

// Bytes that moved: a view into [from, from + size) is pointed at the same offset of `to`, any
// other view is left as it is. (The engine moves a request's bytes out of a receive buffer
// before a waiting handler runs; see server/http/request_parser.hpp.)
struct Relocation {
    const char* from = nullptr;
    std::size_t size = 0;
    const char* to = nullptr;

    std::string_view operator()(std::string_view v) const noexcept {
        const auto at = reinterpret_cast<std::uintptr_t>(v.data());
        const auto begin = reinterpret_cast<std::uintptr_t>(from);
        if (v.data() == nullptr || at < begin || at >= begin + size) return v;
        return {to + (at - begin), v.size()};
    }
};

// A `{name}` (or `{*name}`) segment of the matched route and the part of the path it matched.
struct PathParam {
    std::string_view name;
    std::string_view value;
};

enum class Method : std::uint8_t { Get, Head, Post, Put, Delete, Options, Patch, Trace, Other };

// Case-insensitive ASCII comparison of two strings of the same length.
bool iequals_same_size(std::string_view a, std::string_view b) noexcept;
// Case-insensitive ASCII comparison, for header names and tokens. (Inline: most names compared
// differ in length, which costs no call to find out.)
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && iequals_same_size(a, b);
}

// Whether a Content-Type names application/x-www-form-urlencoded (any case, any parameters).
inline bool is_form_content_type(std::string_view content_type) noexcept {
    constexpr std::string_view kForm = "application/x-www-form-urlencoded";
    if (content_type.size() < kForm.size() || !iequals(content_type.substr(0, kForm.size()), kForm))
        return false;
    const std::string_view rest = content_type.substr(kForm.size());
    return rest.empty() || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t';  // OWS, parameters
}

// Takes the next item of a comma-separated header value (`gzip, chunked`) off the front of
// `list`, without its surrounding blanks; empty items (`a,,b`) are skipped. False at the end.
//   for (std::string_view item; http::next_list_item(value, item);) ...
bool next_list_item(std::string_view& list, std::string_view& item) noexcept;

// `s` without the blanks (spaces, tabs: RFC 9110 OWS) around it.
std::string_view trim_blanks(std::string_view s) noexcept;

// Every view points into the connection's request view (or its large buffer) and is valid only
// while the handler runs: the arena is reset when the next request starts.
struct Request {
    Method method = Method::Get;
    std::string_view method_name;
    std::string_view target;  // as sent
    std::string_view path;    // origin-form path (absolute-form targets are reduced to it)
    std::string_view query;   // after '?', without it
    std::uint8_t version_minor = 1;
    std::span<const Header> headers;
    // Of the matched route, set by the router for the hooks' and the handler's calls (views of
    // the path; for a waiting handler kept in the request arena, as long as the request).
    std::span<const PathParam> params;
    std::string_view body;
    bool keep_alive = true;
    // Scratch memory for the handler, reset with the request (e.g. to build a response body).
    lake::BasicArena* arena = nullptr;
    // The worker's io_uring, for a waiting handler's co_await (handlers/io.hpp).
    handlers::Io* io = nullptr;

    // The first header with this name (case-insensitive), or an empty view.
    std::string_view header(std::string_view name) const noexcept;
    // The path parameter of this name (`/users/{id}` → param("id")), or an empty view. As sent,
    // not percent-decoded (`/users/a%20b` → "a%20b"): see decoded_param().
    // (Inline: the name's length is then known when compiled, and a short look-up costs no call.)
    std::string_view param(std::string_view name) const noexcept {
        for (const PathParam& p : params)
            if (handlers::same_bytes(p.name, name)) return p.value;
        return {};
    }
    // The path parameter of this name percent-decoded (`/users/a%20b` → "a b"; '+' stays '+', as
    // in any path), into the request arena when it holds an escape; an empty view when absent
    // or when the arena cannot hold it. A decoded "%2F" is a '/' inside the value: it never
    // splits segments (the route was matched on the path as sent).
    std::string_view decoded_param(std::string_view name) const noexcept;
    // The first query parameter of this name, percent-decoded ('+' as space) into the request
    // arena, or an empty view (also when the arena cannot hold it). Each call decodes again, and
    // keeps in the arena only the value it returns: keep the result.
    std::string_view query_param(std::string_view name) const noexcept;
    // Whether the body is application/x-www-form-urlencoded (by its Content-Type): what
    // form_field() and form_fields() read; a handler answers 415 to anything else.
    bool has_form_body() const noexcept { return is_form_content_type(header("content-type")); }
    // A field of an application/x-www-form-urlencoded body, decoded the same way; empty when
    // absent or when the body is of another type.
    std::string_view form_field(std::string_view name) const noexcept;
    // Every field of such a body, in order: `for (auto f = req.form_fields(); f.next(n, v);)`.
    UrlEncodedFields form_fields() const noexcept;
    // The value of cookie `name` (Cookie header, RFC 6265; quotes removed), or an empty view.
    std::string_view cookie(std::string_view name) const noexcept;

    // Back to a fresh Request, in place (cheaper than assigning Request{}, which the compiler
    // turns into a block fill on every request). One assignment per field: a chained one is
    // compiled to two 8-byte stores reloaded as 16 bytes, a store-forwarding stall.
    void reset() noexcept {
        method = Method::Get;
        method_name = {};
        target = {};
        path = {};
        query = {};
        body = {};
        version_minor = 1;
        headers = {};
        params = {};
        keep_alive = true;
        arena = nullptr;
        io = nullptr;
    }
};

}  // namespace lake::http
