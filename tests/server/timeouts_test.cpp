// Timeouts an attacker cannot reset: the header timeout runs from a request's first byte (or
// from the accept), the send timeout from the last send that made progress.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string echo_request(std::size_t size) {
    return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) +
           "\r\n\r\n" + std::string(size, 'e');
}

TEST(Timeouts, AClientThatNeverReadsAndTricklesHeaderBytesIsCutOff) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.header_timeout_s = 2;
    c.send_timeout_s = 2;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    const int fd = raw_socket(s.port(), 4096);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, echo_request(1024 * 1024)));  // its echo will never be read
    // One header byte of a next request every half second, for up to 12 s: every byte used to
    // restart both clocks.
    const auto start = Clock::now();
    const std::string next =
        "GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(64, 's');
    bool cut = false;
    for (std::size_t i = 0; i < next.size() && Clock::now() - start < std::chrono::seconds(12);
         ++i) {
        if (::send(fd, &next[i], 1, MSG_NOSIGNAL) <= 0) {
            cut = true;
            break;
        }
        pollfd p{fd, POLLRDHUP | POLLHUP, 0};
        if (::poll(&p, 1, 500) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0) {
            cut = true;
            break;
        }
    }
    const auto took = Clock::now() - start;
    ::close(fd);
    EXPECT_TRUE(cut);
    EXPECT_LT(took, std::chrono::seconds(9));
}

// The clock counts whole ticks: a request begun just before a tick used to get up to a second
// less than [timeouts] header. Requests begun at five points of a tick each get at least their
// full 2 s, then 408 (within a tick more).
TEST(Timeouts, EveryRequestGetsAtLeastItsFullHeaderTime) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.header_timeout_s = 2;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<Clock::time_point> began;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(std::make_unique<Client>(s.port(), 5000));
        ASSERT_TRUE(clients.back()->send("GET /plaintext HTTP/1.1\r\nHost: t\r\n"));
        began.push_back(Clock::now());
        ::usleep(200 * 1000);
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const HttpResponse r = clients[i]->read_response();
        const auto waited = Clock::now() - began[i];
        EXPECT_EQ(r.status, 408) << i;
        EXPECT_GE(waited, std::chrono::milliseconds(1950)) << i;
        EXPECT_LT(waited, std::chrono::milliseconds(4900)) << i;  // not waiting for ever
    }
}

// A body its handler gets whole had to be in within [timeouts] header: a slow uploader of a body
// it was allowed to send got 408 however steadily it sent. Now each body_min_rate bytes received
// add a second: one that keeps the rate is served, one below it is still cut soon after.
TEST(Timeouts, ABodyThatKeepsTheMinimumRateOutlivesTheHeaderTimeout) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.header_timeout_s = 1;
    c.body_min_rate = 1000;  // bytes a second
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    const std::string head = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n";
    Client steady(s.port(), 5000), trickle(s.port(), 5000);
    ASSERT_TRUE(steady.send(head));
    ASSERT_TRUE(trickle.send(head));
    const auto start = Clock::now();
    for (int step = 0; step < 5; ++step) {  // 2.5 s: 1,200 bytes a second, and 200
        ::usleep(500 * 1000);
        ASSERT_TRUE(steady.send(std::string(600, 's')));
        (void)trickle.send(std::string(100, 't'));  // may meet its 408 and a closed socket
    }
    const HttpResponse served = steady.read_response();
    EXPECT_EQ(served.status, 200);
    EXPECT_TRUE(served.body == std::string(3000, 's')) << served.body.size();
    EXPECT_GT(Clock::now() - start, std::chrono::seconds(2));  // well past the header timeout
    const HttpResponse cut = trickle.read_response();
    EXPECT_EQ(cut.status, 408);
    EXPECT_TRUE(trickle.closed_by_server());
}

TEST(Timeouts, AConnectionThatNeverSendsAByteIsClosedAfterTheHeaderTimeout) {
    config::ServerConfig c = test_config();
    c.header_timeout_s = 1;
    c.keepalive_timeout_s = 60;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    Client silent(s.port(), 5000);
    ASSERT_TRUE(silent.connected());
    EXPECT_TRUE(silent.closed_by_server());  // within the client's 5 s wait, not after 60 s
    // A connection that did send its request keeps the keep-alive timeout.
    Client served(s.port(), 2500);
    ASSERT_TRUE(served.send(get("/plaintext")));
    EXPECT_EQ(served.read_response().status, 200);
    EXPECT_FALSE(served.closed_by_server());
}

// Sends a `size`-byte echo request and reads the answer, pausing `pause_us` after every 4 KiB
// (through a 4 KiB window). Returns whether it arrived whole; `took` is how long it took.
bool echo_read(std::uint16_t port, std::size_t size, int pause_us, Clock::duration& took) {
    const int fd = raw_socket(port, 4096);
    if (fd < 0) return false;
    std::thread writer([&] { send_all(fd, echo_request(size)); });
    std::string got;
    char buf[4096];
    const auto start = Clock::now();
    std::size_t want = std::string::npos;
    while (got.size() < want) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        if (want == std::string::npos && got.find("\r\n\r\n") != std::string::npos)
            want = got.find("\r\n\r\n") + 4 + size;
        if (pause_us > 0) ::usleep(static_cast<unsigned>(pause_us));
    }
    took = Clock::now() - start;
    writer.join();
    ::close(fd);
    return got.size() == want;
}

TEST(Timeouts, ASlowReaderThatKeepsReadingOutlivesTheSendTimeout) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.send_timeout_s = 1;
    c.max_body = 8 * 1024 * 1024;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    // Reads an 8 MiB echo at about 2 MB/s: the send that holds what the kernel's socket buffer
    // (at most 4 MiB) cannot take stays in flight longer than the send timeout, but the peer
    // keeps acknowledging bytes.
    Clock::duration took{};
    EXPECT_TRUE(echo_read(s.port(), 8 * 1024 * 1024, 2000, took));
    EXPECT_GT(took, std::chrono::seconds(2));  // it did outlast the timeout
}

// The progress seen on a connection slot is forgotten when the slot takes a new socket: a slow
// reader that follows a faster one on the same slot is not judged by the old socket's count.
TEST(Timeouts, ASlowReaderOnAReusedSlotStillOutlivesTheSendTimeout) {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.max_connections_per_worker = 1;  // every connection reuses the one slot
    c.max_body = 16 * 1024 * 1024;
    c.send_timeout_s = 1;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    Clock::duration took{};
    // First a reader fast enough to pass the send deadlines (each one records how much its
    // peer acknowledged: up to 16 MiB), then a slower one on the same slot.
    ASSERT_TRUE(echo_read(s.port(), 16 * 1024 * 1024, 500, took));
    ::usleep(100000);  // the slot is free again
    EXPECT_TRUE(echo_read(s.port(), 8 * 1024 * 1024, 2000, took));
    EXPECT_GT(took, std::chrono::seconds(2));
}

// True once the peer closed: everything it sent read (a 408 maybe), then EOF or a reset.
bool closed_by_peer(int fd) {
    char buf[512];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

// Hundreds of slowloris sockets (a header byte every half second) and hundreds that never send
// anything: everyone else keeps being served, and each of them is closed once its request's
// absolute header time is up.
TEST(Timeouts, SlowlorisAndIdleSocketsByTheHundredDoNotStopTheOthers) {
    config::ServerConfig c = test_config();
    c.header_timeout_s = 2;
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    std::vector<int> slow, idle;
    for (int i = 0; i < 200; ++i) {
        for (std::vector<int>* group : {&slow, &idle}) {
            const int fd = raw_socket(s.port());
            ASSERT_GE(fd, 0);
            group->push_back(fd);
        }
    }
    const std::string trickle =
        "GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(40, 's');
    int served = 0, slowest_ms = 0;
    const auto start = Clock::now();
    for (std::size_t step = 0; Clock::now() - start < std::chrono::milliseconds(4500); ++step) {
        for (int fd : slow) (void)::send(fd, &trickle[step % trickle.size()], 1, MSG_NOSIGNAL);
        const auto t0 = Clock::now();
        Client normal(s.port(), 3000);
        if (normal.send(get("/plaintext")) && normal.read_response().status == 200) ++served;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
        slowest_ms = std::max(slowest_ms, static_cast<int>(ms.count()));
        ::usleep(500000);
    }
    int slow_closed = 0, idle_closed = 0;
    for (int fd : slow) slow_closed += closed_by_peer(fd);
    for (int fd : idle) idle_closed += closed_by_peer(fd);
    for (int fd : slow) ::close(fd);
    for (int fd : idle) ::close(fd);
    EXPECT_GE(served, 8);
    EXPECT_LT(slowest_ms, 1000);
    EXPECT_EQ(slow_closed, 200);
    EXPECT_EQ(idle_closed, 200);
}

}  // namespace
}  // namespace lake::test
