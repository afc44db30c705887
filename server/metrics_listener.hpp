// server/metrics_listener.hpp — the metrics page on an address of its own ([metrics] listen =
// "127.0.0.1:9100"), for a scraper that must not share the public port: one small thread, one
// client at a time, one request per connection, each exchange bounded by a deadline. The page is
// the same (Server::write_metrics).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lake::http {
class Response;
}

namespace lake::server {

class MetricsListener {
  public:
    ~MetricsListener() { stop(); }
    // Listens on `address` ("host:port", "[v6]:port") and serves `path`, written by `page` (on
    // the listener's thread). Returns "" or why not. `shared`: a generation under the master, whose
    // previous generation may still hold the address (both serve it until the old one exits).
    std::string start(const std::string& address, const std::string& path,
                      std::function<void(http::Response&)> page, bool shared);
    void stop();
    std::uint16_t port() const noexcept { return port_; }

    // How long one client may take to send its request and read the page.
    static constexpr std::chrono::seconds kExchange{2};

  private:
    using Clock = std::chrono::steady_clock;
    void serve() noexcept;
    void answer(int fd) noexcept;
    bool wait_for(int fd, short events, Clock::time_point deadline) const noexcept;
    bool send_all(int fd, std::string_view bytes, Clock::time_point deadline) const noexcept;

    std::function<void(http::Response&)> page_;
    std::string path_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace lake::server
