// What the epoll backend does when the kernel refuses to watch a connection (EPOLL_CTL_ADD fails:
// ENOSPC at fs.epoll.max_user_watches, ENOMEM). The failure is injected: this test binary defines
// epoll_ctl itself, so the server code linked into it calls this one, which fails the ADDs the
// test asks for and passes everything else to the C library's. A binary of its own, so that no
// other test runs with the wrapper.
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include "server_fixture.hpp"

namespace {

std::atomic<int> g_failing_adds{0};  // how many more connection ADDs fail (ENOSPC)
std::atomic<int> g_failed_adds{0};   // how many did

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

namespace lake::test {
namespace {

// The refused connection is closed at once (no hang until a timeout), its slot is free again,
// and the server goes on: the next connection and one already open are answered.
TEST(EpollFaults, AConnectionTheKernelWillNotWatchIsClosedAndTheServerGoesOn) {
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

    for (int i = 0; i < 3; ++i) {  // the refused one's slot is free: 2 slots serve them in turn
        Client next(s.port());
        ASSERT_TRUE(next.send(get("/json")));
        EXPECT_EQ(next.read_response().status, 200) << i;
    }
    ASSERT_TRUE(open.send(get("/plaintext")));
    EXPECT_EQ(open.read_response().status, 200);
}

}  // namespace
}  // namespace lake::test
