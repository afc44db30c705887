// tests/server/server_fixture.hpp — a lake-server running in the test process on a free port.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "../../handlers/builtin.hpp"
#include "../../server/server.hpp"
#include "backend_under_test.hpp"
#include "test_client.hpp"

namespace lake::test {

inline config::ServerConfig test_config() {
    config::ServerConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    c.pin_workers = false;
    c.max_connections_per_worker = 1024;
    c.recv_buffers = 256;
    c.large_buffers_per_worker = 4;
    if (!backend_under_test().empty()) c.io_backend = backend_under_test();
    return c;
}

// Two workers pinned to the first two allowed CPUs, connections steered by CPU (and moved):
// the set-up of the tests that place clients on CPUs with PinnedThread.
inline config::ServerConfig steered_config() {
    config::ServerConfig c = test_config();
    c.workers = 2;
    c.pin_workers = true;
    c.steer_by_cpu = true;
    return c;
}

class RunningServer {
  public:
    // `more_routes` adds the test's own handlers beside the built-in ones.
    explicit RunningServer(config::ServerConfig config = test_config(),
                           void (*more_routes)(handlers::Router&) = nullptr) {
        handlers::Router router;
        handlers::add_builtin_handlers(router);
        if (more_routes != nullptr) more_routes(router);
        server_ = std::make_unique<server::Server>(std::move(config), std::move(router));
        error_ = server_->start();
    }
    const std::string& error() const { return error_; }
    std::uint16_t port() const { return server_->port(); }
    server::Server& server() { return *server_; }

  private:
    std::unique_ptr<server::Server> server_;
    std::string error_;
};

class ServerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = new RunningServer();
        ASSERT_EQ(server_->error(), "");
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static std::uint16_t port() { return server_->port(); }

    // One request on a fresh connection.
    static HttpResponse request(std::string_view raw, bool head = false) {
        Client c(port());
        EXPECT_TRUE(c.connected());
        EXPECT_TRUE(c.send(raw));
        return c.read_response(head);
    }

    static inline RunningServer* server_ = nullptr;
};

// Runs a lake-server with configuration `c` in a forked child whose file limit is `descriptors`
// (the tests of what happens at the limit: the test process keeps its own). Returns its port, or
// 0 when it did not start; `child` is its pid (the caller kills and reaps it).
inline std::uint16_t start_server_in_child(const config::ServerConfig& c, int descriptors,
                                           pid_t& child) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return 0;
    child = ::fork();
    if (child == 0) {
        ::close(pipe_fds[0]);
        const rlimit lim{static_cast<rlim_t>(descriptors), static_cast<rlim_t>(descriptors)};
        ::setrlimit(RLIMIT_NOFILE, &lim);
        RunningServer s(c);
        const std::uint16_t p = s.error().empty() ? s.port() : 0;
        (void)!::write(pipe_fds[1], &p, sizeof(p));
        ::pause();
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::uint16_t p = 0;
    if (::read(pipe_fds[0], &p, sizeof(p)) != static_cast<ssize_t>(sizeof(p))) p = 0;
    ::close(pipe_fds[0]);
    return p;
}

}  // namespace lake::test
