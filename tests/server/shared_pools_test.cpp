// A worker's shared pools — its large buffers and its receive-buffer ring — under clients that
// try to hold them: no client (or a few) may take a pool from everyone else, and a body that
// finds the large buffers busy waits briefly for one instead of failing at once.
// Loopback addresses other than 127.0.0.1 stand for other clients.
#include <unistd.h>

#include <memory>
#include <vector>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

std::string post_head(std::size_t length) {
    return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
           "\r\n\r\n";
}

// Sends what the socket takes now, without waiting (a client that never reads its responses
// would block forever in a blocking send).
void send_what_fits(const Client& c, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n =
            ::send(c.fd(), data.data() + off, data.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
    }
}

// Four connections from one address start 1 MiB bodies and stall; with a share of 2, they hold
// 2 of the 4 large buffers, and a body from another address is served at once, while they still
// hold theirs (their 408 comes only after two slow seconds).
TEST(SharedPools, OneClientHoldsAtMostItsShareOfTheLargeBuffers) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.large_buffers_per_worker = 4;
    c.large_buffers_per_client = 2;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    std::vector<std::unique_ptr<Client>> squatters;
    for (int i = 0; i < 4; ++i) {
        squatters.push_back(std::make_unique<Client>(s.port(), 8000, "127.0.0.1"));
        ASSERT_TRUE(squatters.back()->send(post_head(1 << 20) + std::string(64 * 1024, 's')));
    }
    ::usleep(100000);
    const std::string body(200 * 1024, 'q');  // bigger than the request view
    Client other(s.port(), 8000, "127.0.0.2");
    ASSERT_TRUE(other.send(post_head(body.size()) + body));
    const HttpResponse r = other.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), body.size());
    for (auto& q : squatters) EXPECT_FALSE(q->readable_now()) << "a squatter was answered first";
}

// With one large buffer, held for a moment by a body still arriving, a second large body waits
// for it and is served, instead of getting 503 at once.
TEST(SharedPools, ABodyWaitsBrieflyForABusyLargeBuffer) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.large_buffers_per_worker = 1;
    c.large_buffers_per_client = 0;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    const std::string first(300 * 1024, 'a');
    Client holder(s.port());
    ASSERT_TRUE(holder.send(post_head(first.size()) + first.substr(0, 100 * 1024)));
    ::usleep(100000);
    const std::string second(200 * 1024, 'b');
    Client waiter(s.port());
    ASSERT_TRUE(waiter.send(post_head(second.size()) + second));
    ::usleep(500000);
    ASSERT_TRUE(holder.send(first.substr(100 * 1024)));
    const HttpResponse h = holder.read_response();
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, first);
    const HttpResponse w = waiter.read_response();
    EXPECT_EQ(w.status, 200);
    EXPECT_EQ(w.body, second);
}

// A body that keeps its large buffer by arriving fast enough, but never ends, makes the next
// large body wait only a few seconds: then it is answered 503 and closed.
TEST(SharedPools, AWaitForALargeBufferThatNeverFreesEndsIn503) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.large_buffers_per_worker = 1;
    c.large_buffers_per_client = 0;
    c.header_timeout_s = 60;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    Client holder(s.port());
    ASSERT_TRUE(holder.send(post_head(1 << 20) + std::string(64 * 1024, 'h')));
    ::usleep(100000);
    Client waiter(s.port(), 10000);
    const std::string body(200 * 1024, 'w');
    ASSERT_TRUE(waiter.send(post_head(body.size()) + body));
    // 32 KiB every 0.5 s: above the 16 KiB/s a held large buffer needs, for 5 s.
    for (int i = 0; i < 10 && !waiter.readable_now(); ++i) {
        ASSERT_TRUE(holder.send(std::string(32 * 1024, 'h')));
        ::usleep(500000);
    }
    const HttpResponse w = waiter.read_response();
    EXPECT_EQ(w.status, 503);
    EXPECT_TRUE(waiter.closed_by_server());
    EXPECT_FALSE(holder.readable_now()) << "the holder was cut off, not the waiter";
    s.server().stop();
    const server::WorkerCounters counters = s.server().counters();
    EXPECT_EQ(counters.timeouts[static_cast<int>(server::TimeoutKind::LargeBufferWait)].get(), 1u);
    EXPECT_EQ(counters.timeouts[static_cast<int>(server::TimeoutKind::LargeBufferWaitUnderPressure)]
                  .get(),
              0u);  // the ring was never dry
}

// Clients that pipeline requests and never read their responses stop being read (back-pressure)
// holding at most a sixteenth of the receive ring each; a normal client is still served,
// instead of meeting an empty ring until the holders' send timeout.
TEST(SharedPools, ClientsThatNeverReadCannotStarveTheReceiveRing) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.recv_buffers = 64;
    c.recv_buffer_size = 2048;
    c.send_timeout_s = 60;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    std::string flood;
    while (flood.size() < 4 << 20) flood += get("/plaintext");
    std::vector<std::unique_ptr<Client>> holders;
    for (int i = 0; i < 12; ++i) {
        holders.push_back(std::make_unique<Client>(s.port()));
        send_what_fits(*holders.back(), flood);
    }
    ::usleep(300000);
    for (int i = 0; i < 3; ++i) {
        Client normal(s.port(), 3000);
        ASSERT_TRUE(normal.send(get("/plaintext")));
        EXPECT_EQ(normal.read_response().status, 200) << "round " << i;
    }
}

}  // namespace
}  // namespace lake::test
