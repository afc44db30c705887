// Request bodies to /echo: Content-Length and chunked, from empty to the 1 MiB limit.
#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Bodies = ServerTest;

class EchoSizes : public ServerTest, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(EchoSizes, ContentLengthBodyComesBackVerbatim) {
    const std::string body = pattern(GetParam());
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-test\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/x-test");
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body);
    // The connection stays usable after a large body.
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
}

TEST_P(EchoSizes, ChunkedBodyComesBackVerbatim) {
    const std::string body = pattern(GetParam());
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" +
               chunked(body, 1000)));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(body.size()));
    EXPECT_TRUE(r.body == body);
}

INSTANTIATE_TEST_SUITE_P(Sizes, EchoSizes, ::testing::Values(0, 1, 64 * 1024, 1024 * 1024),
                         [](const auto& info) { return std::to_string(info.param) + "B"; });

TEST_F(Bodies, EchoWithoutContentTypeSendsNone) {
    const HttpResponse r = request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.count("content-type"), 0u);
    EXPECT_EQ(r.body, "hi");
}

TEST_F(Bodies, ExpectContinueGetsA100BeforeTheBody) {
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
               "Expect: 100-continue\r\n\r\n"));
    const HttpResponse interim = c.read_response();
    EXPECT_EQ(interim.status, 100);
    ASSERT_TRUE(c.send("ping"));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ping");
}

TEST_F(Bodies, ExpectContinueOverTheLimitGets413Instead) {
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n"
               "Expect: 100-continue\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 413);
}

TEST_F(Bodies, ChunkExtensionsAndTrailersAreAccepted) {
    const HttpResponse r = request(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;name=value\r\nabc\r\n0\r\nX-Trailer: yes\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "abc");
}

// Trailer fields are checked like header fields and share their limits (max_headers is 64 here):
// a Host among them is a second Host, and header and trailer fields past 64 in all are 431.
TEST_F(Bodies, TrailerFieldsAreCheckedLikeHeaderFieldsAndShareTheirLimits) {
    const std::string head =
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";
    EXPECT_EQ(request(head + "Host: other\r\n\r\n").status, 400);
    const auto trailers = [](int n) {
        std::string t;
        for (int i = 0; i < n; ++i) t += "X-T" + std::to_string(i) + ": v\r\n";
        return t + "\r\n";
    };
    const HttpResponse within = request(head + trailers(62));  // 2 header fields + 62
    EXPECT_EQ(within.status, 200);
    EXPECT_EQ(within.body, "abc");
    EXPECT_EQ(request(head + trailers(63)).status, 431);
}

TEST_F(Bodies, ManyLargeBodiesInParallelShareTheLargeBuffers) {
    // Each worker lends 4 large buffers; 12 connections with 200 KiB bodies each must all be
    // answered (200, or 503 once none is free), never hang or mix bodies.
    const std::string body = pattern(200 * 1024);
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 12; ++i) {
        clients.push_back(std::make_unique<Client>(port()));
        ASSERT_TRUE(clients.back()->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body));
    }
    int ok = 0;
    for (auto& c : clients) {
        const HttpResponse r = c->read_response();
        ASSERT_TRUE(r.status == 200 || r.status == 503) << r.status;
        if (r.status == 200) {
            EXPECT_TRUE(r.body == body);
            ++ok;
        }
    }
    EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace lake::test
