// Every error status the engine answers, and that the connection closes after it.
#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Errors = ServerTest;

// Sends `raw`, expects `status`, and expects the server to close the connection afterwards.
void expect_error_and_close(std::uint16_t port, const std::string& raw, int status) {
    Client c(port);
    ASSERT_TRUE(c.send(raw));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, status) << raw.substr(0, 200);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_EQ(r.header("server"), "lake");
    EXPECT_FALSE(r.header("date").empty());
    EXPECT_TRUE(c.closed_by_server()) << raw.substr(0, 200);
}

TEST_F(Errors, MalformedRequestLineIs400) {
    expect_error_and_close(port(), "GARBAGE\r\n\r\n", 400);
    expect_error_and_close(port(), "GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400);
}

TEST_F(Errors, MissingHostOnHttp11Is400) {
    expect_error_and_close(port(), "GET /plaintext HTTP/1.1\r\n\r\n", 400);
}

TEST_F(Errors, TwoHostHeadersAre400) {
    expect_error_and_close(port(), get("/plaintext", "Host: other\r\n"), 400);
}

TEST_F(Errors, InvalidHostIs400) {
    expect_error_and_close(port(), "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    expect_error_and_close(port(), "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    // Bytes a host may hold, in an order the grammar does not allow (uri-host [ ":" port ]):
    // each was accepted while only the bytes were checked.
    for (const char* host : {"x:abc", "x:80:81", "::1", "[::1", "::1]", "[::1]x", "[::1]:8a", "[]",
                             "a[b]", "x%zz", "x%4", "[fe80::1%25eth0]"}) {
        expect_error_and_close(
            port(), "GET /plaintext HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n", 400);
        expect_error_and_close(
            port(), "GET http://" + std::string(host) + "/plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
            400);
    }
    // And what it allows: a port of digits (or none after the colon), an IPv6 or IPvFuture
    // literal, escapes, sub-delims, an empty host.
    for (const char* host : {"example.com:8080", "[::1]:8080", "[::ffff:127.0.0.1]", "[v1.x:y]",
                             "x%41y", "a!$&'()*+,;=b", "127.0.0.1:", ""}) {
        Client c(port());
        ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"));
        EXPECT_EQ(c.read_response().status, 200) << host;
    }
}

TEST_F(Errors, SpaceBeforeColonIs400) {
    expect_error_and_close(port(), "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400);
    expect_error_and_close(port(),
                           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n"
                           "0\r\n\r\n",
                           400);
}

TEST_F(Errors, ObsoleteLineFoldingIs400) {
    expect_error_and_close(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400);
    expect_error_and_close(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\nX:\r\n\tb\r\n\r\n", 400);
}

TEST_F(Errors, ObsoleteLineFoldingSplitAcrossWritesIs400) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: t\r\nX: a\r\n"));
    ::usleep(20000);
    ASSERT_TRUE(c.send(" b\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 400);
}

// Trailer fields come after the body, where the strict head scan no longer looks: the parser's
// own check answers a fold there.
TEST_F(Errors, ObsoleteLineFoldingInTrailerFieldsIs400) {
    expect_error_and_close(port(),
                           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n",
                           400);
}

TEST_F(Errors, ContentLengthWithTransferEncodingIs400) {
    expect_error_and_close(port(),
                           "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           400);
}

TEST_F(Errors, DuplicateOrBadContentLengthIs400) {
    expect_error_and_close(port(),
                           "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                           "Content-Length: 2\r\n\r\nab",
                           400);
    expect_error_and_close(port(), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
                           400);
}

TEST_F(Errors, ChunkedNotLastIs400) {
    expect_error_and_close(
        port(), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
}

TEST_F(Errors, TransferEncodingInHttp10Is400) {
    expect_error_and_close(
        port(), "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
}

TEST_F(Errors, UnsupportedTransferCodingIs501) {
    expect_error_and_close(
        port(),
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "0\r\n\r\n",
        501);
}

TEST_F(Errors, BadChunkSizeIs400) {
    expect_error_and_close(port(),
                           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "zz\r\nabc\r\n0\r\n\r\n",
                           400);
}

TEST_F(Errors, BodyOverTheLimitIs413) {
    expect_error_and_close(
        port(), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n", 413);
}

TEST_F(Errors, ChunkedBodyOverTheLimitIs413) {
    Client c(port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    for (int i = 0; i < 17 && c.send(chunk); ++i) {
    }  // 17 x 64 KiB > 1 MiB
    EXPECT_EQ(c.read_response().status, 413);
}

TEST_F(Errors, LongTargetIs414) {
    expect_error_and_close(port(), get("/" + std::string(9000, 'a')), 414);
}

TEST_F(Errors, LargeHeaderSectionIs431) {
    expect_error_and_close(port(), get("/plaintext", "X-Big: " + std::string(17000, 'b') + "\r\n"),
                           431);
}

TEST_F(Errors, TooManyHeadersIs431) {
    std::string extra;
    for (int i = 0; i < 70; ++i) extra += "X-" + std::to_string(i) + ": v\r\n";
    expect_error_and_close(port(), get("/plaintext", extra), 431);
}

TEST_F(Errors, AnotherMajorVersionIs505) {
    expect_error_and_close(port(), "GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    expect_error_and_close(port(), "GET /plaintext HTTP/3.1\r\nHost: t\r\n\r\n", 505);
    expect_error_and_close(port(), "GET /plaintext HTTP/0.5\r\nHost: t\r\n\r\n", 505);
    expect_error_and_close(port(), "GET /\r\n\r\n", 505);  // an HTTP/0.9 simple-request
    // Not a version at all: malformed.
    expect_error_and_close(port(), "GET /plaintext HTTP/1.10\r\nHost: t\r\n\r\n", 400);
    expect_error_and_close(port(), "GET /plaintext HTTP/11.1\r\nHost: t\r\n\r\n", 400);
    expect_error_and_close(port(), "GET /plaintext HTTP/1.x\r\nHost: t\r\n\r\n", 400);
}

// RFC 9110 2.5: a minor version above the one implemented is processed as that one. HTTP/1.2
// is HTTP/1.1: answered in 1.1, kept alive, Host required.
TEST_F(Errors, AHigherMinorVersionIsTakenAsHttp11) {
    Client c(port());
    ASSERT_TRUE(
        c.send("GET /plaintext HTTP/1.2\r\nHost: t\r\n\r\n"
               "GET /json HTTP/1.9\r\nHost: t\r\n\r\n"));
    const HttpResponse first = c.read_response();
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "Hello, World!");
    EXPECT_EQ(first.header("connection"), "");
    const HttpResponse second = c.read_response();
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.header("content-type"), "application/json");
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
    EXPECT_FALSE(c.closed_by_server());
    expect_error_and_close(port(), "GET /plaintext HTTP/1.2\r\n\r\n", 400);  // no Host
}

TEST_F(Errors, UnimplementedMethodIs501) {
    const HttpResponse r = request("PROPFIND /json HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(r.status, 501);
    // Tokens llhttp has never heard of are methods too; garbage is not.
    expect_error_and_close(port(), "QUERY /json HTTP/1.1\r\nHost: t\r\n\r\n", 501);
    expect_error_and_close(port(), "BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501);
    expect_error_and_close(port(), "G(T /json HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    const HttpResponse c =
        request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    EXPECT_EQ(c.status, 501);
}

TEST_F(Errors, UnknownExpectationIs417) {
    expect_error_and_close(
        port(), "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx",
        417);
}

TEST_F(Errors, AsteriskTargetOnlyForOptions) {
    expect_error_and_close(port(), "GET * HTTP/1.1\r\nHost: t\r\n\r\n", 400);
}

TEST_F(Errors, FragmentInTargetIs400) {
    expect_error_and_close(port(), get("/plaintext#frag"), 400);
}

TEST_F(Errors, AnUpgradeIsIgnoredAndTheConnectionGoesOnInHttp11) {
    // RFC 9110 §7.8: a server MAY ignore Upgrade and go on in the current protocol. Before,
    // llhttp's stop at an upgrade closed the connection (curl --http2 on http:// asks for h2c each
    // time).
    Client c(port());
    ASSERT_TRUE(c.send(get("/plaintext", "Connection: upgrade\r\nUpgrade: websocket\r\n") +
                       get("/json")));  // one write: the next request follows in the same read
    HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "");
    EXPECT_EQ(r.header("upgrade"), "");
    r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/json");
    // curl's h2c attempt, then the next request in a read of its own.
    ASSERT_TRUE(c.send(get("/plaintext",
                           "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                           "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n")));
    EXPECT_EQ(c.read_response().status, 200);
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    // With a body: it is read as the request's, and what follows is the next request.
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: x\r\n"
               "Content-Length: 3\r\n\r\nabc" +
               get("/plaintext")));
    r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "abc");
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    // Connection: close still closes.
    ASSERT_TRUE(c.send(get("/plaintext", "Connection: upgrade, close\r\nUpgrade: x\r\n")));
    EXPECT_EQ(c.read_response().header("connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(Errors, ClientClosingMidRequestGetsNothingButACleanClose) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n"));
    ::shutdown(c.fd(), SHUT_WR);
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 400);
    // And the server is still serving others.
    EXPECT_EQ(request(get("/plaintext")).status, 200);
}

TEST_F(Errors, RequestsBeforeAHalfCloseAreStillAnswered) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/plaintext") + get("/json")));
    ::shutdown(c.fd(), SHUT_WR);
    EXPECT_EQ(c.read_response().status, 200);
    EXPECT_EQ(c.read_response().status, 200);
    EXPECT_TRUE(c.closed_by_server());
}

}  // namespace
}  // namespace lake::test
