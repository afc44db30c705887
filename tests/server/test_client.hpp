// tests/server/test_client.hpp — a small blocking HTTP/1.1 client over real sockets, for tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace lake::test {

struct HttpResponse {
    int status = 0;  // 0: no (complete) response arrived
    std::string reason;
    std::multimap<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
    std::size_t count(const std::string& name) const { return headers.count(name); }
};

class Client {
  public:
    // `from`: the local address to connect from (another loopback address is another client).
    // `receive_buffer` (bytes, 0: the kernel's default) set before connecting, so that the
    // window stays that small: a client that does not read then pushes back on the server soon.
    explicit Client(std::uint16_t port, int timeout_ms = 5000, const char* from = nullptr,
                    int receive_buffer = 0)
        : timeout_ms_(timeout_ms) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (receive_buffer != 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
        if (from != nullptr) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            ::inet_pton(AF_INET, from, &local.sin_addr);
            ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
        }
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    }
    ~Client() {
        if (fd_ >= 0) ::close(fd_);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }
    // Something (a response, or EOF) is ready to be read right now.
    bool readable_now() const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }
    int fd() const { return fd_; }

    bool send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads one response (Content-Length or chunked framing, or to EOF). HEAD: `head` = true.
    HttpResponse read_response(bool head = false) {
        HttpResponse r;
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) return r;
        parse_head(buf_.substr(0, end), r);
        buf_.erase(0, end + 4);
        if (head || r.status == 204 || r.status == 304 || r.status / 100 == 1) return r;
        if (r.count("content-length")) {
            const std::size_t len = std::stoul(r.header("content-length"));
            while (buf_.size() < len)
                if (!fill()) {
                    r.status = 0;
                    return r;
                }
            r.body = buf_.substr(0, len);
            buf_.erase(0, len);
        } else if (r.header("transfer-encoding") == "chunked") {
            // size line, data, CRLF ... "0" CRLF CRLF (no trailers from lake-server)
            for (;;) {
                std::size_t eol;
                while ((eol = buf_.find("\r\n")) == std::string::npos)
                    if (!fill()) return r.status = 0, r;
                const std::size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
                while (buf_.size() < eol + 2 + size + 2)
                    if (!fill()) return r.status = 0, r;
                r.body.append(buf_, eol + 2, size);
                buf_.erase(0, eol + 2 + size + 2);
                if (size == 0) break;
            }
        } else {
            while (fill()) {
            }
            r.body = std::move(buf_);
            buf_.clear();
        }
        return r;
    }

    // True when the server closed the connection (EOF) within the timeout, with no more data.
    bool closed_by_server() {
        if (!buf_.empty()) return false;
        char c;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms_) <= 0) return false;
        const ssize_t n = ::recv(fd_, &c, 1, 0);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    }

    // Reads everything until EOF.
    std::string read_all() {
        while (fill()) {
        }
        std::string all = std::move(buf_);
        buf_.clear();
        return all;
    }

  private:
    bool fill() {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms_) <= 0) return false;
        char tmp[65536];
        const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
        if (n <= 0) return false;
        buf_.append(tmp, static_cast<std::size_t>(n));
        received_ += static_cast<std::size_t>(n);
        return true;
    }

    static void parse_head(const std::string& head, HttpResponse& r) {
        std::size_t line_end = head.find("\r\n");
        const std::string status_line = head.substr(0, line_end);
        if (status_line.rfind("HTTP/1.1 ", 0) == 0 && status_line.size() >= 12) {
            r.status = std::stoi(status_line.substr(9, 3));
            r.reason = status_line.size() > 13 ? status_line.substr(13) : "";
        }
        while (line_end != std::string::npos && line_end < head.size()) {
            const std::size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            const std::string line = head.substr(start, line_end - start);
            const std::size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (char& ch : name)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            std::size_t v = colon + 1;
            while (v < line.size() && line[v] == ' ') ++v;
            r.headers.emplace(name, line.substr(v));
        }
    }

    int fd_ = -1;
    int timeout_ms_;
    bool connected_ = false;
    std::string buf_;
    std::size_t received_ = 0;

  public:
    // Every byte received on this connection so far.
    std::size_t bytes_received() const { return received_; }
};

// A plain blocking socket connected to 127.0.0.1:port (-1 if it cannot connect), with a
// receive buffer of `rcvbuf` bytes when given: set before connect, it is the window the server
// sees.
inline int raw_socket(std::uint16_t port, int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// `n` bytes of a pattern that does not repeat every power of two (a misplaced piece shows).
inline std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

// `body` in chunked transfer coding, in chunks of `chunk` bytes, with the last chunk.
inline std::string chunked(std::string_view body, std::size_t chunk) {
    std::string out;
    char size[32];
    for (std::size_t i = 0; i < body.size(); i += chunk) {
        const std::size_t n = std::min(chunk, body.size() - i);
        std::snprintf(size, sizeof(size), "%zx\r\n", n);
        out += size;
        out.append(body.substr(i, n));
        out += "\r\n";
    }
    return out + "0\r\n\r\n";
}

inline std::string get(std::string_view path, std::string_view extra = "") {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

}  // namespace lake::test
