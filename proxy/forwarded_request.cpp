#include "forwarded_request.hpp"

#include <cstring>
#include <span>

#include "../handlers/url_encoded.hpp"

namespace lake::proxy {

bool has_dot_segment(std::string_view path) noexcept {
    int dots = 0;        // in the segment so far
    bool other = false;  // a byte in it that is not a dot
    for (std::size_t i = 0; i <= path.size(); ++i) {
        char c = '/';  // the path's end ends its last segment
        if (i < path.size()) {
            c = path[i];
            if (c == '%' && i + 2 < path.size() && http::hex_digit(path[i + 1]) >= 0 &&
                http::hex_digit(path[i + 2]) >= 0) {
                c = static_cast<char>(http::hex_digit(path[i + 1]) * 16 +
                                      http::hex_digit(path[i + 2]));
                i += 2;
            }
        }
        if (c == '/' || c == '\\') {
            if (!other && (dots == 1 || dots == 2)) return true;
            dots = 0;
            other = false;
        } else if (c == '.') {
            ++dots;
        } else {
            other = true;
        }
    }
    return false;
}

namespace {

using http::iequals;

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_connection(const http::Header& f) { return iequals(f.name, "connection"); }

// Bytes appended to a buffer of known size (measured first, then written).
struct Writer {
    char* at;
    void put(std::string_view s) {
        if (s.empty()) return;  // an empty view may hold a null pointer: not for memcpy
        std::memcpy(at, s.data(), s.size());
        at += s.size();
    }
    void header(std::string_view name, std::string_view value) {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    }
};

struct Counter {
    std::size_t n = 0;
    void put(std::string_view s) { n += s.size(); }
    void header(std::string_view name, std::string_view value) {
        n += name.size() + value.size() + 4;
    }
};

// Every line of the list field `name` the client sent, in order, each followed by ", " (the
// proxy's own entry comes after them): several lines are one list (RFC 9110 5.3), as nginx's
// $proxy_add_x_forwarded_for joins them. Lines Connection names stay on their hop.
template <class Out>
void put_list_lines(Out& out, const http::Request& req, const ConnectionOptions& connection,
                    std::string_view name) {
    if (connection.names(name)) return;
    for (const http::Header& h : req.headers) {
        if (!iequals(h.name, name) || h.value.empty()) continue;
        out.put(h.value);
        out.put(", ");
    }
}

// Whether the client sent a line of the list field `name` that goes on (not named by Connection).
bool has_list_lines(const http::Request& req, const ConnectionOptions& connection,
                    std::string_view name) {
    if (connection.names(name)) return false;
    for (const http::Header& h : req.headers)
        if (iequals(h.name, name) && !h.value.empty()) return true;
    return false;
}

// The proxy's own Forwarded element (RFC 7239 §4-6): for= the client (an IPv6 address quoted in
// brackets, "unknown" when there is none), host= quoted (a port's ':' is no token byte; Host is
// checked against its grammar, so it holds no '"' or '\\'), proto=http.
template <class Out>
void put_forwarded_element(Out& out, const ForwardedRequest& how, std::string_view host) {
    out.put("for=");
    if (how.client.empty() || how.client == "-") {
        out.put("unknown");
    } else if (how.client.find(':') != std::string_view::npos) {
        out.put("\"[");
        out.put(how.client);
        out.put("]\"");
    } else {
        out.put(how.client);
    }
    out.put(";host=\"");
    out.put(host);
    out.put("\";proto=http");
}

template <class Out>
void write_head(Out& out, const http::Request& req, const ConnectionOptions& connection,
                const ForwardedRequest& how) {
    out.put(req.method_name);
    out.put(" ");
    out.put(how.target);
    out.put(" HTTP/1.1\r\n");
    std::string_view host;
    for (const http::Header& h : req.headers) {
        if (is_hop_by_hop(h.name, connection) || iequals(h.name, "expect") ||
            iequals(h.name, "x-forwarded-proto") || iequals(h.name, "x-forwarded-host") ||
            iequals(h.name, "x-forwarded-for") || iequals(h.name, "via") ||  // (both below)
            iequals(h.name, "x-real-ip") ||  // the client's claim: the proxy knows better
            iequals(h.name, "forwarded"))    // (below, the proxy's element after the client's)
            continue;
        if (iequals(h.name, "host")) {
            host = h.value;
            if (host.empty()) continue;  // as if absent: the upstream's address goes instead
        }
        out.header(h.name, h.value);
    }
    if (host.empty()) {
        host = how.upstream_host;
        out.header("Host", host);
    }
    if (how.chunked_body) out.put("Transfer-Encoding: chunked\r\n");
    out.put("X-Forwarded-For: ");
    put_list_lines(out, req, connection, "x-forwarded-for");
    out.put(how.client);
    out.put("\r\nX-Real-IP: ");  // the peer's address, as nginx's common `$remote_addr` setting
    out.put(how.client);
    out.put("\r\nX-Forwarded-Proto: http\r\n");
    out.header("X-Forwarded-Host", host);
    // A client's Forwarded gets the proxy's element after its own (RFC 7239 §4), so that the last
    // one, the one an upstream can trust, is true; none is added when the client sent none.
    if (has_list_lines(req, connection, "forwarded")) {
        out.put("Forwarded: ");
        put_list_lines(out, req, connection, "forwarded");
        put_forwarded_element(out, how, host);
        out.put("\r\n");
    }
    out.put("Via: ");
    put_list_lines(out, req, connection, "via");
    out.put(req.version_minor == 0 ? "1.0 lake\r\n\r\n" : "1.1 lake\r\n\r\n");
}

}  // namespace

ConnectionOptions::ConnectionOptions(std::span<const http::Header> fields) noexcept
    : fields_(fields) {
    for (const http::Header& f : fields) {
        if (!is_connection(f)) continue;
        std::string_view list = f.value;
        for (std::string_view token; http::next_list_item(list, token);) {
            if (count_ == kKept) {
                more_ = true;
                return;
            }
            tokens_[count_++] = token;
        }
    }
}

bool ConnectionOptions::names(std::string_view header) const noexcept {
    if (more_) {
        for (const http::Header& f : fields_) {
            if (!is_connection(f)) continue;
            std::string_view list = f.value;
            for (std::string_view token; http::next_list_item(list, token);)
                if (iequals(token, header)) return true;
        }
        return false;
    }
    for (std::size_t i = 0; i < count_; ++i)
        if (iequals(tokens_[i], header)) return true;
    return false;
}

// A header that Connection names is a connection option and stays on its hop (RFC 9110 7.6.1),
// except the two that frame and route the message: Content-Length and Host go on whatever
// Connection says. A client that could have the proxy drop Content-Length would have its body
// read by the upstream as the next request (request smuggling).
bool is_hop_by_hop(std::string_view name, const ConnectionOptions& connection) noexcept {
    return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") ||
           iequals(name, "trailer") || iequals(name, "transfer-encoding") ||
           iequals(name, "upgrade") || starts_with_icase(name, "proxy-") ||
           (!iequals(name, "content-length") && !iequals(name, "host") && connection.names(name));
}

bool passes_to_client(std::string_view name, const ConnectionOptions& connection) noexcept {
    return !is_hop_by_hop(name, connection) && !iequals(name, "content-length") &&
           !iequals(name, "date") && !iequals(name, "server");
}

std::string_view write_upstream_head(const http::Request& request, const ForwardedRequest& how,
                                     lake::BasicArena& arena) noexcept {
    const ConnectionOptions connection(request.headers);
    Counter size;
    write_head(size, request, connection, how);
    auto* p = static_cast<char*>(arena.allocate(size.n, 1));
    if (p == nullptr) return {};
    Writer out{p};
    write_head(out, request, connection, how);
    return {p, size.n};
}

}  // namespace lake::proxy
