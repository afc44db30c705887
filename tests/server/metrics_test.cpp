// GET /metrics: the workers' counters summed at scrape time, in the Prometheus text format. The
// values must match the traffic sent: responses by status class and method, bytes both ways,
// errors the server answered itself.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

#include "../../server/metrics_listener.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

// The value of the sample `name` (with its labels, exactly as printed), or -1.
long long sample(const std::string& page, const std::string& name) {
    const std::size_t at = page.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(page.substr(at + name.size() + 2));
}

TEST(Metrics, CountWhatWasSentAndAnswered) {
    RunningServer s;  // two workers
    ASSERT_EQ(s.error(), "");
    std::size_t sent = 0;
    auto exchange = [&](Client& c, const std::string& raw) {
        sent += raw.size();
        EXPECT_TRUE(c.send(raw));
        return c.read_response();
    };
    Client a(s.port());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(exchange(a, get("/plaintext")).status, 200);
    EXPECT_EQ(
        exchange(a, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello").status,
        200);
    EXPECT_EQ(exchange(a, get("/nowhere")).status, 404);
    Client b(s.port());
    EXPECT_EQ(exchange(b, "BROKEN\r\n\r\n").status, 400);

    const std::size_t received = a.bytes_received() + b.bytes_received();
    // A worker counts a send when it sees its completion, which may come just after the client
    // has the bytes: wait until every worker has (the scrape reads each worker's counters).
    for (int i = 0; i < 200 && s.server().counters().sent_bytes.get() < received; ++i)
        ::usleep(10 * 1000);
    Client m(s.port());
    const std::string scrape = get("/metrics");
    sent += scrape.size();
    ASSERT_TRUE(m.send(scrape));
    const HttpResponse r = m.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const std::string& page = r.body;
    EXPECT_EQ(sample(page, "lake_http_requests_total{code=\"2xx\",method=\"GET\"}"), 3) << page;
    EXPECT_EQ(sample(page, "lake_http_requests_total{code=\"2xx\",method=\"POST\"}"), 1);
    EXPECT_EQ(sample(page, "lake_http_requests_total{code=\"4xx\",method=\"GET\"}"), 1);
    EXPECT_EQ(sample(page, "lake_http_requests_total{code=\"4xx\",method=\"other\"}"), 1);
    EXPECT_EQ(sample(page, "lake_parse_errors_total{code=\"400\"}"), 1);
    EXPECT_EQ(sample(page, "lake_http_request_duration_seconds_count"), 6);
    EXPECT_EQ(sample(page, "lake_http_request_duration_seconds_bucket{le=\"+Inf\"}"), 6);
    EXPECT_EQ(sample(page, "lake_http_received_bytes_total"), static_cast<long long>(sent));
    EXPECT_EQ(sample(page, "lake_http_sent_bytes_total"), static_cast<long long>(received));
    EXPECT_EQ(sample(page, "lake_connections_accepted_total"), 3);
    for (const char* family :
         {"lake_connections_open", "lake_connections_refused_total", "lake_connections_moved_total",
          "lake_timeouts_total{kind=\"header\"}",
          "lake_timeouts_total{kind=\"large_buffer_wait_under_pressure\"}",
          "lake_recv_pauses_total", "lake_enobufs_total", "lake_arena_bytes_in_use{worker=\"0\"}",
          "lake_file_sends_total{how=\"sendfile\"}", "lake_file_sends_total{how=\"not_cached\"}",
          "lake_arena_high_water_bytes{worker=\"1\"}", "lake_large_buffers_in_use"})
        EXPECT_GE(sample(page, family), 0) << family << " missing";
    // Every sample line belongs to a family announced by # TYPE.
    EXPECT_TRUE(std::regex_search(page, std::regex("# TYPE lake_http_request_duration_seconds "
                                                   "histogram\n")));
}

TEST(Metrics, ThePageCanBeMovedOrTurnedOff) {
    config::ServerConfig c = test_config();
    c.metrics_path = "/internal/metrics";
    RunningServer moved(c);
    ASSERT_EQ(moved.error(), "");
    Client a(moved.port());
    ASSERT_TRUE(a.send(get("/internal/metrics")));
    EXPECT_EQ(a.read_response().status, 200);
    c.metrics_listen = "127.0.0.1:0";  // an address of its own: not on the public port
    RunningServer own(c);
    ASSERT_EQ(own.error(), "");
    ASSERT_NE(own.server().metrics_port(), 0);
    Client pub(own.port());
    ASSERT_TRUE(pub.send(get("/internal/metrics")));
    EXPECT_EQ(pub.read_response().status, 404);
    Client scraper(own.server().metrics_port());
    ASSERT_TRUE(scraper.send(get("/internal/metrics")));
    const HttpResponse page = scraper.read_response();
    EXPECT_EQ(page.status, 200);
    // The public port's 404 is counted; the scrape itself is not a request of the workers.
    EXPECT_NE(page.body.find("\nlake_http_requests_total{code=\"4xx\",method=\"GET\"} 1\n"),
              std::string::npos)
        << page.body;
    c.metrics_listen = "";
    c.metrics_path = "";
    RunningServer off(c);
    ASSERT_EQ(off.error(), "");
    Client b(off.port());
    ASSERT_TRUE(b.send(get("/metrics")));
    EXPECT_EQ(b.read_response().status, 404);
}

// On an address of its own the page answers as on the public port: HEAD has the GET's
// Content-Length and no body, another method is 405 with Allow, another path 404.
TEST(Metrics, TheOwnAddressAnswersHeadAndOtherMethodsAsThePublicPortDoes) {
    config::ServerConfig c = test_config();
    c.metrics_listen = "127.0.0.1:0";
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    const std::uint16_t port = s.server().metrics_port();
    ASSERT_NE(port, 0);
    Client head(port);
    ASSERT_TRUE(head.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    const HttpResponse h = head.read_response(true);
    EXPECT_EQ(h.status, 200);
    EXPECT_GT(std::stoul("0" + h.header("content-length")), 1000u);
    EXPECT_EQ(head.read_all(), "");  // no body: the connection just closes
    Client post(port);
    ASSERT_TRUE(post.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    const HttpResponse p = post.read_response();
    EXPECT_EQ(p.status, 405);
    EXPECT_EQ(p.header("allow"), "GET, HEAD");
    Client other(port);
    ASSERT_TRUE(other.send(get("/elsewhere")));
    EXPECT_EQ(other.read_response().status, 404);
}

// The listener of its own serves one client at a time: a client that trickles its request (a
// byte at a time, each before the last one's wait ran out) is cut off at the exchange's deadline,
// and a scraper behind it is answered then (it held the listener, and the server's shutdown,
// for as long as it kept trickling).
TEST(Metrics, AClientOfTheOwnAddressIsCutOffAtTheExchangesDeadline) {
    config::ServerConfig c = test_config();
    c.metrics_listen = "127.0.0.1:0";
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    const std::uint16_t port = s.server().metrics_port();
    ASSERT_NE(port, 0);
    Client trickler(port, 100);
    ASSERT_TRUE(trickler.connected());
    const auto start = std::chrono::steady_clock::now();
    const auto limit = server::MetricsListener::kExchange + std::chrono::seconds(3);
    bool cut_off = false;
    const std::string request = get("/metrics");
    for (std::size_t i = 0; !cut_off && std::chrono::steady_clock::now() - start < limit; ++i) {
        if (!trickler.send(std::string_view(request).substr(i % 4, 1)))  // "GET " over and over
            cut_off = true;
        else
            cut_off = trickler.closed_by_server();  // waits 100 ms for the close
    }
    EXPECT_TRUE(cut_off) << "a trickling client still held the metrics listener after "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()
                         << " ms";
    Client scraper(port);
    ASSERT_TRUE(scraper.send(request));
    EXPECT_EQ(scraper.read_response().status, 200);
}

// A client of the own address that asks for the page and then does not read it (a page larger
// than the socket buffers hold) is cut off at the exchange's deadline too: the next scraper is
// served, and the stuck client sees its connection end short of the page.
TEST(Metrics, AClientThatDoesNotReadThePageIsCutOffAtTheDeadline) {
    static const std::string big_page(32u << 20, 'm');
    server::MetricsListener listener;
    ASSERT_EQ(
        listener.start(
            "127.0.0.1:0", "/metrics", [](http::Response& r) { r.text(200, big_page); }, false),
        "");
    const int stuck = raw_socket(listener.port(), 4096);
    ASSERT_GE(stuck, 0);
    ASSERT_TRUE(send_all(stuck, get("/metrics")));
    const auto start = std::chrono::steady_clock::now();
    Client scraper(listener.port(), 10000);  // waits behind the stuck one (one at a time)
    ASSERT_TRUE(scraper.send(get("/metrics")));
    const HttpResponse r = scraper.read_response();
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), big_page.size());
    EXPECT_GE(waited, server::MetricsListener::kExchange - std::chrono::milliseconds(300));
    EXPECT_LT(waited, server::MetricsListener::kExchange + std::chrono::seconds(3));
    std::size_t got = 0;
    char buf[65536];
    for (ssize_t n; (n = ::recv(stuck, buf, sizeof(buf), 0)) > 0;)
        got += static_cast<std::size_t>(n);
    EXPECT_LT(got, big_page.size()) << "the stuck client got the whole page";
    ::close(stuck);
    listener.stop();
}

// Out of descriptors, the listener leaves the client in the backlog and waits instead of spinning
// on accept (poll says "readable" again at once), and serves it once descriptors are free.
TEST(Metrics, TheOwnAddressOutOfDescriptorsWaitsInsteadOfSpinning) {
    server::MetricsListener listener;
    ASSERT_EQ(
        listener.start(
            "127.0.0.1:0", "/metrics", [](http::Response& r) { r.text(200, "page\n"); }, false),
        "");
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // made while there are fds
    ASSERT_GE(c, 0);
    const timeval five_seconds{5, 0};  // a listener that never answers fails the test, no hang
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof(five_seconds));
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    const int probe = ::dup(0);  // the lowest free descriptor: all below it are in use
    ASSERT_GE(probe, 0);
    ::close(probe);
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(probe);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(listener.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected = ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    ::usleep(600 * 1000);  // this thread sleeps: what the process spends, the listener spent
    ::getrusage(RUSAGE_SELF, &after);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    ASSERT_TRUE(connected);
    const auto us = [](const rusage& r) {
        return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000LL + r.ru_utime.tv_usec +
               r.ru_stime.tv_usec;
    };
    EXPECT_LT(us(after) - us(before), 200'000) << "the listener spun on accept while out of fds";
    const std::string request = get("/metrics");
    ASSERT_EQ(::send(c, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string reply;
    char buf[512];
    for (ssize_t n; (n = ::recv(c, buf, sizeof(buf), 0)) > 0;) reply.append(buf, n);
    ::close(c);
    EXPECT_NE(reply.find("\r\n\r\npage\n"), std::string::npos) << reply;
    listener.stop();
}

}  // namespace
}  // namespace lake::test
