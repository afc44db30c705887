#include "metrics_listener.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <lake/lake.hpp>

#include "../handlers/response.hpp"
#include "listener.hpp"

namespace lake::server {

std::string MetricsListener::start(const std::string& address, const std::string& path,
                                   std::function<void(http::Response&)> page, bool shared) {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size())
        return "[metrics] listen must be host:port (is '" + address + "')";
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    int port = 0;
    for (char c : address.substr(colon + 1)) {
        if (c < '0' || c > '9' || port > 65535)
            return "[metrics] listen: bad port in '" + address + "'";
        port = port * 10 + (c - '0');
    }
    if (port > 65535) return "[metrics] listen: bad port in '" + address + "'";
    std::string error =
        shared ? std::string() : check_port_free(host, static_cast<std::uint16_t>(port));
    if (!error.empty()) return "[metrics] listen: " + error;
    fd_ = open_listener(host, static_cast<std::uint16_t>(port), error);
    if (fd_ < 0) return "[metrics] listen: " + error;
    port_ = bound_port(fd_);
    page_ = std::move(page);
    path_ = path;
    thread_ = std::thread([this] { serve(); });
    return {};
}

void MetricsListener::stop() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void MetricsListener::serve() noexcept {
    while (!stopping_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        answer(c);
        ::close(c);
    }
}

// One request: its head (8 KiB at most, 2 s at most), then the page or 404, then close.
void MetricsListener::answer(int fd) noexcept {
    char head[8192];
    std::size_t got = 0;
    while (got < sizeof(head)) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) return;
        const ssize_t n = ::recv(fd, head + got, sizeof(head) - got, 0);
        if (n <= 0) return;
        got += static_cast<std::size_t>(n);
        if (std::string_view(head, got).find("\r\n\r\n") != std::string_view::npos) break;
    }
    const std::string_view text(head, got);
    const std::size_t sp1 = text.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : text.find(' ', sp1 + 1);
    std::string_view target =
        sp2 == std::string_view::npos ? std::string_view() : text.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    const bool found = text.substr(0, sp1) == "GET" && target == path_;

    lake::Lake scratch(64 * 1024);
    lake::Lake out(512 * 1024);
    http::Response r;
    r.bind(&scratch, &out);
    if (found)
        page_(r);
    else
        r.text(404, "not found\n");
    char line[256];
    const int n =
        std::snprintf(line, sizeof(line),
                      "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      r.status, found ? "OK" : "Not Found", static_cast<int>(r.content_type.size()),
                      r.content_type.data(), r.body.size());
    if (n <= 0) return;
    (void)!::send(fd, line, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    (void)!::send(fd, r.body.data(), r.body.size(), MSG_NOSIGNAL);
}

}  // namespace lake::server
