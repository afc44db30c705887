// tests/server/scripted_upstream.hpp — a small upstream HTTP server for the proxy tests: it reads
// each request whole (Content-Length or chunked, decoded strictly enough to count requests) and
// answers what the test's script writes, one thread per connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lake::test {

class ScriptedUpstream {
  public:
    struct Request {
        std::string head;  // request line and headers, up to and including the blank line
        std::string body;  // decoded
        int connection = 0;
        int index = 0;  // the request's number on its connection, from 0
    };
    // Answers `request` on `fd` (write to it, close it, or wait); returns false to close.
    using Script = std::function<bool(int fd, const Request& request)>;

    explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
        ::listen(listen_fd_, 128);
        socklen_t len = sizeof(a);
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~ScriptedUpstream() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        acceptor_.join();
        std::vector<std::thread> threads;
        {
            std::lock_guard lock(mutex_);
            threads.swap(threads_);
        }
        for (std::thread& t : threads) t.join();
        ::close(listen_fd_);
    }
    ScriptedUpstream(const ScriptedUpstream&) = delete;
    ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::vector<Request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    int connections() const { return connections_.load(); }
    // Connections whose peer (the proxy) closed them.
    int closed_by_peer() const { return closed_by_peer_.load(); }
    bool stopping() const { return stop_.load(); }

    // Writes all of `bytes`.
    static void write(int fd, std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // A 200 with `body` and its length.
    static std::string ok(std::string_view body, std::string_view more_headers = "") {
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
               std::string(more_headers) + "\r\n" + std::string(body);
    }

  private:
    void accept_loop() {
        for (;;) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stop_) return;
                continue;
            }
            const int id = connections_++;
            std::lock_guard lock(mutex_);
            threads_.emplace_back([this, fd, id] { serve(fd, id); });
        }
    }

    // Reads more into `buf`; false at EOF, an error, or when the upstream stops.
    bool fill(int fd, std::string& buf) {
        for (;;) {
            pollfd p{fd, POLLIN, 100};
            const int r = ::poll(&p, 1, 100);
            if (stop_) return false;
            if (r <= 0) continue;
            char tmp[65536];
            const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
            if (n <= 0) {
                if (n == 0) ++closed_by_peer_;
                return false;
            }
            buf.append(tmp, static_cast<std::size_t>(n));
            return true;
        }
    }

    bool read_request(int fd, std::string& buf, Request& r) {
        std::size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos)
            if (!fill(fd, buf)) return false;
        r.head = buf.substr(0, end + 4);
        buf.erase(0, end + 4);
        std::string lower = r.head;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (const std::size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
            const std::size_t len = std::stoul(lower.substr(cl + 17));
            while (buf.size() < len)
                if (!fill(fd, buf)) return false;
            r.body = buf.substr(0, len);
            buf.erase(0, len);
        } else if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
            for (;;) {
                std::size_t eol;
                while ((eol = buf.find("\r\n")) == std::string::npos)
                    if (!fill(fd, buf)) return false;
                const std::size_t size = std::stoul(buf.substr(0, eol), nullptr, 16);
                while (buf.size() < eol + 2 + size + 2)
                    if (!fill(fd, buf)) return false;
                r.body.append(buf, eol + 2, size);
                buf.erase(0, eol + 2 + size + 2);
                if (size == 0) break;
            }
        }
        return true;
    }

    void serve(int fd, int id) {
        std::string buf;
        for (int index = 0;; ++index) {
            Request r;
            r.connection = id;
            r.index = index;
            if (!read_request(fd, buf, r)) break;
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(r);
            }
            if (!script_(fd, r)) break;
        }
        ::close(fd);
    }

    Script script_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> closed_by_peer_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> threads_;
    std::vector<Request> requests_;
};

}  // namespace lake::test
