// Pipelined requests in one write, and requests that arrive one byte at a time.
#include <thread>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Pipelining = ServerTest;

void expect_pipelined(std::uint16_t port, int depth) {
    Client c(port);
    std::string batch;
    for (int i = 0; i < depth; ++i) batch += get(i % 2 ? "/json" : "/plaintext");
    ASSERT_TRUE(c.send(batch));
    for (int i = 0; i < depth; ++i) {
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << "response " << i;
        ASSERT_EQ(r.body, i % 2 ? R"({"message":"Hello, World!"})" : "Hello, World!") << i;
    }
}

TEST_F(Pipelining, SixteenInOneWrite) { expect_pipelined(port(), 16); }
TEST_F(Pipelining, TwoHundredFiftySixInOneWrite) { expect_pipelined(port(), 256); }
TEST_F(Pipelining, ThousandsOutgrowTheResponseViewAndStillComeBackInOrder) {
    expect_pipelined(port(), 2000);
}

TEST(PipeliningBackPressure, AClientThatDoesNotReadIsPausedWithoutStarvingOthers) {
    // 60,000 pipelined requests (4.2 MB, their answers 7.7 MB: more than the socket buffers
    // hold) from a client that reads nothing for a while: the server must stop reading it
    // (back-pressure) rather than let it hold the buffer ring, keep answering another client,
    // and later deliver every response in order.
    config::ServerConfig c = test_config();
    c.workers = 1;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    Client greedy(s.port(), 20000, nullptr, 4096);
    std::string batch;
    for (int i = 0; i < 60000; ++i) batch += get("/plaintext");
    std::thread writer([&] { EXPECT_TRUE(greedy.send(batch)); });
    ::usleep(200 * 1000);
    Client polite(s.port());
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(polite.send(get("/json")));
        ASSERT_EQ(polite.read_response().status, 200) << i;
    }
    for (int i = 0; i < 60000; ++i) {
        const HttpResponse r = greedy.read_response();
        ASSERT_EQ(r.status, 200) << "response " << i;
        ASSERT_EQ(r.body, "Hello, World!");
    }
    writer.join();
    s.server().stop();
    EXPECT_GT(s.server().counters().recv_pauses, 0u);  // the pause really happened
    EXPECT_EQ(s.server().counters().enobufs, 0u);      // and the ring never ran dry
}

TEST_F(Pipelining, MixedWithBodiesAndErrorsStopsAtTheError) {
    Client c(port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
                       get("/plaintext") + "BROKEN\r\n\r\n" + get("/plaintext")));
    EXPECT_EQ(c.read_response().body, "abc");
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    EXPECT_EQ(c.read_response().status, 400);
    EXPECT_TRUE(c.closed_by_server());  // nothing after a framing error is answered
}

TEST_F(Pipelining, OneByteAtATime) {
    Client c(port());
    const std::string req =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/x\r\nContent-Length: 5\r\n\r\nhello";
    for (char ch : req) {
        ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
        ::usleep(200);
    }
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.header("content-type"), "text/x");
}

TEST_F(Pipelining, HeadersSplitAcrossManyWrites) {
    Client c(port());
    const std::string req = get("/json", "X-Long: " + std::string(6000, 'a') + "\r\n");
    for (std::size_t i = 0; i < req.size(); i += 777) {
        ASSERT_TRUE(c.send(std::string_view(req).substr(i, 777)));
        ::usleep(500);
    }
    EXPECT_EQ(c.read_response().status, 200);
}

}  // namespace
}  // namespace lake::test
