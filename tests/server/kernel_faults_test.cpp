// What the server does when the kernel refuses what it asks: the epoll backend's EPOLL_CTL_ADD of
// a connection (ENOSPC at fs.epoll.max_user_watches, ENOMEM), and TCP_INFO (how much of its
// output a client has acknowledged: what tells a reader from a client that stalls). The failures
// are injected: this test binary defines epoll_ctl and getsockopt itself, so the server code
// linked into it calls these, which fail what the test asks for and pass everything else to the
// C library's. A binary of its own, so that no other test runs with the wrappers.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include "backed_up_clients.hpp"
#include "server_fixture.hpp"

namespace {

std::atomic<int> g_failing_adds{0};  // how many more connection ADDs fail (ENOSPC)
std::atomic<int> g_failed_adds{0};   // how many did
std::atomic<bool> g_tcp_info_fails{false};
std::atomic<int> g_tcp_info_refused{0};

// A connected socket (what the server adds for each connection), not the listener, an eventfd
// or a timerfd.
bool is_connection(int fd) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening == 0;
}

}  // namespace

extern "C" int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
    using Real = int (*)(int, int, int, struct epoll_event*);
    static const Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "epoll_ctl"));
    if (op == EPOLL_CTL_ADD && g_failing_adds.load() > 0 && is_connection(fd) &&
        g_failing_adds.fetch_sub(1) > 0) {
        ++g_failed_adds;
        errno = ENOSPC;
        return -1;
    }
    return real(epfd, op, fd, event);
}

extern "C" int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
    using Real = int (*)(int, int, int, void*, socklen_t*);
    static const Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "getsockopt"));
    if (level == IPPROTO_TCP && name == TCP_INFO && g_tcp_info_fails.load()) {
        ++g_tcp_info_refused;
        errno = EOPNOTSUPP;
        return -1;
    }
    return real(fd, level, name, value, len);
}

namespace lake::test {
namespace {

// The refused connection is closed at once (no hang until a timeout), its slot is free again,
// and the server goes on: the next connection and one already open are answered.
TEST(KernelFaults, AConnectionEpollWillNotWatchIsClosedAndTheServerGoesOn) {
    config::ServerConfig c = test_config();
    c.io_backend = "epoll";
    c.workers = 1;
    c.max_connections_per_worker = 2;  // a slot the refused connection kept would show
    RunningServer s(c);
    ASSERT_EQ(s.error(), "");
    Client open(s.port());
    ASSERT_TRUE(open.send(get("/plaintext")));
    ASSERT_EQ(open.read_response().status, 200);

    g_failing_adds = 1;
    Client refused(s.port(), 3000);
    EXPECT_TRUE(refused.closed_by_server());  // within the timeout, without a request
    EXPECT_EQ(g_failed_adds.load(), 1);
    EXPECT_EQ(g_failing_adds.load(), 0);

    Client next(s.port());  // the refused one's slot is free again: this one gets it
    ASSERT_TRUE(next.send(get("/json")));
    EXPECT_EQ(next.read_response().status, 200);
    ASSERT_TRUE(open.send(get("/plaintext")));
    EXPECT_EQ(open.read_response().status, 200);
}

// Without TCP_INFO the server cannot see a client's progress: it counts none, so clients that
// hold the 4-buffer ring behind answers they do not read are still cut under pressure, and the
// client that reads is answered (as in Resources.ClientsHoldingReceiveBuffersWithoutReading...,
// which reads TCP_INFO). A server that took "cannot tell" for "reading" would leave the reader
// waiting until the send timeout (30 s) and its 8 s run out.
TEST(KernelFaults, WithoutTcpInfoClientsHoldingTheRingWithoutReadingAreStillCut) {
    RunningServer s(pressure_config(), &big_answer_route);
    ASSERT_EQ(s.error(), "");
    g_tcp_info_fails = true;
    EXPECT_EQ(status_for_a_reader_behind_backed_up_clients(s), 200);
    const server::WorkerCounters counters = s.server().counters();
    EXPECT_GT(counters.timeouts[static_cast<int>(server::TimeoutKind::SendUnderPressure)].get(),
              0u);
    EXPECT_GT(g_tcp_info_refused.load(), 0);  // the server did ask, and was refused
    g_tcp_info_fails = false;
}

}  // namespace
}  // namespace lake::test
