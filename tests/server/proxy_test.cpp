// The reverse proxy ([[proxy]]), over real sockets: to a second lake-server and to a scripted
// upstream (tests/server/scripted_upstream.hpp) that shows what the proxy sent and answers what
// each test needs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "../../proxy/forwarded_request.hpp"
#include "scripted_upstream.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Clock = std::chrono::steady_clock;

config::ServerConfig::ProxyMount mount(std::vector<std::string> upstreams,
                                       bool strip_prefix = true) {
    config::ServerConfig::ProxyMount m;
    m.prefix = "/api";
    m.upstreams = std::move(upstreams);
    m.strip_prefix = strip_prefix;
    m.read_timeout_s = 1;
    m.connect_timeout_s = 1;
    return m;
}

config::ServerConfig proxy_config(config::ServerConfig::ProxyMount m) {
    config::ServerConfig c = test_config();
    c.proxy_mounts.push_back(std::move(m));
    return c;
}

// A port nothing listens on: connecting is refused.
std::string refused_address() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

std::string metric_line(std::uint16_t port, const std::string& starts_with) {
    Client c(port);
    c.send(get("/metrics"));
    const std::string page = c.read_response().body;
    const std::size_t at = page.find(starts_with);
    if (at == std::string::npos) return {};
    return page.substr(at, page.find('\n', at) - at);
}

std::uint64_t metric_value(std::uint16_t port, const std::string& series) {
    const std::string line = metric_line(port, series + " ");
    return line.empty() ? ~0ull : std::stoull(line.substr(series.size() + 1));
}

std::string header_of(const std::string& head, const std::string& name) {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "(absent)";
    std::size_t v = at + 3 + name.size();
    while (head[v] == ' ') ++v;
    return head.substr(v, head.find("\r\n", v) - v);
}

std::string post(std::string_view path, std::string_view body, std::string_view extra = "") {
    return "POST " + std::string(path) +
           " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra) + "\r\n" + std::string(body);
}

class ToLakeUpstream : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        config::ServerConfig up = test_config();
        up.max_body = 4 << 20;
        up.large_buffers_per_worker = 4;
        upstream_ = new RunningServer(up);
        ASSERT_EQ(upstream_->error(), "");
        proxy_ = new RunningServer(
            proxy_config(mount({"127.0.0.1:" + std::to_string(upstream_->port())})));
        ASSERT_EQ(proxy_->error(), "");
    }
    static void TearDownTestSuite() {
        delete proxy_;
        delete upstream_;
    }
    static inline RunningServer* upstream_ = nullptr;
    static inline RunningServer* proxy_ = nullptr;
};

TEST_F(ToLakeUpstream, ForwardsAndKeepsTheUpstreamConnectionsAlive) {
    Client c(proxy_->port());
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(c.send(get("/api/plaintext")));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "Hello, World!");
        EXPECT_EQ(r.header("content-type"), "text/plain");
        EXPECT_EQ(r.count("server"), 1u);  // the proxy's own, not the upstream's as well
        EXPECT_EQ(r.count("date"), 1u);
    }
    ASSERT_TRUE(c.send(get("/api/json")));
    EXPECT_EQ(c.read_response().body, R"({"message":"Hello, World!"})");
    // One keep-alive connection per worker served them all, and waits in its pool.
    const std::string prefix =
        "{prefix=\"/api\",upstream=\"127.0.0.1:" + std::to_string(upstream_->port()) + "\"}";
    EXPECT_GE(metric_value(proxy_->port(), "lake_upstream_pool_connections" + prefix), 1u);
    EXPECT_LE(metric_value(proxy_->port(), "lake_upstream_pool_connections" + prefix), 2u);
    EXPECT_GE(metric_value(proxy_->port(), "lake_upstream_requests_total" + prefix), 21u);
}

TEST_F(ToLakeUpstream, HeadKeepsTheUpstreamsLength) {
    Client c(proxy_->port());
    ASSERT_TRUE(c.send("HEAD /api/plaintext HTTP/1.1\r\nHost: test\r\n\r\n"));
    const HttpResponse r = c.read_response(true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), "13");
    ASSERT_TRUE(c.send(get("/api/plaintext")));  // and the connection goes on
    EXPECT_EQ(c.read_response().body, "Hello, World!");
}

TEST_F(ToLakeUpstream, BodiesGoBothWaysWithALengthOrChunked) {
    const std::string mib = pattern(1 << 20);
    for (const std::string& body : {std::string(), std::string("a=1&b=2"), mib}) {
        Client c(proxy_->port(), 10000);
        ASSERT_TRUE(c.send(post("/api/echo", body, "Content-Type: application/x-test\r\n")));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200) << body.size();
        EXPECT_EQ(r.body.size(), body.size());
        EXPECT_TRUE(r.body == body) << body.size();
        EXPECT_EQ(r.header("content-type"), "application/x-test");
    }
    Client c(proxy_->port(), 10000);
    ASSERT_TRUE(
        c.send("POST /api/echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunked(mib, 10000)));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == mib);
}

TEST_F(ToLakeUpstream, AnUpgradeIsIgnoredAndAStreamedBodyLeavesTheConnectionGoingOn) {
    // The proxy reads the body as it arrives (a streamed body completes on a read of its own):
    // the request after it, in the same write, is still HTTP/1.1, and neither hop upgrades.
    for (const std::string& body : {std::string("abc"), std::string(70000, 'u')}) {
        Client c(proxy_->port(), 10000);
        ASSERT_TRUE(
            c.send(post("/api/echo", body, "Connection: upgrade\r\nUpgrade: websocket\r\n") +
                   get("/api/plaintext")));
        HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200);
        EXPECT_TRUE(r.body == body) << r.body.size();
        EXPECT_EQ(r.header("connection"), "");
        r = c.read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "Hello, World!");
    }
}

TEST_F(ToLakeUpstream, UnknownPathsUnderThePrefixAreTheUpstreamsAnswer) {
    Client c(proxy_->port());
    ASSERT_TRUE(c.send(get("/api/nothing-here")));
    EXPECT_EQ(c.read_response().status, 404);
    ASSERT_TRUE(c.send(get("/apiary")));  // not under the prefix: the proxy's own 404
    EXPECT_EQ(c.read_response().status, 404);
    ASSERT_TRUE(c.send(get("/plaintext")));  // the proxy's own routes are untouched
    EXPECT_EQ(c.read_response().body, "Hello, World!");
}

TEST(Proxy, AnUpstreamThatCannotBeResolvedStopsTheStart) {
    for (const char* bad : {"127.0.0.1:99999", "localhost", "127.0.0.1:", "[::1:80"}) {
        RunningServer proxy(proxy_config(mount({bad})));
        EXPECT_NE(proxy.error().find("[[proxy]] '/api': upstream '" + std::string(bad) + "'"),
                  std::string::npos)
            << proxy.error();
    }
}

TEST(Proxy, HopByHopHeadersStayOnTheirHopAndForwardedHeadersAreAdded) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(
            fd, ScriptedUpstream::ok("hi",
                                     "Connection: X-Resp-Hop\r\nX-Resp-Hop: 1\r\n"
                                     "X-Second-Hop: 2\r\nConnection: X-Second-Hop\r\n"
                                     "Keep-Alive: timeout=5\r\nProxy-Thing: 1\r\n"
                                     "X-Kept: yes\r\nServer: upstream\r\n"
                                     "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()}, false)));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(
        c.send("GET /api/x?q=1 HTTP/1.1\r\nHost: front.example\r\n"
               "Connection: keep-alive, X-Hop, Host\r\nX-Hop: secret\r\nKeep-Alive: 300\r\n"
               "Connection: X-Also-Hop\r\nX-Also-Hop: 2\r\n"
               // Past the eight names gathered at once: the lines are read again.
               "Connection: o1, o2, o3, o4, X-Ninth\r\nX-Ninth: 9\r\n"
               "TE: trailers\r\nProxy-Authorization: Basic eA==\r\n"
               "X-Forwarded-For: 10.1.1.1\r\nVia: 1.0 edge\r\nX-End: kept\r\n"
               "X-Forwarded-For: 10.2.2.2\r\nVia: 1.1 mid\r\nX-Real-IP: 6.6.6.6\r\n"
               "Forwarded: for=7.7.7.7\r\nForwarded: for=8.8.8.8;proto=https\r\n"
               "Cookie: c=3\r\n\r\n"));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hi");
    EXPECT_EQ(r.header("x-kept"), "yes");
    EXPECT_EQ(r.count("set-cookie"), 2u);
    EXPECT_EQ(r.count("x-resp-hop"), 0u);
    EXPECT_EQ(r.count("x-second-hop"), 0u);  // named by a second Connection line
    EXPECT_EQ(r.count("keep-alive"), 0u);
    EXPECT_EQ(r.count("proxy-thing"), 0u);
    EXPECT_EQ(r.header("server"), "lake");
    ASSERT_EQ(up.requests().size(), 1u);
    const std::string head = up.requests()[0].head;
    EXPECT_EQ(head.substr(0, head.find("\r\n")), "GET /api/x?q=1 HTTP/1.1");
    EXPECT_EQ(header_of(head, "host"), "front.example");  // named in Connection, yet kept
    EXPECT_EQ(header_of(head, "x-end"), "kept");
    EXPECT_EQ(header_of(head, "cookie"), "c=3");
    // Several lines of a list are one list: all go on, in order, the proxy's entry last.
    EXPECT_EQ(header_of(head, "x-forwarded-for"), "10.1.1.1, 10.2.2.2, 127.0.0.1");
    EXPECT_EQ(header_of(head, "x-forwarded-proto"), "http");
    EXPECT_EQ(header_of(head, "x-forwarded-host"), "front.example");
    EXPECT_EQ(header_of(head, "via"), "1.0 edge, 1.1 mid, 1.1 lake");
    // The client's X-Real-IP was a claim (an upstream trusting it could be told anything): the
    // proxy's, the peer's address, replaces it.
    EXPECT_EQ(header_of(head, "x-real-ip"), "127.0.0.1");
    EXPECT_EQ(head.find("6.6.6.6"), std::string::npos) << head;
    // A client's Forwarded list gets the proxy's element last (RFC 7239 §4): what it claimed
    // stays, and the last element, the one an upstream can trust, is true.
    EXPECT_EQ(header_of(head, "forwarded"),
              "for=7.7.7.7, for=8.8.8.8;proto=https, "
              "for=127.0.0.1;host=\"front.example\";proto=http");
    for (const char* gone : {"connection", "x-hop", "x-also-hop", "x-ninth", "keep-alive", "te",
                             "proxy-authorization", "transfer-encoding"})
        EXPECT_EQ(header_of(head, gone), "(absent)") << gone;
}

// The proxy's Forwarded element quotes what is no token: an IPv6 client in brackets, a Host with
// a port; a client it does not know is "unknown". No element without a client's Forwarded.
TEST(Proxy, TheProxysForwardedElementQuotesWhatIsNoToken) {
    const http::Header with[] = {{"Host", "h.example:8080"}, {"Forwarded", "for=192.0.2.9"}};
    const http::Header without[] = {{"Host", "h.example"}};
    http::Request r;
    r.method_name = "GET";
    lake::Lake arena(8192);
    const auto forwarded = [&](std::string_view client) {
        const std::string head(
            proxy::write_upstream_head(r, proxy::ForwardedRequest{"/x", client, "up:80"}, arena));
        return header_of(head, "forwarded");
    };
    r.headers = with;
    EXPECT_EQ(forwarded("2001:db8::1"),
              "for=192.0.2.9, for=\"[2001:db8::1]\";host=\"h.example:8080\";proto=http");
    EXPECT_EQ(forwarded("-"), "for=192.0.2.9, for=unknown;host=\"h.example:8080\";proto=http");
    r.headers = without;
    EXPECT_EQ(forwarded("192.0.2.1"), "(absent)");
}

// HTTP/1.0 may come without Host: the upstream (spoken to in HTTP/1.1, where Host is required)
// gets the upstream's own address as Host and X-Forwarded-Host, and Via says 1.0.
TEST(Proxy, AnHttp10RequestWithoutHostGetsTheUpstreamsAddressAsHost) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("old"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()}, false)));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(c.send("GET /api/old HTTP/1.0\r\n\r\n"));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "old");
    ASSERT_EQ(up.requests().size(), 1u);
    const std::string head = up.requests()[0].head;
    EXPECT_EQ(head.substr(0, head.find("\r\n")), "GET /api/old HTTP/1.1");
    EXPECT_EQ(header_of(head, "host"), up.address());
    EXPECT_EQ(header_of(head, "x-forwarded-host"), up.address());
    EXPECT_EQ(header_of(head, "via"), "1.0 lake");
}

// An empty Host (allowed when the target has no authority, RFC 9112 3.2) counts as none: the
// upstream gets one Host, its own address (kept as sent, it would have come with a second one
// and been refused as 400).
TEST(Proxy, AnEmptyHostGetsTheUpstreamsAddressAsTheOnlyHost) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("empty"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()}, false)));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(c.send("GET /api/e HTTP/1.1\r\nHost: \r\n\r\n"));
    EXPECT_EQ(c.read_response().body, "empty");
    ASSERT_EQ(up.requests().size(), 1u);
    const std::string head = up.requests()[0].head;
    EXPECT_EQ(header_of(head, "host"), up.address());
    EXPECT_EQ(head.find("\r\nHost:"), head.rfind("\r\nHost:")) << head;  // one Host
}

TEST(Proxy, AChunkedResponseOfUnknownLengthIsStreamedOn) {
    const std::string body = pattern(300000);
    ScriptedUpstream up([&](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (std::size_t i = 0; i < body.size(); i += 50000) {
            char line[16];
            std::snprintf(line, sizeof(line), "%x\r\n", 50000);
            ScriptedUpstream::write(fd, line + body.substr(i, 50000) + "\r\n");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ScriptedUpstream::write(fd, "0\r\n\r\n");
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(c.send(get("/api/stream")));
    const HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("transfer-encoding"), "chunked");
    EXPECT_TRUE(r.body == body);
    ASSERT_TRUE(c.send(get("/api/stream")));  // the upstream connection was clean: reused
    EXPECT_TRUE(c.read_response().body == body);
    EXPECT_EQ(up.connections(), 1);
}

TEST(Proxy, AnUpstreamThatDiesMidResponseClosesTheClientsConnection) {
    for (const bool with_length : {true, false}) {
        ScriptedUpstream up([&](int fd, const ScriptedUpstream::Request&) {
            ScriptedUpstream::write(fd, with_length
                                            ? "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                                            : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                              "\r\n3e8\r\n");
            ScriptedUpstream::write(fd, std::string(1000, 'x'));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return false;  // closed mid-body
        });
        RunningServer proxy(proxy_config(mount({up.address()})));
        ASSERT_EQ(proxy.error(), "");
        Client c(proxy.port(), 3000);
        const auto start = Clock::now();
        ASSERT_TRUE(c.send(get("/api/big")));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 0) << "a truncated body must not look whole";
        // It ended because the connection closed, not because the client's read timed out.
        EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
        EXPECT_GE(c.bytes_received(), 1000u);  // the head and the part that came went out
    }
}

TEST(Proxy, ADownUpstreamIsSkippedAndMarkedDown) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("up"));
        return true;
    });
    const std::string down = refused_address();
    RunningServer proxy(proxy_config(mount({down, up.address()})));
    ASSERT_EQ(proxy.error(), "");
    for (int i = 0; i < 10; ++i) {
        Client c(proxy.port());
        ASSERT_TRUE(c.send(get("/api/x")));
        const HttpResponse r = c.read_response();
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "up");
    }
    // Refused once per worker at most: then marked down for fail_timeout (5 s).
    const std::uint64_t refused =
        metric_value(proxy.port(), "lake_upstream_failures_total{prefix=\"/api\",upstream=\"" +
                                       down + "\",reason=\"connect\"}");
    EXPECT_GE(refused, 1u);
    EXPECT_LE(refused, 2u);
}

TEST(Proxy, NoUpstreamAnsweringIs502) {
    RunningServer proxy(proxy_config(mount({refused_address(), refused_address()})));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(c.send(get("/api/x")));
    EXPECT_EQ(c.read_response().status, 502);
    ASSERT_TRUE(c.send(get("/api/x")));  // marked down: tried anyway, still 502, still served
    EXPECT_EQ(c.read_response().status, 502);
}

// A proxy at its file limit cannot open a connection to the upstream: its client gets 503 (the
// upstream did nothing wrong: not 502, and it is not marked down), and once descriptors are free
// the same client is proxied again. The proxy runs in a child limited to 48 descriptors.
TEST(Proxy, OutOfDescriptorsForTheUpstreamIs503AndServingGoesOn) {
    RunningServer upstream;
    ASSERT_EQ(upstream.error(), "");
    const std::string up = "127.0.0.1:" + std::to_string(upstream.port());
    config::ServerConfig c = proxy_config(mount({up}));
    c.workers = 1;
    pid_t child = -1;
    const std::uint16_t port = start_server_in_child(c, 48, child);
    ASSERT_NE(port, 0);
    Client a(port, 3000);
    ASSERT_TRUE(a.send(get("/plaintext")));
    ASSERT_EQ(a.read_response().status, 200);
    // Idle clients take the proxy's descriptors until it refuses one at the limit.
    std::vector<std::unique_ptr<Client>> fillers;
    bool at_limit = false;
    for (int i = 0; i < 80 && !at_limit; ++i) {
        fillers.push_back(std::make_unique<Client>(port, 3000));
        Client& f = *fillers.back();
        at_limit = !f.send(get("/plaintext")) || f.read_response().status == 503;
    }
    ASSERT_TRUE(at_limit);
    ASSERT_TRUE(a.send(get("/api/plaintext")));
    const HttpResponse refused = a.read_response();
    fillers.clear();  // descriptors free again
    ::usleep(100 * 1000);
    ASSERT_TRUE(a.send(get("/api/plaintext")));
    const HttpResponse served = a.read_response();
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(served.status, 200);
    EXPECT_EQ(served.body, "Hello, World!");
}

TEST(Proxy, AnUpstreamThatNeverAnswersIs504AfterTheReadTimeout) {
    ScriptedUpstream up([&](int, const ScriptedUpstream::Request&) {
        while (!up.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return false;
    });
    config::ServerConfig::ProxyMount m = mount({up.address()});
    m.read_timeout_s = 0.5;
    RunningServer proxy(proxy_config(m));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    const auto start = Clock::now();
    ASSERT_TRUE(c.send(get("/api/x")));
    EXPECT_EQ(c.read_response().status, 504);
    const auto took = Clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(450));
    EXPECT_LT(took, std::chrono::milliseconds(3000));
}

// RFC 9110 2.5: an upstream's HTTP/1.2 is read as HTTP/1.1 (its connection kept for the next).
TEST(Proxy, AnUpstreamsHigherMinorVersionIsReadAsHttp11) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, "HTTP/1.2 200 OK\r\nContent-Length: 5\r\n\r\nminor");
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(c.send(get("/api/x")));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "minor");
    }
    EXPECT_EQ(up.connections(), 1);
}

TEST(Proxy, AMalformedUpstreamResponseIs502) {
    for (const char* bad :
         {"HELLO\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n"
          "0\r\n\r\n",
          "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
          "HTTP/0.9 200 OK\r\n\r\n", "HTTP/1.10 200 OK\r\nContent-Length: 2\r\n\r\nhi",
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
          "HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nhi", "HTTP/1.1 600 Odd\r\n\r\n",
          "HTTP/1.1 099 Odd\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
          "HTTP/1.1 999 Odd\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
          // A coding no one would decode (it went on as the body's bytes, chunked anew).
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"}) {
        ScriptedUpstream up([&](int fd, const ScriptedUpstream::Request&) {
            ScriptedUpstream::write(fd, bad);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return false;
        });
        RunningServer proxy(proxy_config(mount({up.address()})));
        ASSERT_EQ(proxy.error(), "");
        Client c(proxy.port());
        ASSERT_TRUE(c.send(get("/api/x")));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 502) << bad;
        EXPECT_EQ(r.body.find("HELLO"), std::string::npos);
    }
}

// A 1xx, a 204 and a 304 end at their empty line whatever their fields say (RFC 9112 6.3): a 304
// carries the 200's Content-Length. The proxy waited for that many bytes, until its read timeout,
// then closed the client's connection with the next request unanswered.
TEST(Proxy, A1xx204Or304EndsAtItsEmptyLineWhateverItsLengthSays) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request& r) {
        switch (r.index) {
            case 0:
                ScriptedUpstream::write(fd, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
                break;
            case 1:
                ScriptedUpstream::write(fd,
                                        "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n"
                                        "Content-Length: 100\r\n\r\n");
                break;
            case 2:
                ScriptedUpstream::write(fd,
                                        "HTTP/1.1 304 Not Modified\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n");
                break;
            case 3:
                ScriptedUpstream::write(fd,
                                        "HTTP/1.1 103 Early Hints\r\nContent-Length: 4\r\n\r\n" +
                                            ScriptedUpstream::ok("after hints"));
                break;
            default:
                ScriptedUpstream::write(fd, ScriptedUpstream::ok("last"));
        }
        return true;
    });
    config::ServerConfig::ProxyMount m = mount({up.address()});
    m.read_timeout_s = 10;  // a wait for the body outlasts the client's (3 s)
    RunningServer proxy(proxy_config(m));
    ASSERT_EQ(proxy.error(), "");
    Client client(proxy.port(), 3000);
    ASSERT_TRUE(
        client.send(get("/api/a") + get("/api/b") + get("/api/c") + get("/api/d") + get("/api/e")));
    HttpResponse r = client.read_response();
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.body, "");
    r = client.read_response();
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("etag"), "\"v1\"");
    EXPECT_EQ(client.read_response().status, 304);
    r = client.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "after hints");
    r = client.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "last");
    EXPECT_EQ(up.connections(), 1);  // and the upstream connection was kept for each next one
}

// A chunked body's trailer fields are not passed on, either way: the proxy removes the chunked
// coding and may discard them (RFC 9112 7.1.2). Each side's next message is read cleanly after.
TEST(Proxy, TrailerFieldsOfAChunkedBodyAreNotPassedOn) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request& r) {
        if (r.index == 0) {
            ScriptedUpstream::write(fd,
                                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "5\r\nhello\r\n0\r\nX-Response-Sum: 1\r\n\r\n");
        } else {
            ScriptedUpstream::write(fd, ScriptedUpstream::ok("second"));
        }
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    ASSERT_TRUE(
        c.send("POST /api/t HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nabcde\r\n0\r\nX-Request-Sum: 2\r\n\r\n" +
               get("/api/u")));
    const HttpResponse first = c.read_response();
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "hello");
    EXPECT_EQ(first.count("x-response-sum"), 0u);
    const HttpResponse second = c.read_response();
    ASSERT_EQ(second.status, 200);
    EXPECT_EQ(second.body, "second");
    const auto seen = up.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].body, "abcde");
    EXPECT_EQ(seen[1].head.substr(0, seen[1].head.find("\r\n")), "GET /u HTTP/1.1");  // prefix off
    for (const auto& r : seen) EXPECT_EQ(header_of(r.head, "x-request-sum"), "(absent)");
    EXPECT_EQ(up.connections(), 1);  // the upstream connection was reused after the trailer
}

TEST(Proxy, TheUpstreamSeesOneRequestWhereTheClientSentOne) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request& r) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok(std::to_string(r.body.size())));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));
    ASSERT_EQ(proxy.error(), "");
    const std::string inner = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    Client c(proxy.port());
    // A request hidden in a body with a length, and in a chunked body after a fake last chunk.
    ASSERT_TRUE(c.send(post("/api/a", inner)));
    EXPECT_EQ(c.read_response().status, 200);
    const std::string fake_end = "0\r\n\r\n" + inner;
    ASSERT_TRUE(c.send("POST /api/b HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunked(fake_end, 7)));
    EXPECT_EQ(c.read_response().status, 200);
    // Content-Length named in Connection, as if it were hop-by-hop: the body is still framed by
    // it on the way to the upstream (dropped there, the body would be read as the next request).
    ASSERT_TRUE(c.send(post("/api/e", inner, "Connection: keep-alive, Content-Length\r\n")));
    EXPECT_EQ(c.read_response().status, 200);
    // Framed both ways: refused before it reaches the upstream.
    Client d(proxy.port());
    ASSERT_TRUE(
        d.send("POST /api/c HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
               inner));
    EXPECT_EQ(d.read_response().status, 400);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto seen = up.requests();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].body, inner);
    EXPECT_EQ(seen[1].body, fake_end);
    EXPECT_EQ(seen[2].body, inner);
    EXPECT_EQ(header_of(seen[2].head, "content-length"), std::to_string(inner.size()));
    for (const auto& r : seen) EXPECT_EQ(r.head.find("/smuggled"), std::string::npos);
}

// A path an upstream would resolve out of the prefix (or past a before-hook on a prefix under
// it) never reaches the upstream; names that merely hold dots do.
TEST(Proxy, DotSegmentsInAnyEncodingAreRefusedBeforeTheUpstream) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("up"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()}, false)));  // "/api" goes on
    ASSERT_EQ(proxy.error(), "");
    const std::vector<std::string> refused = {
        "/api/..",
        "/api/../private",
        "/api/x/../../private",
        "/api/./x",
        "/api/.",
        "/api/%2e%2e/private",
        "/api/%2E./private",
        "/api/.%2e",
        "/api/..%2fprivate",
        "/api/..%2Fprivate",
        "/api/..%5cprivate",
        "/api/..\\private",
        "/api/x/%2e",
    };
    const std::vector<std::string> forwarded = {
        "/api/a.b", "/api/...", "/api/.well-known/x", "/api/x%2Fy",
        "/api/..x", "/api/x..", "/api/%2e%2e%2e",     "/api/x?next=../y",
    };
    Client c(proxy.port());
    for (const std::string& path : refused) {
        Client once(proxy.port());
        ASSERT_TRUE(once.send(get(path)));
        const HttpResponse r = once.read_response();
        EXPECT_EQ(r.status, 400) << path;
        EXPECT_NE(r.body.find("segment"), std::string::npos) << path;
    }
    for (const std::string& path : forwarded) {
        ASSERT_TRUE(c.send(get(path)));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.body, "up") << path;
    }
    const auto seen = up.requests();
    ASSERT_EQ(seen.size(), forwarded.size());
    for (std::size_t i = 0; i < seen.size(); ++i)
        EXPECT_EQ(seen[i].head.rfind("GET " + forwarded[i] + " HTTP/1.1\r\n", 0), 0u)
            << seen[i].head;
}

// A forwarded target never begins "//": an upstream that parses it as a URL reads "//evil/x" as
// the host "evil" and the path "/x". With the prefix stripped, "/api//evil/x" became exactly that.
TEST(Proxy, AForwardedTargetNeverBeginsWithTwoSlashes) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("up"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));  // the prefix is stripped
    ASSERT_EQ(proxy.error(), "");
    Client c(proxy.port());
    for (const char* path : {"/api//evil/x", "/api///evil/x?q=1", "/api/a//b"}) {
        ASSERT_TRUE(c.send(get(path)));
        EXPECT_EQ(c.read_response().status, 200) << path;
    }
    const auto seen = up.requests();
    ASSERT_EQ(seen.size(), 3u);
    const char* expected[] = {"GET /evil/x HTTP/1.1\r\n", "GET /evil/x?q=1 HTTP/1.1\r\n",
                              "GET /a//b HTTP/1.1\r\n"};  // inside the path: as sent
    for (std::size_t i = 0; i < seen.size(); ++i)
        EXPECT_EQ(seen[i].head.rfind(expected[i], 0), 0u) << seen[i].head;
}

TEST(Proxy, APooledConnectionTheUpstreamClosedIsRetriedOnAFreshOne) {
    // Answers each connection's first request with keep-alive, then closes it.
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request& r) {
        std::string body = "n";  // not "n" + to_string(): GCC 12's -Wrestrict false alarm
        body += std::to_string(r.connection);
        ScriptedUpstream::write(fd, ScriptedUpstream::ok(body));
        return false;
    });
    config::ServerConfig c = proxy_config(mount({up.address()}));
    c.workers = 1;
    RunningServer proxy(c);
    ASSERT_EQ(proxy.error(), "");
    Client client(proxy.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(client.send(get("/api/x")));
        const HttpResponse r = client.read_response();
        ASSERT_EQ(r.status, 200) << i;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the close is in
    }
    // A POST is never sent twice: a pooled connection is checked before it is used.
    ASSERT_TRUE(client.send(post("/api/form", "a=1")));
    EXPECT_EQ(client.read_response().status, 200);
    EXPECT_EQ(up.connections(), 4);
}

TEST(Proxy, AClientThatLeavesCancelsTheUpstreamExchange) {
    std::atomic<bool> upstream_saw_close{false};
    ScriptedUpstream up([&](int fd, const ScriptedUpstream::Request&) {
        while (!up.stopping()) {  // never answers; notices when the proxy closes its socket
            pollfd p{fd, POLLIN, 0};
            char c;
            if (::poll(&p, 1, 20) > 0 && ::recv(fd, &c, 1, MSG_PEEK) <= 0) {
                upstream_saw_close = true;
                break;
            }
        }
        return false;
    });
    config::ServerConfig::ProxyMount m = mount({up.address()});
    m.read_timeout_s = 30;
    RunningServer proxy(proxy_config(m));
    ASSERT_EQ(proxy.error(), "");
    {
        Client c(proxy.port());
        ASSERT_TRUE(c.send(get("/api/x")));
        for (int i = 0; i < 200 && up.requests().empty(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_EQ(up.requests().size(), 1u);
    }  // the client leaves mid-wait
    for (int i = 0; i < 300 && !upstream_saw_close; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(upstream_saw_close) << "the upstream exchange was not cancelled";
    EXPECT_EQ(metric_value(proxy.port(),
                           "lake_upstream_pool_connections{prefix=\"/api\","
                           "upstream=\"" +
                               up.address() + "\"}"),
              0u);
}

// A client that leaves halfway through its body: the part already forwarded stays a fragment
// the upstream never takes for a request, and the proxy's socket to it is closed, not pooled.
TEST(Proxy, AClientThatLeavesMidBodyClosesTheUpstreamConnection) {
    ScriptedUpstream up([](int fd, const ScriptedUpstream::Request&) {
        ScriptedUpstream::write(fd, ScriptedUpstream::ok("whole"));
        return true;
    });
    RunningServer proxy(proxy_config(mount({up.address()})));
    ASSERT_EQ(proxy.error(), "");
    {
        Client c(proxy.port());
        ASSERT_TRUE(
            c.send("POST /api/upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n"
                   "\r\n" +
                   std::string(3000, 'p')));
        for (int i = 0; i < 200 && up.connections() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the part is forwarded
    }                                                                // gone, 97,000 bytes short
    for (int i = 0; i < 300 && up.closed_by_peer() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(up.closed_by_peer(), 1);
    EXPECT_TRUE(up.requests().empty());
    EXPECT_EQ(metric_value(proxy.port(),
                           "lake_upstream_pool_connections{prefix=\"/api\","
                           "upstream=\"" +
                               up.address() + "\"}"),
              0u);
}

}  // namespace
}  // namespace lake::test
