// Handlers that wait (handlers/task.hpp, handlers/io.hpp): coroutines on the worker's io_uring,
// over real sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../handlers/response_format.hpp"
#include "page_cache_drop.hpp"
#include "process_memory.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

using handlers::Handler;
using handlers::Task;
using http::Method;
using http::Request;
using http::Response;

// Frames alive now: a local of every test coroutine counts itself.
std::atomic<int> g_frames{0};
struct Alive {
    Alive() { ++g_frames; }
    ~Alive() { --g_frames; }
};

std::uint64_t arg(const Request& req, std::string_view name, std::uint64_t fallback) {
    const std::string_view t = req.query_param(name);
    std::uint64_t v = fallback;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

Task sleep_then_answer(const Request& req, Response& res, void*) {
    Alive alive;
    const int rc = co_await req.io->sleep(std::chrono::milliseconds(arg(req, "ms", 0)));
    http::format(res, "slept {}\n", rc);
}

Task forever(const Request& req, Response& res, void*) {
    Alive alive;
    co_await req.io->sleep(std::chrono::seconds(60));
    res.text(200, "woke\n");
}

// Waits for a minute; when its frame is destroyed, reads the request's path (in the request
// view, like the frame itself): the frame must go while the connection's views still hold it.
// And notes whether its worker's plugins had already torn their per-thread state down (the
// worker_stop hooks, run on the worker's thread, like the frame's destruction).
std::atomic<std::size_t> g_path_size_at_destruction{0};
std::atomic<int> g_worker_stopped_before_frame{-1};
thread_local bool t_worker_stopped = false;
struct ReadsPathOnDestruction {
    std::string_view path;
    ~ReadsPathOnDestruction() {
        std::size_t n = 0;
        for (char c : path) n += c != 0;
        g_path_size_at_destruction = n;
        g_worker_stopped_before_frame = t_worker_stopped ? 1 : 0;
    }
};
Task forever_reading_its_path(const Request& req, Response& res, void*) {
    Alive alive;
    ReadsPathOnDestruction reads{req.path};
    co_await req.io->sleep(std::chrono::seconds(60));
    res.text(200, "woke\n");
}

Task throw_early(const Request& req, Response&, void*) {
    Alive alive;
    co_await req.io->sleep(std::chrono::milliseconds(1));
    throw std::runtime_error("before the response");
}

Task throw_late(const Request& req, Response& res, void*) {
    Alive alive;
    res.append("first part\n");
    co_await req.io->send(res);
    throw std::runtime_error("after the response began");
}

// parts=N lines, each sent as a part; length=1 announces the length, short=1 lies about it.
Task stream(const Request& req, Response& res, void*) {
    Alive alive;
    const std::uint64_t parts = arg(req, "parts", 3);
    res.content_type = "text/plain";
    if (arg(req, "length", 0) != 0)
        res.stream_length = static_cast<std::int64_t>(parts * 7 + arg(req, "short", 0)) -
                            static_cast<std::int64_t>(arg(req, "over", 0));
    for (std::uint64_t i = 0; i < parts; ++i) {
        http::format(res, "part {}\n", i % 10);
        if (co_await req.io->send(res) < 0) co_return;
    }
}

Task returns_at_once(const Request&, Response& res, void*) {
    res.text(200, "no wait\n");
    co_return;
}

Task child(const Request& req, Response& res) {
    Alive alive;
    co_await req.io->sleep(std::chrono::milliseconds(5));
    res.append("from the child; ");
}

Task nested(const Request& req, Response& res, void*) {
    Alive alive;
    for (int i = 0; i < 3; ++i) co_await child(req, res);
    res.append("done\n");
}

Task big_frame(const Request& req, Response& res, void*) {
    char big[60000];
    big[0] = 'x';
    co_await req.io->sleep(std::chrono::milliseconds(1));
    res.text(200, std::string_view(big, 1));
}

// A streamed body, counted: "<bytes> <sum of bytes mod 2^32>".
Task count_body(const Request& req, Response& res, void*) {
    Alive alive;
    auto* buf = static_cast<char*>(req.arena->allocate(16384, 1));
    std::uint64_t total = 0;
    std::uint32_t sum = 0;
    for (;;) {
        const int n = co_await req.io->read_body({buf, 16384});
        if (n <= 0) break;
        total += static_cast<std::uint64_t>(n);
        for (int i = 0; i < n; ++i) sum += static_cast<unsigned char>(buf[i]);
    }
    http::format(res, "{} {}\n", total, sum);
}

// What the request said, read after a wait: the request's bytes must outlive the receive buffer
// they arrived in (which goes back to the ring while the handler waits).
Task echo_after_wait(const Request& req, Response& res, void*) {
    Alive alive;
    co_await req.io->sleep(std::chrono::milliseconds(arg(req, "ms", 0)));
    http::format(res, "name={} q={} tag={} path={}\n", req.param("name"), req.query_param("q"),
                 req.header("x-tag"), req.path);
}

// Before the waiting handler: a response header that is a view of a request header.
bool tag_seen(const Request& req, Response& res, void*) {
    res.add_header("X-Seen", req.header("x-tag"));
    return false;
}

// Before the next handler: fills the request arena but for room for the handler's frame, so
// that the request's bytes cannot move there before the handler waits (the connection then keeps
// the receive buffer they are in for the wait).
constexpr std::size_t kFrameRoom = 1024;
bool fill_request_arena(const Request& req, Response&, void*) {
    const std::size_t left = req.arena->remaining();
    if (left > kFrameRoom) (void)req.arena->allocate(left - kFrameRoom, 1);
    return false;
}

// What the request said after a wait, and whether its bytes were moved into the request arena.
Task echo_with_a_full_arena(const Request& req, Response& res, void*) {
    Alive alive;
    co_await req.io->sleep(std::chrono::milliseconds(arg(req, "ms", 0)));
    const std::string_view pad = req.header("x-pad");
    const bool pad_intact = pad.size() == 1500 && pad.find_first_not_of('p') == pad.npos;
    http::format(res, "name={} tag={} pad={} moved={}\n", req.param("name"), req.header("x-tag"),
                 pad_intact ? "intact" : "damaged", req.arena->owns(pad.data()) ? "yes" : "no");
}

// send_file's contract: `[` + the file g_file_path + `]` with the whole length announced (a body
// part before the file, one after); ?mode=chunked announces none (-EINVAL expected), ?mode=badfd
// passes no file, ?mode=cold comes after the test dropped the file's pages (-EAGAIN: nothing
// sent). Those answer the result as text (nothing went out).
std::string g_file_path;
Task send_a_file(const Request& req, Response& res, void*) {
    Alive alive;
    const std::string_view mode = req.query_param("mode");
    const int fd = ::open(g_file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        res.text(500, "no file\n");
        co_return;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    const auto size = static_cast<std::uint32_t>(st.st_size);
    if (mode != "chunked") res.stream_length = size + 2;
    res.content_type = "application/octet-stream";
    if (mode.empty()) res.append("[");
    const int rc = co_await req.io->send_file(res, mode == "badfd" ? -1 : fd, 0, size);
    if (rc < 0) {  // nothing went out: an answer of its own
        res.stream_length = -1;
        http::format(res, "rc={}\n", rc);
        co_return;
    }
    if (rc != 0 && rc != static_cast<int>(size)) throw std::runtime_error("short send_file");
    res.append("]");
}

// Refuses the body without reading it.
Task refuse_body(const Request&, Response& res, void*) {
    res.text(413, "no thanks\n");
    co_return;
}

void waiting_routes(handlers::Router& r) {
    r.add(Method::Post, "/w/count", Handler::streaming(count_body));
    r.add(Method::Post, "/w/refuse", Handler::streaming(refuse_body));
    r.add(Method::Get, "/w/sleep", Handler::waiting(sleep_then_answer));
    r.add(Method::Get, "/w/forever", Handler::waiting(forever));
    r.add(Method::Get, "/w/forever-reading", Handler::waiting(forever_reading_its_path));
    r.add(Method::Get, "/w/throw-early", Handler::waiting(throw_early));
    r.add(Method::Get, "/w/throw-late", Handler::waiting(throw_late));
    r.add(Method::Get, "/w/stream", Handler::waiting(stream));
    r.add(Method::Get, "/w/at-once", Handler::waiting(returns_at_once));
    r.add(Method::Get, "/w/nested", Handler::waiting(nested));
    r.add(Method::Get, "/w/big-frame", Handler::waiting(big_frame));
    r.add(Method::Get, "/w/file", Handler::waiting(send_a_file));
    r.add(Method::Get, "/w/echo/{name}", Handler::waiting(echo_after_wait));
    r.add_before("/w/echo/", handlers::Hook{&tag_seen, nullptr});
    r.add(Method::Get, "/w/full/{name}", Handler::waiting(echo_with_a_full_arena));
    r.add_before("/w/full/", handlers::Hook{&fill_request_arena, nullptr});
}

config::ServerConfig waiting_config() {
    config::ServerConfig c = test_config();
    c.handler_timeout_s = 3;
    return c;
}

class WaitingHandlers : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = new RunningServer(waiting_config(), &waiting_routes);
        ASSERT_EQ(server_->error(), "");
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static std::uint16_t port() { return server_->port(); }
    static HttpResponse request(std::string_view raw) {
        Client c(port());
        EXPECT_TRUE(c.send(raw));
        return c.read_response();
    }
    // 600 requests of other bytes, each on a connection of its own: every receive buffer of the
    // ring is filled and recycled several times over.
    static void send_through_every_receive_buffer() {
        const std::string filler(300, 'z');
        for (int i = 0; i < 600; ++i) {
            Client c(port());
            ASSERT_TRUE(c.send("GET /plaintext?" + filler +
                               " HTTP/1.1\r\nHost: t\r\nX-Tag: " + filler + "\r\n\r\n"));
            ASSERT_EQ(c.read_response().status, 200);
        }
    }
    // Waits (up to 10 s) for every test coroutine's frame to be destroyed.
    static bool frames_gone() {
        for (int i = 0; i < 1000 && g_frames.load() != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return g_frames.load() == 0;
    }
    static inline RunningServer* server_ = nullptr;
};

TEST_F(WaitingHandlers, ATimerOnTheRingAnswersAfterItFires) {
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse r = request(get("/w/sleep?ms=100"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "slept 0\n");
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, AHandlerThatNeverWaitsAnswersLikeAPlainOne) {
    const HttpResponse r = request(get("/w/at-once"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "no wait\n");
}

TEST_F(WaitingHandlers, NestedTasksRunInOrder) {
    const HttpResponse r = request(get("/w/nested"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "from the child; from the child; from the child; done\n");
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, AFrameTooBigForTheArenaIs503) {
    const HttpResponse r = request(get("/w/big-frame"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(request(get("/plaintext")).status, 200);
}

// Requests whose handlers wait, while other clients' input goes through every receive buffer:
// each still reads its own path parameter, query, header and path after the wait, and a header
// a before-hook took from the request goes out intact.
TEST_F(WaitingHandlers, TheRequestOutlivesItsReceiveBufferWhileTheHandlerWaits) {
    constexpr int kWaiting = 20;
    std::vector<std::unique_ptr<Client>> waiting;
    for (int i = 0; i < kWaiting; ++i) {
        const std::string n = std::to_string(i);
        waiting.push_back(std::make_unique<Client>(port()));
        ASSERT_TRUE(waiting.back()->send("GET /w/echo/user" + n + "?ms=300&q=query" + n +
                                         " HTTP/1.1\r\nHost: t\r\nX-Tag: tag" + n + "\r\n\r\n"));
    }
    ASSERT_NO_FATAL_FAILURE(send_through_every_receive_buffer());  // meanwhile
    for (int i = 0; i < kWaiting; ++i) {
        const std::string n = std::to_string(i);
        const HttpResponse r = waiting[static_cast<std::size_t>(i)]->read_response();
        EXPECT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, "name=user" + n + " q=query" + n + " tag=tag" + n + " path=/w/echo/user" +
                              n + "\n");
        EXPECT_EQ(r.header("x-seen"), "tag" + n);
    }
    EXPECT_TRUE(frames_gone());
}

// The same when the request view has no room for the request's bytes before the handler waits:
// the connection keeps the receive buffer they arrived in (recycled only after the answer), and
// other clients' input goes through every other buffer meanwhile.
TEST_F(WaitingHandlers, ARequestThatCannotMoveKeepsItsReceiveBufferWhileTheHandlerWaits) {
    constexpr int kWaiting = 10;
    const std::string pad(1500, 'p');  // the whole request still fits one 2 KiB receive buffer
    std::vector<std::unique_ptr<Client>> waiting;
    for (int i = 0; i < kWaiting; ++i) {
        waiting.push_back(std::make_unique<Client>(port()));
        ASSERT_TRUE(waiting.back()->send("GET /w/full/user" + std::to_string(i) +
                                         "?ms=300 HTTP/1.1\r\nHost: t\r\nX-Tag: tag" +
                                         std::to_string(i) + "\r\nX-Pad: " + pad + "\r\n\r\n"));
    }
    ASSERT_NO_FATAL_FAILURE(send_through_every_receive_buffer());  // meanwhile
    for (int i = 0; i < kWaiting; ++i) {
        const std::string n = std::to_string(i);
        const HttpResponse r = waiting[static_cast<std::size_t>(i)]->read_response();
        EXPECT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, "name=user" + n + " tag=tag" + n + " pad=intact moved=no\n");
    }
    EXPECT_TRUE(frames_gone());
}

// 1,000 requests waiting at once on a 2-worker server: other requests are served meanwhile, and
// all 1,000 are answered together, not one after another (that would take 1,500 s).
TEST_F(WaitingHandlers, AThousandWaitingRequestsDoNotBlockTheWorkers) {
    constexpr int kWaiting = 1000;
    using Clock = std::chrono::steady_clock;
    std::vector<int> fds;
    std::vector<Clock::time_point> sent_at;
    for (int i = 0; i < kWaiting; ++i) {
        const int fd = raw_socket(port());
        ASSERT_GE(fd, 0);
        sent_at.push_back(Clock::now());
        ASSERT_TRUE(send_all(fd, get("/w/sleep?ms=1500")));
        fds.push_back(fd);
    }
    const HttpResponse plain = request(get("/plaintext"));
    EXPECT_EQ(plain.status, 200);
    // A request sent less than 1.4 s ago cannot have been answered yet (its timer started after
    // the send). On a slow machine the first of a thousand may be older than that: not judged.
    int answered_early = 0, judged = 0;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (Clock::now() - sent_at[i] >= std::chrono::milliseconds(1400)) continue;
        ++judged;
        pollfd p{fds[i], POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) ++answered_early;
    }
    EXPECT_GT(judged, 0);
    EXPECT_EQ(answered_early, 0) << "answered before their timers could fire";
    int answered = 0;
    std::string first_other;
    for (int fd : fds) {
        pollfd p{fd, POLLIN, 0};
        char buf[512];
        ssize_t n = 0;
        if (::poll(&p, 1, 20000) > 0) n = ::recv(fd, buf, sizeof(buf), 0);
        if (n > 12 && std::string_view(buf, 12) == "HTTP/1.1 200")
            ++answered;
        else if (first_other.empty())
            first_other = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "nothing";
        ::close(fd);
    }
    EXPECT_EQ(first_other, "");
    EXPECT_EQ(answered, kWaiting);
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, ClientsThatLeaveMidWaitCancelTheirHandlers) {
    const int before = g_frames.load();
    std::vector<int> fds;
    for (int i = 0; i < 50; ++i) {
        const int fd = raw_socket(port());
        ASSERT_TRUE(send_all(fd, get("/w/forever")));
        fds.push_back(fd);
    }
    for (int i = 0; i < 500 && g_frames.load() < before + 50; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(g_frames.load(), before + 50);
    for (int fd : fds) ::close(fd);
    EXPECT_TRUE(frames_gone()) << g_frames.load() << " frames still alive";
    EXPECT_EQ(request(get("/plaintext")).status, 200);
}

TEST_F(WaitingHandlers, PastTheDeadlineTheAnswerIs504AndTheConnectionGoesOn) {
    Client c(port(), 10000);
    ASSERT_TRUE(c.send(get("/w/forever")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 504);
    EXPECT_TRUE(frames_gone());
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(WaitingHandlers, PipelinedRequestsBehindAWaitingOneAreAnsweredInOrder) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/sleep?ms=100") + get("/plaintext") + get("/w/sleep?ms=10") +
                       get("/w/stream?parts=2") + get("/plaintext")));
    EXPECT_EQ(c.read_response().body, "slept 0\n");
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    EXPECT_EQ(c.read_response().body, "slept 0\n");
    EXPECT_EQ(c.read_response().body, "part 0\npart 1\n");
    EXPECT_EQ(c.read_response().body, "Hello, World!");
}

TEST_F(WaitingHandlers, AnExceptionBeforeTheResponseIs500) {
    const HttpResponse r = request(get("/w/throw-early"));
    EXPECT_EQ(r.status, 500);
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, AnExceptionAfterThePartsBeganClosesTheConnection) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/throw-late")));
    const std::string all = c.read_all();
    EXPECT_NE(all.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_NE(all.find("first part\n"), std::string::npos);
    EXPECT_EQ(all.find("\r\n0\r\n\r\n"), std::string::npos) << "the body must not look complete";
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, PartsOfUnknownLengthAreChunked) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/stream?parts=5")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("transfer-encoding"), "chunked");
    EXPECT_EQ(r.count("content-length"), 0u);
    EXPECT_EQ(r.body, "part 0\npart 1\npart 2\npart 3\npart 4\n");
    ASSERT_TRUE(c.send(get("/plaintext")));  // the connection goes on
    EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(WaitingHandlers, PartsOfAnnouncedLengthCarryContentLength) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/stream?parts=300&length=1")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), "2100");
    EXPECT_EQ(r.count("transfer-encoding"), 0u);
    ASSERT_EQ(r.body.size(), 2100u);
    EXPECT_EQ(r.body.substr(2093), "part 9\n");
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(WaitingHandlers, ABodyShorterThanItsContentLengthClosesTheConnection) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/stream?parts=2&length=1&short=5")));
    const std::string all = c.read_all();
    EXPECT_NE(all.find("Content-Length: 19"), std::string::npos);
    EXPECT_NE(all.find("part 1\n"), std::string::npos);
}

// A part that would take the body past its Content-Length is refused (-EINVAL, nothing of it
// sent): the client gets no byte beyond the length, and the connection closes.
TEST_F(WaitingHandlers, APartPastItsContentLengthIsRefused) {
    Client c(port());
    ASSERT_TRUE(c.send(get("/w/stream?parts=3&length=1&over=5")));
    const std::string all = c.read_all();
    const std::size_t head_end = all.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_NE(all.find("Content-Length: 16"), std::string::npos);
    EXPECT_EQ(all.substr(head_end + 4), "part 0\npart 1\n");
}

TEST_F(WaitingHandlers, PartsToAnHttp10ClientEndWithTheConnection) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /w/stream?parts=3 HTTP/1.0\r\n\r\n"));
    const std::string all = c.read_all();
    EXPECT_EQ(all.find("Transfer-Encoding"), std::string::npos);
    EXPECT_EQ(all.find("Content-Length"), std::string::npos);
    EXPECT_NE(all.find("Connection: close"), std::string::npos);
    EXPECT_EQ(all.substr(all.size() - 21), "part 0\npart 1\npart 2\n");
}

TEST_F(WaitingHandlers, HeadOfAStreamedResponseHasNoBody) {
    Client c(port());
    ASSERT_TRUE(c.send("HEAD /w/stream?parts=3 HTTP/1.1\r\nHost: t\r\n\r\n"));
    const HttpResponse r = c.read_response(true);
    EXPECT_EQ(r.status, 200);
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().body, "Hello, World!");
}

// send_file (handlers/io.hpp): the body before the file, the file from the page cache, the body
// after it, under the length announced; HEAD sends the head alone (0 bytes of the file); the
// misuses and the pages not in memory answer their errno with nothing sent, and the connection
// goes on; an HTTP/1.0 client without a length gets the body until the close.
TEST_F(WaitingHandlers, SendFileSendsTheFileBetweenTheBodysParts) {
    char templ[] = "/tmp/lake-send-file-XXXXXX";
    const int fd = ::mkstemp(templ);
    ASSERT_GE(fd, 0);
    std::string contents(3u << 20, '\0');
    for (std::size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>('a' + i % 26);
    ASSERT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
    ::close(fd);
    g_file_path = templ;
    const std::uint64_t sends_before = server_->server().counters().file_sends;
    Client c(port(), 10000);
    ASSERT_TRUE(c.send(get("/w/file")));
    HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(contents.size() + 2));
    EXPECT_TRUE(r.body == "[" + contents + "]");
    EXPECT_EQ(server_->server().counters().file_sends, sends_before + 1);
    ASSERT_TRUE(c.send("HEAD /w/file HTTP/1.1\r\nHost: t\r\n\r\n"));
    r = c.read_response(true);
    EXPECT_EQ(r.header("content-length"), std::to_string(contents.size() + 2));
    for (const char* mode : {"chunked", "badfd"}) {
        ASSERT_TRUE(c.send(get(std::string("/w/file?mode=") + mode)));
        EXPECT_EQ(c.read_response().body, "rc=-22\n") << mode;
    }
    // An HTTP/1.0 client: no length needed, the body ends with the connection.
    Client old(port(), 10000);
    ASSERT_TRUE(old.send("GET /w/file?mode=chunked HTTP/1.0\r\n\r\n"));
    const std::string all = old.read_all();
    EXPECT_EQ(all.find("Content-Length"), std::string::npos);
    ASSERT_GT(all.size(), contents.size() + 1);
    EXPECT_TRUE(all.compare(all.size() - contents.size() - 1, std::string::npos, contents + "]") ==
                0);
    // A file never sent (pages a socket still references after a sendfile may not drop at once).
    char cold[] = "/tmp/lake-send-file-cold-XXXXXX";
    const int cold_fd = ::mkstemp(cold);
    ASSERT_GE(cold_fd, 0);
    ASSERT_EQ(::write(cold_fd, contents.data(), contents.size()),
              static_cast<ssize_t>(contents.size()));
    ::close(cold_fd);
    ASSERT_TRUE(drop_from_page_cache(cold));
    g_file_path = cold;
    ASSERT_TRUE(c.send(get("/w/file?mode=cold")));
    EXPECT_EQ(c.read_response().body, "rc=-11\n");
    std::remove(cold);
    ASSERT_TRUE(c.send(get("/plaintext")));  // the connection went on through all of it
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    std::remove(templ);
}

// A graceful stop lets waiting handlers finish: each is answered, with `Connection: close`, and
// the workers end once the last one is.
TEST(WaitingHandlersDrain, AGracefulStopWaitsForWaitingHandlers) {
    RunningServer s(waiting_config(), &waiting_routes);
    ASSERT_EQ(s.error(), "");
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 20; ++i) {
        clients.push_back(std::make_unique<Client>(s.port(), 10000));
        ASSERT_TRUE(clients.back()->send(get("/w/sleep?ms=1000")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all of them waiting
    s.server().drain();
    for (auto& c : clients) {
        const HttpResponse r = c->read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "slept 0\n");
        EXPECT_EQ(r.header("connection"), "close");
    }
    for (int i = 0; i < 500 && !s.server().workers_done(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(s.server().workers_done());
    s.server().stop();
    EXPECT_EQ(s.server().counters().cut, 0u);
}

void waiting_routes_with_a_worker_stop_hook(handlers::Router& r) {
    waiting_routes(r);
    r.lifecycle().worker_stop.push_back([](unsigned) { t_worker_stopped = true; });
}

// A stop (no drain) with a handler still waiting on the ring: its connection is cut, and the
// frame is destroyed before the views it lives in and points into are given back, and before
// the plugins' worker_stop hooks free the per-thread state its locals may use.
TEST(WaitingHandlersStop, AStopCutsAWaitingHandlerAndDestroysItsFrameFirst) {
    const int before = g_frames.load();
    RunningServer s(waiting_config(), &waiting_routes_with_a_worker_stop_hook);
    ASSERT_EQ(s.error(), "");
    Client c(s.port(), 10000);
    ASSERT_TRUE(c.send(get("/w/forever-reading")));
    for (int i = 0; i < 500 && g_frames.load() == before; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(g_frames.load(), before + 1);
    g_path_size_at_destruction = 0;
    g_worker_stopped_before_frame = -1;
    s.server().stop();
    EXPECT_EQ(g_frames.load(), before);
    EXPECT_EQ(g_path_size_at_destruction.load(), std::string_view("/w/forever-reading").size());
    EXPECT_EQ(g_worker_stopped_before_frame.load(), 0);
    EXPECT_EQ(s.server().counters().cut, 1u);
}

std::string post_request(std::string_view path, std::string_view body) {
    return "POST " + std::string(path) +
           " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
}

std::uint32_t byte_sum(std::string_view s) {
    std::uint32_t sum = 0;
    for (char c : s) sum += static_cast<unsigned char>(c);
    return sum;
}

TEST_F(WaitingHandlers, AStreamedBodyIsReadAsItArrives) {
    Client c(port());
    const std::string body(100000, 'q');
    ASSERT_TRUE(c.send(post_request("/w/count", body) + get("/plaintext")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "100000 " + std::to_string(byte_sum(body)) + "\n");
    EXPECT_EQ(c.read_response().body, "Hello, World!");  // pipelined behind it, in order
    EXPECT_TRUE(frames_gone());
}

TEST_F(WaitingHandlers, AChunkedStreamedBodyWithExtensions) {
    Client c(port());
    std::string wire = "POST /w/count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string body;
    for (int i = 0; i < 300; ++i) {
        const std::string chunk(1000 + i * 37, static_cast<char>('a' + i % 26));
        char line[32];
        std::snprintf(line, sizeof(line), "%zx;n=\"%d\"\r\n", chunk.size(), i);
        wire += line + chunk + "\r\n";
        body += chunk;
    }
    wire += "0\r\n\r\n";
    ASSERT_TRUE(c.send(wire));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::to_string(body.size()) + " " + std::to_string(byte_sum(body)) + "\n");
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(WaitingHandlers, ExpectContinueIsAnsweredBeforeAStreamedBody) {
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /w/count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
               "Expect: 100-continue\r\n\r\n"));
    const HttpResponse cont = c.read_response();
    EXPECT_EQ(cont.status, 100);
    ASSERT_TRUE(c.send("hello"));
    EXPECT_EQ(c.read_response().body, "5 " + std::to_string(byte_sum("hello")) + "\n");
}

TEST_F(WaitingHandlers, AnAnswerBeforeTheBodyWasReadClosesTheConnection) {
    Client c(port());
    ASSERT_TRUE(c.send("POST /w/refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" +
                       std::string(50000, 'z')));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.header("connection"), "close");
}

// 256 MiB through a handler that counts it, far over max_body (1 MiB here): the server holds a few
// receive buffers of it at a time, and its memory stays flat.
TEST_F(WaitingHandlers, A256MiBStreamedUploadKeepsMemoryFlat) {
    constexpr std::size_t kTotal = 256u << 20;
    std::string block(1u << 20, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 31 + 7);
    const std::uint32_t expected_sum = byte_sum(block) * 256u;
    Client c(port(), 60000);
    ASSERT_TRUE(c.send("POST /w/count HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                       std::to_string(kTotal) + "\r\n\r\n"));
    const std::size_t before = rss_bytes();
    std::size_t peak = before;
    for (int i = 0; i < 256; ++i) {
        ASSERT_TRUE(c.send(block));
        if (i % 16 == 0) peak = std::max(peak, rss_bytes());
    }
    const HttpResponse r = c.read_response();
    peak = std::max(peak, rss_bytes());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::to_string(kTotal) + " " + std::to_string(expected_sum) + "\n");
    EXPECT_LT(peak, before + (16u << 20)) << "memory grew with the body";
}

}  // namespace
}  // namespace lake::test
