// The response writer's checks on what a handler put in its response: a content type or header
// value with a control character or DEL anywhere, at any length, is refused (header injection);
// a tab and bytes of 0x80 and up (obs-text) are allowed. The check reads words of 8 bytes: every
// position must be covered. And the head's pieces are copied whole at every length.
#include <gtest/gtest.h>

#include <string>

#include <lake/lake.hpp>

#include "../../server/http/response_writer.hpp"

namespace lake::test {
namespace {

TEST(ResponseHead, AControlCharacterAnywhereInAValueIsRefused) {
    for (std::size_t n = 0; n <= 24; ++n) {
        const std::string clean(n, 'v');
        http::Response ok;
        ok.content_type = clean;
        ok.add_header("X-Value", clean);
        EXPECT_EQ(http::response_problem(ok), nullptr) << n;
        for (std::size_t at = 0; at < n; ++at) {
            for (char bad : {'\r', '\n', '\x01', '\x7f', '\0'}) {
                std::string v = clean;
                v[at] = bad;
                http::Response in_type, in_header;
                in_type.content_type = v;
                in_header.add_header("X-Value", v);
                EXPECT_NE(http::response_problem(in_type), nullptr)
                    << n << " " << at << " " << int(bad);
                EXPECT_NE(http::response_problem(in_header), nullptr) << n << " " << at;
            }
            std::string tab = clean;
            tab[at] = '\t';
            http::Response with_tab;
            with_tab.content_type = tab;
            with_tab.add_header("X-Value", tab);
            EXPECT_EQ(http::response_problem(with_tab), nullptr) << n << " " << at;
            std::string high = clean;  // obs-text
            high[at] = '\xe9';
            http::Response with_high;
            with_high.content_type = high;
            with_high.add_header("X-Value", high);
            EXPECT_EQ(http::response_problem(with_high), nullptr) << n << " " << at;
        }
    }
}

// Every piece of a head is copied whole, whatever its length (short ones go as two overlapping
// words): a content type, a header name and value of each length up to 40, against the head
// spelled out.
TEST(ResponseHead, PiecesOfEveryLengthAreWrittenWhole) {
    const std::string server = "Server: lake\r\n", date = "Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n";
    for (std::size_t n = 0; n <= 40; ++n) {
        std::string type, name = "X", value;
        for (std::size_t i = 0; i < n; ++i) {
            type += static_cast<char>('a' + i % 26);
            name += static_cast<char>('A' + i % 26);
            value += static_cast<char>('0' + i % 10);
        }
        http::Response r;
        r.content_type = type;
        r.add_header(name, value);
        r.body = "body";
        const http::ResponseContext ctx{date, server};
        lake::Lake out(4096);
        const std::span<std::byte> bytes = http::write_response(out, r, ctx);
        std::string want = "HTTP/1.1 200 OK\r\n" + server + date;
        if (!type.empty()) want += "Content-Type: " + type + "\r\n";
        want += "Content-Length: 4\r\n" + name + ": " + value + "\r\n\r\nbody";
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), want)
            << n;
    }
}

// The bound the engine checks against a written body's head room: never below the exact size,
// whatever the status, framing, connection header and headers; equal to it for the longest
// phrase, a 20-digit length and "Connection: keep-alive" (so no term of it is missing).
TEST(ResponseHead, TheBoundOnAHeadsSizeIsNeverBelowIt) {
    const std::string server = "Server: lake\r\n", date = "Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n";
    const std::string names[] = {"X", "Access-Control-Allow-Origin", std::string(100, 'N')};
    for (int status :
         {0, 7, 99, 100, 200, 204, 301, 304, 404, 431, 500, 505, 599, 999, 1000, 123456, -1}) {
        for (int framing = 0; framing < 4; ++framing) {
            for (int connection = 0; connection < 3; ++connection) {
                for (std::size_t headers = 0; headers <= 12; headers += 3) {
                    lake::Lake scratch(4096);  // headers past the eighth move here
                    http::Response r;
                    r.bind(&scratch, nullptr);
                    r.status = status;
                    r.content_type = headers % 2 == 0 ? "text/plain" : "";
                    r.body = std::string_view("0123456789", headers % 10);
                    for (std::size_t i = 0; i < headers; ++i)
                        r.add_header(names[i % 3], std::string_view("value-value", i % 12));
                    http::ResponseContext ctx{date, server};
                    ctx.framing = static_cast<http::Framing>(framing);
                    ctx.length = std::uint64_t{1} << (framing * 20);
                    ctx.keep_alive = connection != 1;
                    ctx.http10 = connection == 2;
                    ASSERT_EQ(r.headers().size(), headers);
                    EXPECT_GE(http::head_size_at_most(r, ctx), http::head_size(r, ctx))
                        << status << " " << framing << " " << connection << " " << headers;
                    const http::Response copy = r;  // a copy counts the same header bytes
                    EXPECT_EQ(http::head_size_at_most(copy, ctx), http::head_size_at_most(r, ctx));
                }
            }
        }
    }
    http::Response tight;
    tight.status = 431;  // "Request Header Fields Too Large", the longest phrase
    tight.content_type = "a";
    tight.add_header("X-A", "b");
    http::ResponseContext ctx{date, server};
    ctx.framing = http::Framing::Length;
    ctx.length = ~std::uint64_t{0};  // 20 digits
    ctx.http10 = true;
    EXPECT_EQ(http::head_size_at_most(tight, ctx), http::head_size(tight, ctx));
}

TEST(ResponseHead, EveryStatusHasItsRegisteredPhraseOrNoneAndTheBoundHolds) {
    EXPECT_EQ(http::reason_phrase(206), "Partial Content");
    EXPECT_EQ(http::reason_phrase(412), "Precondition Failed");
    EXPECT_EQ(http::reason_phrase(416), "Range Not Satisfiable");
    EXPECT_EQ(http::reason_phrase(429), "Too Many Requests");
    EXPECT_EQ(http::reason_phrase(511), "Network Authentication Required");
    EXPECT_EQ(http::reason_phrase(299), "");  // not registered: no phrase, not a made-up one
    EXPECT_EQ(http::reason_phrase(418), "");
    const std::string server = "Server: lake\r\n", date = "Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n";
    for (int status = 100; status <= 999; ++status) {
        // head_size_at_most() counts on phrases of at most 31 bytes.
        EXPECT_LE(http::reason_phrase(status).size(), 31u) << status;
        http::Response r;
        r.status = status;
        http::ResponseContext ctx{date, server};
        ctx.framing = http::Framing::Length;
        ctx.length = ~std::uint64_t{0};
        ctx.http10 = true;
        EXPECT_GE(http::head_size_at_most(r, ctx), http::head_size(r, ctx)) << status;
    }
}

}  // namespace
}  // namespace lake::test
