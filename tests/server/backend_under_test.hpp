// tests/server/backend_under_test.hpp — the I/O backend the server tests run against. The test
// command runs every server test twice: as built (io_uring) and with LAKE_TEST_IO=epoll. Servers
// the tests start in-process take it from test_config(), and lake-server children get `--io`.
#pragma once

#include <cstdlib>
#include <string>

namespace lake::test {

// "epoll", "io_uring", or "" (the configuration's own choice: "auto").
inline std::string backend_under_test() {
    const char* io = std::getenv("LAKE_TEST_IO");
    return io != nullptr ? io : "";
}

}  // namespace lake::test
