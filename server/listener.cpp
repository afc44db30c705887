#include "listener.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lake::server {

namespace {
// The passive TCP addresses of host:port (every local address when host is empty); 0 or the
// getaddrinfo error. The caller frees `found`.
int resolve(const std::string& host, std::uint16_t port, addrinfo*& found) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    found = nullptr;
    const std::string service = std::to_string(port);
    return ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
}
}  // namespace

int open_listener(const std::string& host, std::uint16_t port, std::string& error) {
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = resolve(host, port, found); rc != 0) {
        error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
        return -EINVAL;
    }
    int fd = -1;
    int err = 0;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
            err = errno;
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
        error = "cannot listen on " + host + ":" + service + ": " + std::strerror(err);
        return -err;
    }
    return fd;
}

std::string check_port_free(const std::string& host, std::uint16_t port) {
    if (port == 0) return {};  // any free port: nobody else's by construction
    addrinfo* found = nullptr;
    if (resolve(host, port, found) != 0) return {};  // open_listener reports it
    const std::string service = std::to_string(port);
    std::string error;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        // SO_REUSEADDR (TIME_WAIT leftovers are fine) but not SO_REUSEPORT: a bind succeeds
        // only if no socket listens there, ours or another process's.
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        const bool busy = ::bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE;
        ::close(fd);
        if (busy) {
            error = "cannot listen on " + host + ":" + service +
                    ": address in use (another server is listening there)";
            break;
        }
    }
    ::freeaddrinfo(found);
    return error;
}

int steer_connections_by_cpu(int fd, const std::vector<int>& cpu_of_listener) {
    // Classic BPF, run by the kernel for each new connection: load the CPU that is handling the
    // SYN, return the index of the listener whose worker is pinned there; any other CPU returns
    // an index past the end, which makes the kernel fall back to its usual hash.
    std::vector<sock_filter> prog;
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(SKF_AD_OFF + SKF_AD_CPU)));
    for (std::size_t i = 0; i < cpu_of_listener.size(); ++i) {
        const auto cpu = static_cast<__u32>(cpu_of_listener[i]);
        prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cpu, 0, 1));
        prog.push_back(BPF_STMT(BPF_RET | BPF_K, static_cast<__u32>(i)));
    }
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffffU));
    if (prog.size() > BPF_MAXINSNS) return -E2BIG;
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog)) != 0)
        return -errno;
    return 0;
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace lake::server
