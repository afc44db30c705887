#include "metrics_listener.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            // Out of descriptors or memory, the client stays in the backlog and poll() says so
            // again at once: a pause instead of a spin until some are free.
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                ::poll(nullptr, 0, 100);
            continue;
        }
        answer(c);
        ::close(c);
    }
}

// Waits until `fd` is ready for `events`, in slices so that stop() is not held up; false once
// `deadline` passed or the listener stops.
bool MetricsListener::wait_for(int fd, short events, Clock::time_point deadline) const noexcept {
    for (;;) {
        if (stopping_.load()) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

// One request per connection: its head (8 KiB at most), then the page (GET, HEAD), 405 (another
// method) or 404 (another path), then close. The whole exchange has one deadline (kExchange):
// the listener serves one client at a time, so a client that trickles its head or reads nothing
// must not hold it, and with it every other scrape and the server's shutdown, for longer.
void MetricsListener::answer(int fd) noexcept {
    const Clock::time_point deadline = Clock::now() + kExchange;
    char head[8192];
    std::size_t got = 0;
    while (got < sizeof(head)) {
        if (!wait_for(fd, POLLIN, deadline)) return;
        const ssize_t n = ::recv(fd, head + got, sizeof(head) - got, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
        if (n < 0) continue;
        got += static_cast<std::size_t>(n);
        if (std::string_view(head, got).find("\r\n\r\n") != std::string_view::npos) break;
    }
    const std::string_view text(head, got);
    const std::size_t sp1 = text.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : text.find(' ', sp1 + 1);
    std::string_view target =
        sp2 == std::string_view::npos ? std::string_view() : text.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    const std::string_view method = text.substr(0, sp1);
    const bool head_only = method == "HEAD";
    const bool found = target == path_;
    const bool allowed = method == "GET" || head_only;

    lake::Lake scratch(64 * 1024);
    lake::Lake out(512 * 1024);
    http::Response r;
    r.bind(&scratch, &out);
    if (!found)
        r.text(404, "not found\n");
    else if (!allowed)
        r.text(405, "method not allowed\n");
    else
        page_(r);  // for HEAD too: its Content-Length is the page's
    const std::string_view reason = http::reason_phrase(r.status);
    char line[256];
    const int n = std::snprintf(line, sizeof(line),
                                "HTTP/1.1 %d %.*s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
                                "%sConnection: close\r\n\r\n",
                                r.status, static_cast<int>(reason.size()), reason.data(),
                                static_cast<int>(r.content_type.size()), r.content_type.data(),
                                r.body.size(), r.status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof(line)) return;
    if (!send_all(fd, std::string_view(line, static_cast<std::size_t>(n)), deadline)) return;
    if (!head_only) (void)send_all(fd, r.body, deadline);
}

// All of `bytes`, or false when the client stopped reading until the deadline, or left.
bool MetricsListener::send_all(int fd, std::string_view bytes,
                               Clock::time_point deadline) const noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (!wait_for(fd, POLLOUT, deadline)) return false;
    }
    return true;
}

}  // namespace lake::server
