// Bodies written by handlers straight into the connection's response arena (append, {fmt}, JSON):
// their head goes into the room kept before them (one range), or after them when it is longer
// (two ranges, one sendmsg); pipelined ones go out in order; a body too big for the response
// arena continues in the request arena; one too big for both is a 500. Over real sockets.
#include <string>
#include <thread>
#include <vector>

#include "../../handlers/arena_json.hpp"
#include "../../handlers/response_format.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

void formatted(const http::Request& q, http::Response& r, void*) {
    r.content_type = "text/plain";
    const std::string_view n = q.query_param("n");
    format(r, "n={} twice={}{}\n", n, n, n);
}

void many_headers(const http::Request&, http::Response& r, void*) {
    for (int i = 0; i < 40; ++i) r.add_header("X-Padding", "0123456789abcdef");  // > 512 bytes
    r.append("body after a long head");
}

// The same long head with a body written by a writer that leaves spare bytes past it (JSON asks
// for a chunk of 256): the spare goes back before the head is written after the body.
void many_headers_json(const http::Request&, http::Response& r, void*) {
    for (int i = 0; i < 40; ++i) r.add_header("X-Padding", "0123456789abcdef");
    handlers::json(r, [](handlers::ResponseJsonWriter& w) {
        w.StartObject();
        w.Key("after");
        w.String("a long head");
        w.EndObject();
    });
}

void kilobytes(const http::Request& q, http::Response& r, void*) {
    const std::string_view kb = q.param("kb");
    const int n = std::stoi(std::string(kb));
    const std::string piece(1024, 'k');
    for (int i = 0; i < n; ++i) r.append(piece);
}

// The decoded `s` as a JSON string: its runs and escapes cross the writer's chunk boundaries.
void json_string(const http::Request& q, http::Response& r, void*) {
    const std::string_view s = q.query_param("s");
    handlers::json(r, [&](handlers::ResponseJsonWriter& w) {
        w.StartObject();
        w.Key("s");
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
        w.EndObject();
    });
}

// A header that is a view of the request's own bytes (no copy: they must last until the answer
// is written), and 12 KiB of body so that a client that does not read soon blocks the output.
void query_as_header(const http::Request& q, http::Response& r, void*) {
    static const std::string filler(12 * 1024, 'f');
    r.add_header("X-Query", q.query);
    r.body = filler;
}

// JSON with an array left open: no JSON, so the answer is a 500, not the broken body.
void json_left_open(const http::Request&, http::Response& r, void*) {
    handlers::json(r, [](handlers::ResponseJsonWriter& w) {
        w.StartObject();
        w.Key("items");
        w.StartArray();
        w.Int(1);
    });
}

void redirect(const http::Request&, http::Response& r, void*) { r.redirect(302, "/elsewhere"); }

// test_client.hpp's pattern() of `n` bytes, appended a byte at a time.
void bytes(const http::Request& q, http::Response& r, void*) {
    const std::string p = pattern(std::stoul(std::string(q.param("n"))));
    for (char ch : p) r.append(std::string_view(&ch, 1));
}

// Headers checked by the compiler go out as they are; a header added at run time after them is
// still checked (the mark is per header).
void constant_headers(const http::Request& q, http::Response& r, void*) {
    r.add_header({"Access-Control-Allow-Origin", "*"});
    r.add_header({"X-Constant", "yes"});
    if (q.query == "bad") r.add_header("X-Runtime", "a\r\nX-Injected: 1");
    r.body = "constant";
}

void routes(handlers::Router& router) {
    router.add(http::Method::Get, "/constant", handlers::Handler{&constant_headers, nullptr});
    router.add(http::Method::Get, "/fmt", handlers::Handler{&formatted, nullptr});
    router.add(http::Method::Get, "/many-headers", handlers::Handler{&many_headers, nullptr});
    router.add(http::Method::Get, "/many-headers-json",
               handlers::Handler{&many_headers_json, nullptr});
    router.add(http::Method::Get, "/kb/{kb}", handlers::Handler{&kilobytes, nullptr});
    router.add(http::Method::Get, "/json-string", handlers::Handler{&json_string, nullptr});
    router.add(http::Method::Get, "/json-left-open", handlers::Handler{&json_left_open, nullptr});
    router.add(http::Method::Get, "/query-view", handlers::Handler{&query_as_header, nullptr});
    router.add(http::Method::Get, "/redirect", handlers::Handler{&redirect, nullptr});
    router.add(http::Method::Get, "/bytes/{n}", handlers::Handler{&bytes, nullptr});
}

TEST(ResponseWriter, AFormattedBodyGoesOutWithItsHead) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send(get("/fmt?n=4%202")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "text/plain");
    EXPECT_EQ(r.body, "n=4 2 twice=4 24 2\n");
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
    // HEAD: the same head, no body.
    ASSERT_TRUE(c.send("HEAD /fmt?n=4%202 HTTP/1.1\r\nHost: t\r\n\r\n"));
    const HttpResponse h = c.read_response(true);
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.header("content-length"), std::to_string(r.body.size()));
    ASSERT_TRUE(c.send(get("/fmt?n=x")));  // the connection is still in step
    EXPECT_EQ(c.read_response().body, "n=x twice=xx\n");
}

TEST(ResponseWriter, JsonStringsAreEscapedAcrossTheWritersChunks) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    // Runs of plain bytes and escapes, at lengths around the first chunk (256) and its doubling.
    for (const int n : {0, 5, 250, 260, 700, 1500}) {
        std::string decoded, encoded;
        for (int i = 0; i < n; ++i) {
            const bool quote = i % 37 == 0, newline = i % 53 == 0;
            decoded += quote ? '"' : newline ? '\n' : char('a' + i % 26);
            encoded += quote ? "%22" : newline ? "%0A" : std::string(1, char('a' + i % 26));
        }
        ASSERT_TRUE(c.send(get("/json-string?s=" + encoded)));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << n;
        EXPECT_EQ(r.header("content-type"), "application/json");
        std::string want = "{\"s\":\"";
        for (const char ch : decoded)
            want += ch == '"' ? "\\\"" : ch == '\n' ? "\\n" : std::string(1, ch);
        want += "\"}";
        EXPECT_EQ(r.body, want) << n;
    }
}

// Answers that point into their requests, backed up behind a client that does not read (the
// connection's output blocks with an answer not yet written), while other clients' input goes
// through every receive buffer: each answer still carries its own request's bytes.
TEST(ResponseWriter, AnswersThatAreViewsOfTheirRequestsSurviveBlockedOutput) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.recv_buffers = 32;  // the other clients go through all of them, over and over
    c.send_under_pressure_s = 30;
    RunningServer s(c, &routes);
    ASSERT_EQ(s.error(), "");
    Client slow(s.port(), 10000, nullptr, 4096);
    constexpr int kRequests = 600;  // 7 MB of answers: more than the socket buffers take
    const auto query = [](int i) {
        return std::to_string(i) + "-" +
               std::string(500 + i % 200, static_cast<char>('a' + i % 26));
    };
    // One at a time, so that each lies whole in a receive buffer of its own.
    std::thread sender([&] {
        for (int i = 0; i < kRequests; ++i) {
            if (!slow.send(get("/query-view?" + query(i)))) return;
            ::usleep(1000);
        }
    });
    ::usleep(700 * 1000);  // its answers back up
    for (int i = 0; i < 300; ++i) {
        Client other(s.port());
        ASSERT_TRUE(other.send(get("/query-view?" + std::string(900, 'Z'))));
        ASSERT_EQ(other.read_response().status, 200);
    }
    for (int i = 0; i < kRequests; ++i) {
        const HttpResponse r = slow.read_response();
        ASSERT_EQ(r.status, 200) << i;
        ASSERT_EQ(r.header("x-query"), query(i)) << i;
    }
    sender.join();
}

TEST(ResponseWriter, PipelinedWrittenBodiesComeBackInOrder) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    std::string batch;
    for (int i = 0; i < 40; ++i) {
        batch += get("/fmt?n=" + std::to_string(i));
        if (i % 3 == 0) batch += get("/json");
        if (i % 5 == 0) batch += get("/plaintext");
    }
    ASSERT_TRUE(c.send(batch));
    for (int i = 0; i < 40; ++i) {
        const std::string n = std::to_string(i);
        EXPECT_EQ(c.read_response().body, "n=" + n + " twice=" + n + n + "\n") << i;
        if (i % 3 == 0) {
            EXPECT_EQ(c.read_response().body, R"({"message":"Hello, World!"})");
        }
        if (i % 5 == 0) {
            EXPECT_EQ(c.read_response().body, "Hello, World!");
        }
    }
}

// A short written body moves down next to its head: every length up to 40 bytes, and around
// the largest that moves at all (1 KiB), each byte where it belongs.
TEST(ResponseWriter, WrittenBodiesOfEveryShortLengthComeBackWhole) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 40; ++n) lengths.push_back(n);
    for (std::size_t n : {1023u, 1024u, 1025u}) lengths.push_back(n);
    std::string batch;
    for (std::size_t n : lengths) batch += get("/bytes/" + std::to_string(n));
    ASSERT_TRUE(c.send(batch));
    for (std::size_t n : lengths) {
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << n;
        EXPECT_EQ(r.body, pattern(n)) << n;
    }
}

// Bodies of 2 KiB keep their place (head in the room before them): each response is a range of
// its own, and a batch of them goes out through sendmsg, more ranges than one send can take.
TEST(ResponseWriter, PipelinedLargerBodiesGoOutAsRangesInOrder) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    std::string batch;
    for (int i = 0; i < 30; ++i) batch += get(i % 2 ? "/kb/2" : "/plaintext");
    ASSERT_TRUE(c.send(batch));
    for (int i = 0; i < 30; ++i) {
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, i % 2 ? std::string(2048, 'k') : "Hello, World!") << i;
    }
}

TEST(ResponseWriter, AHeadLongerThanItsRoomGoesAfterTheBody) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send(get("/many-headers") + get("/many-headers")));
    for (int i = 0; i < 2; ++i) {
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.count("x-padding"), 40u);
        EXPECT_EQ(r.body, "body after a long head");
    }
    // Written with spare bytes left, between short answers: each whole, in order.
    ASSERT_TRUE(c.send(get("/many-headers-json") + get("/plaintext") + get("/many-headers-json") +
                       get("/plaintext")));
    for (int i = 0; i < 4; ++i) {
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << i;
        if (i % 2 == 0) {
            EXPECT_EQ(r.count("x-padding"), 40u);
            EXPECT_EQ(r.body, R"({"after":"a long head"})");
            EXPECT_EQ(r.header("content-type"), "application/json");
        } else {
            EXPECT_EQ(r.body, "Hello, World!");
        }
    }
}

TEST(ResponseWriter, BodiesBeyondTheResponseArenaContinueInTheRequestArenaThenFail) {
    RunningServer s(test_config(), &routes);  // 32 KiB response view, 32 KiB request view
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    for (int kb : {20, 31}) {
        ASSERT_TRUE(c.send(get("/kb/" + std::to_string(kb))));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200) << kb;
        EXPECT_EQ(r.body, std::string(kb * 1024u, 'k')) << kb;
    }
    ASSERT_TRUE(c.send(get("/kb/80")));
    EXPECT_EQ(c.read_response().status, 500);
    ASSERT_TRUE(c.send(get("/kb/1")));  // and the connection goes on
    EXPECT_EQ(c.read_response().body, std::string(1024, 'k'));
}

TEST(ResponseWriter, JsonLeftOpenIsA500AndTheConnectionGoesOn) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send(get("/json-left-open") + get("/json-string?s=after")));
    const HttpResponse bad = c.read_response();
    EXPECT_EQ(bad.status, 500);
    EXPECT_EQ(bad.body.find("items"), std::string::npos);
    const HttpResponse next = c.read_response();
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body, R"({"s":"after"})");
}

TEST(ResponseWriter, ARedirectCarriesItsLocation) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send(get("/redirect")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 302);
    EXPECT_EQ(r.reason, "Found");
    EXPECT_EQ(r.header("location"), "/elsewhere");
    EXPECT_EQ(r.header("content-length"), "0");
}

TEST(ResponseWriter, ConstantHeadersGoOutAndRuntimeHeadersAfterThemAreStillChecked) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send(get("/constant")));
    HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    EXPECT_EQ(r.header("x-constant"), "yes");
    ASSERT_TRUE(c.send(get("/constant?bad")));
    r = c.read_response();
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.count("x-injected"), 0u);
}

}  // namespace
}  // namespace lake::test
