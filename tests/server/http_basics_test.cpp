// Built-in handlers, routing and HTTP/1.1 connection management, over real sockets.
#include <regex>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Basics = ServerTest;

TEST_F(Basics, PlaintextIsTechEmpowerShaped) {
    const HttpResponse r = request(get("/plaintext"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello, World!");
    EXPECT_EQ(r.header("content-type"), "text/plain");
    EXPECT_EQ(r.header("content-length"), "13");
    EXPECT_EQ(r.header("server"), "lake");
    EXPECT_TRUE(std::regex_match(
        r.header("date"),
        std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")))
        << r.header("date");
}

TEST_F(Basics, JsonIsSerializedPerRequest) {
    const HttpResponse r = request(get("/json"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"message":"Hello, World!"})");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("content-length"), "27");
}

TEST_F(Basics, HeadHasGetHeadersAndNoBody) {
    Client c(port());
    ASSERT_TRUE(c.send("HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n" + get("/plaintext")));
    const HttpResponse head = c.read_response(true);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), "27");
    // No body bytes may follow: the next response must start right away.
    const HttpResponse next = c.read_response();
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body, "Hello, World!");
}

TEST_F(Basics, UnknownPathIs404) {
    EXPECT_EQ(request(get("/nope")).status, 404);
    EXPECT_EQ(request(get("/plaintext/")).status, 404);  // exact match only
}

TEST_F(Basics, KnownPathWrongMethodIs405WithAllow) {
    const HttpResponse r = request("DELETE /json HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS");
    const HttpResponse e = request(get("/echo"));
    EXPECT_EQ(e.status, 405);
    EXPECT_EQ(e.header("allow"), "POST, OPTIONS");
}

TEST_F(Basics, OptionsListsTheAllowedMethods) {
    const HttpResponse r = request("OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.header("allow"), "POST, OPTIONS");
    EXPECT_EQ(r.count("content-length"), 0u);  // never on 204
    const HttpResponse star = request("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(star.status, 204);
}

TEST_F(Basics, QueryStringDoesNotChangeTheRoute) {
    EXPECT_EQ(request(get("/plaintext?x=1&y=2")).status, 200);
}

TEST_F(Basics, AbsoluteFormTargetIsAccepted) {
    EXPECT_EQ(request("GET http://example.com/json HTTP/1.1\r\nHost: example.com\r\n\r\n").status,
              200);
}

TEST_F(Basics, KeepAliveReusesTheConnection) {
    Client c(port());
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.send(get("/plaintext")));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.count("connection"), 0u);  // HTTP/1.1: keep-alive is the default
    }
}

TEST_F(Basics, ConnectionCloseIsHonoured) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/plaintext", "Connection: close\r\n")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(Basics, Http10ClosesByDefault) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.0\r\n\r\n"));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
}

// A client that asked for the close and sent nothing more is closed as soon as its answer is
// out, without waiting for its FIN (the linger, 2 s, is for clients with input still unread).
TEST_F(Basics, AClientThatAskedToCloseIsClosedAtOnce) {
    for (const std::string& raw : {get("/plaintext", "Connection: close\r\n"),
                                   std::string("GET /plaintext HTTP/1.0\r\n\r\n")}) {
        Client c(port(), 1000);  // closed_by_server() waits at most this long
        ASSERT_TRUE(c.send(raw));
        EXPECT_EQ(c.read_response().status, 200);
        EXPECT_TRUE(c.closed_by_server()) << raw;
    }
}

// Input after a request that asked for the close is not answered, and does not turn the answer
// into a reset: the connection lingers, reading, before it closes.
TEST_F(Basics, InputAfterAClosingRequestDoesNotCostItsAnswer) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/json", "Connection: close\r\n") + get("/plaintext") +
                       std::string(100000, 'x')));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"message":"Hello, World!"})");
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(Basics, Http10KeepAliveWhenAsked) {
    Client c(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(r.header("connection"), "keep-alive");
    }
}

// RFC 9112 §9.3: the "close" option ends the connection whatever else is asked, in a list or on
// another Connection line, in HTTP/1.1 and in HTTP/1.0 (where llhttp reads "keep-alive" alone).
TEST_F(Basics, CloseWinsOverKeepAliveOnAnyConnectionLine) {
    for (const char* head : {
             "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nConnection: "
             "close\r\n\r\n",
             "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: foo, close\r\n\r\n",
             "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
             "GET /plaintext HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
             "GET /plaintext HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
         }) {
        Client c(port());
        ASSERT_TRUE(c.send(head));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200) << head;
        EXPECT_EQ(r.header("connection"), "close") << head;
        EXPECT_TRUE(c.closed_by_server()) << head;
    }
}

TEST_F(Basics, ResponsesAreAlwaysHttp11) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.0\r\n\r\n"));
    const std::string raw = c.read_all();
    EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
}

TEST_F(Basics, DateTicksOncePerSecond) {
    const std::string first = request(get("/plaintext")).header("date");
    ::usleep(2100 * 1000);  // the TechEmpower verifier checks that Date changes
    const std::string second = request(get("/plaintext")).header("date");
    EXPECT_NE(first, second);
}

TEST_F(Basics, ManyHeadersWithinLimitsAreFine) {
    std::string extra;
    for (int i = 0; i < 50; ++i)
        extra += "X-H" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
    EXPECT_EQ(request(get("/plaintext", extra)).status, 200);
}

}  // namespace
}  // namespace lake::test
