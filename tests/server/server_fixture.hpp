// tests/server/server_fixture.hpp — a lake-server running in the test process on a free port.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace lake::test
