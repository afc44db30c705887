// libFuzzer target: every request the parser accepts, written for the upstream by the reverse
// proxy (proxy/forwarded_request.cpp) and sent on with its body as the proxy sends it (as it
// came with a length, re-chunked when it came chunked), must be read by a strict parser as
// exactly that one request — the same method, target and body, no byte left over. A forwarded
// head that frames the body differently from the client's request (a length dropped or added,
// a coding lost) lets a client smuggle a request to the upstream. Build and run with
// tests/fuzz/run (clang, ASan + UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../../proxy/forwarded_request.hpp"
#include "parser_fixture.hpp"

namespace {

using Fixture = lake::fuzz::ParserFixture;
using lake::http::ParseEvent;

// The upstream's parser: limits wide enough for what the proxy adds to a head the client's
// parser accepted (X-Forwarded-*, Via, Host: six fields at most, and a host's bytes again).
lake::http::ParseLimits upstream_limits() { return {2048, 3 * 8192, 64, 65536}; }

std::string hex(std::size_t n) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return buf;
}

// What the upstream reads: one request, whole; or a description of what went wrong.
std::string upstream_reads(Fixture& up, const std::string& bytes, std::string& method,
                           std::string& target, std::string& body) {
    up.new_connection();
    std::size_t at = 0;
    // A streamed body's last part and the request's end come from separate calls: the parser is
    // called again after a part or the head even with no byte left (at most a few times more).
    for (int idle = 0; idle < 4;) {
        const lake::http::ParseStep step =
            up.parser.feed(bytes.data() + at, bytes.size() - at, false);
        at += step.consumed;
        if (step.event == ParseEvent::Error)
            return "refused it: " + std::to_string(up.parser.error_status()) + " " +
                   up.parser.error_reason();
        if (step.event == ParseEvent::BodyPart) up.streamed += up.parser.body_part();
        if (step.event == ParseEvent::Complete) {
            const lake::http::Request& r = up.parser.request();
            method.assign(r.method_name);
            target.assign(r.target);
            body = up.streamed + std::string(r.body);
            if (at != bytes.size())
                return "read one request and " + std::to_string(bytes.size() - at) +
                       " bytes after it";
            return "";
        }
        const bool goes_on =
            step.event == ParseEvent::BodyPart || step.event == ParseEvent::Headers;
        if (!goes_on && (step.consumed == 0 || at == bytes.size())) break;
        idle = step.consumed == 0 ? idle + 1 : 0;
    }
    return "waits for more after " + std::to_string(bytes.size()) + " bytes";
}

void check_forwarded(const lake::http::Request& r, const std::string& client_body, Fixture& up) {
    lake::Lake arena(64 * 1024);
    const bool chunked = !r.header("transfer-encoding").empty();
    std::string target(r.path);
    if (!r.query.empty()) target += "?" + std::string(r.query);
    const std::string_view head = lake::proxy::write_upstream_head(
        r, lake::proxy::ForwardedRequest{target, "192.0.2.1", "upstream.test:80", chunked}, arena);
    if (head.empty()) return;  // no room: the proxy answers 500 and sends nothing
    std::string sent(head);
    if (chunked) {
        if (!client_body.empty()) sent += hex(client_body.size()) + "\r\n" + client_body + "\r\n";
        sent += "0\r\n\r\n";
    } else {
        sent += client_body;
    }
    std::string method, seen_target, body;
    const std::string problem = upstream_reads(up, sent, method, seen_target, body);
    const bool same =
        problem.empty() && method == r.method_name && seen_target == target && body == client_body;
    if (!same) {
        std::fprintf(stderr,
                     "the upstream does not read the request the client sent: %s\n"
                     "  client: %.*s %s, body of %zu bytes%s\n  upstream: %s %s, body of %zu "
                     "bytes\n--- sent to the upstream ---\n%s\n",
                     problem.c_str(), static_cast<int>(r.method_name.size()), r.method_name.data(),
                     target.c_str(), client_body.size(), chunked ? " (chunked)" : "",
                     method.c_str(), seen_target.c_str(), body.size(), sent.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture client;
    static Fixture upstream(upstream_limits());
    const char* bytes = reinterpret_cast<const char*>(data);
    client.new_connection();
    for (std::size_t at = 0, idle = 0; idle < 4;) {
        const lake::http::ParseStep step = client.parser.feed(bytes + at, size - at, false);
        at += step.consumed;
        if (step.event == ParseEvent::Error) break;
        if (step.event == ParseEvent::BodyPart) client.streamed += client.parser.body_part();
        if (step.event == ParseEvent::Complete) {
            const lake::http::Request& r = client.parser.request();
            check_forwarded(r, client.streamed + std::string(r.body), upstream);
            if (client.parser.must_close()) break;
            client.next_request();
            if (at == size) break;
            continue;
        }
        const bool goes_on =
            step.event == ParseEvent::BodyPart || step.event == ParseEvent::Headers;
        if (!goes_on && (step.consumed == 0 || at == size)) break;
        idle = step.consumed == 0 ? idle + 1 : 0;
    }
    return 0;
}
