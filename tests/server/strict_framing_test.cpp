// The framing rules an Internet-facing server must hold stricter than RFC 9112 allows a
// recipient to be: each leniency here is where a front proxy and lake-server could frame one
// byte stream differently (request smuggling). Each malformed head is answered 400 and closed.
#include <unistd.h>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

using StrictFraming = ServerTest;

void expect_400_and_close(std::uint16_t port, const std::string& raw) {
    Client c(port);
    ASSERT_TRUE(c.send(raw));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 400) << raw.substr(0, 120);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.closed_by_server()) << raw.substr(0, 120);
}

// The same bytes, one write per byte: the rules hold across reads.
void expect_400_byte_by_byte(std::uint16_t port, const std::string& raw) {
    Client c(port);
    for (char ch : raw) {
        if (!c.send(std::string_view(&ch, 1))) break;  // closed early: fine
        ::usleep(200);
    }
    EXPECT_EQ(c.read_response().status, 400) << raw.substr(0, 120);
}

TEST_F(StrictFraming, EmptyFieldNameIs400) {
    expect_400_and_close(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n");
    expect_400_byte_by_byte(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n");
}

TEST_F(StrictFraming, BareLfAfterTheRequestLineIs400) {
    expect_400_and_close(port(), "GET /plaintext HTTP/1.1\nHost: t\r\n\r\n");
    expect_400_byte_by_byte(port(), "GET /plaintext HTTP/1.1\nHost: t\r\n\r\n");
}

TEST_F(StrictFraming, BareLfEndingAFieldLineOrTheHeadIs400) {
    expect_400_and_close(port(), "GET /plaintext HTTP/1.1\r\nHost: t\nX: y\r\n\r\n");
    expect_400_and_close(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\n\n");
    expect_400_byte_by_byte(port(), "GET /plaintext HTTP/1.1\r\nHost: t\r\n\n");
}

// A fragment is the client's own business (RFC 9110 4.2.4): one in a request target is 400,
// in the path or after the query, before or past the first 16 bytes. The '?' splits the path
// from the query wherever it is.
TEST_F(StrictFraming, AFragmentInTheTargetIs400) {
    expect_400_and_close(port(), "GET /plaintext#x HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_400_and_close(port(), "GET /plaintext?a=1#x HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_400_and_close(
        port(), "GET /plaintext?" + std::string(40, 'a') + "#" + " HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_400_and_close(
        port(), "GET /plaintext" + std::string(30, 'b') + "#?" + " HTTP/1.1\r\nHost: t\r\n\r\n");
    Client c(port());
    for (std::size_t k : {0, 1, 5, 6, 20, 40}) {
        ASSERT_TRUE(
            c.send("GET /plaintext?" + std::string(k, 'q') + " HTTP/1.1\r\nHost: t\r\n\r\n"));
        EXPECT_EQ(c.read_response().status, 200) << k;
        ASSERT_TRUE(
            c.send("GET /plaintex?" + std::string(k, 't') + " HTTP/1.1\r\nHost: t\r\n\r\n"));
        EXPECT_EQ(c.read_response().status, 404) << k;
    }
}

TEST_F(StrictFraming, TwoSpacesAfterTheMethodAre400) {
    expect_400_and_close(port(), "GET  /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_400_and_close(port(), "GET /plaintext  HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_400_and_close(port(), "GET\t/plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
}

TEST_F(StrictFraming, ALineThatIsNotARequestLineIs400Not501) {
    expect_400_and_close(port(), "THIS IS NOT HTTP AT ALL\r\n\r\n");
    expect_400_byte_by_byte(port(), "THIS IS NOT HTTP AT ALL\r\n\r\n");
}

TEST_F(StrictFraming, AnUnknownMethodSplitAcrossReadsIsStill501) {
    Client c(port());
    ASSERT_TRUE(c.send("BR"));
    ::usleep(20000);
    ASSERT_TRUE(c.send("EW /pot HTT"));
    ::usleep(20000);
    ASSERT_TRUE(c.send("P/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 501);
}

TEST_F(StrictFraming, WellFormedRequestsStillPassAfterLeadingEmptyLines) {
    Client c(port());
    ASSERT_TRUE(c.send("\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\r\n"));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello, World!");
}

TEST_F(StrictFraming, ChunkExtensionsAreBounded) {
    Client c(port());
    std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;";
    req += std::string(8192, 'x');
    req += "\r\na\r\n0\r\n\r\n";
    ASSERT_TRUE(c.send(req));
    EXPECT_EQ(c.read_response().status, 400);
    // Short ones are accepted and ignored.
    const HttpResponse ok = request(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1;name=value\r\na\r\n2;flag\r\nbc\r\n0\r\n\r\n");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "abc");
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
// llhttp 8.1 refuses quoted-pairs and BWS; lake-server reads chunk lines itself.
TEST_F(StrictFraming, QuotedStringAndBwsChunkExtensionsAreAcceptedAndIgnored) {
    const std::string req =
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;q=\"a;b\\\"c\"\r\nhello\r\n"
        "1 ; a = b ;flag\t;c=\"\"\r\n!\r\n"
        "0 ; last=\"x y\"\r\n\r\n";
    const HttpResponse r = request(req);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello!");
    // The same bytes one at a time: the chunk line is read across reads.
    Client c(port());
    for (char ch : req) {
        ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
        ::usleep(100);
    }
    const HttpResponse split = c.read_response();
    EXPECT_EQ(split.status, 200);
    EXPECT_EQ(split.body, "hello!");
}

TEST_F(StrictFraming, MalformedChunkLinesAre400) {
    const std::string head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const char* line : {
             "5 \r\nhello\r\n0\r\n\r\n",          // blanks not followed by ";"
             "5;\r\nhello\r\n0\r\n\r\n",          // ";" without a name
             "5;a=\r\nhello\r\n0\r\n\r\n",        // "=" without a value
             "5;a=\"open\r\nhello\r\n0\r\n\r\n",  // unterminated quoted string
             "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n",  // bytes after the closing quote
             "5;a b\r\nhello\r\n0\r\n\r\n",       // two names without ";"
             "5\nhello\r\n0\r\n\r\n",             // bare LF ending the chunk line
             "x\r\nhello\r\n0\r\n\r\n",           // no size
             "11111111111111111\r\nx\r\n",        // size over 64 bits
         }) {
        expect_400_and_close(port(), head + line);
    }
    expect_400_byte_by_byte(port(), head + "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n");
}

TEST_F(StrictFraming, TrailerFieldsAfterABodyThatMovedToALargeBufferAreAccepted) {
    // The body outgrows the request view (16 KiB by default) and moves to a large buffer; the
    // trailer fields after it must not be charged for the copy left behind.
    // Small chunks fill the view to within a chunk of its end before the move, so the trailer
    // fields (longer than a chunk) only fit if the copy left behind was given back.
    std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string piece(64, 'p');
    for (int i = 0; i < 1000; ++i) req += "40\r\n" + piece + "\r\n";
    req += "0\r\nX-Checksum: " + std::string(200, 'c') + "\r\nX-Other: " + std::string(200, 'o') +
           "\r\n\r\n";
    const HttpResponse r = request(req);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 1000u * 64u);
}

}  // namespace
}  // namespace lake::test
