// config/server_config.hpp — every setting of lake-server, with its built-in default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../handlers/plugin_config.hpp"

namespace lake::config {

struct ServerConfig {
    std::string host = "0.0.0.0";
    std::uint16_t port = 8080;
    unsigned workers = 0;     // 0: one per CPU in the process's affinity mask
    bool pin_workers = true;  // worker i on the i-th CPU of that mask (round-robin)
    // New connections go to the worker pinned on the CPU that handles their packets (a BPF
    // program on the SO_REUSEPORT group) rather than by hash, and open ones move when their
    // packets move: needs pinned workers, at most one per CPU.
    bool steer_by_cpu = true;

    // Connections and their memory. Each connection gets `connection_arena` bytes of its worker's
    // lake, split in two views: `request_view` for parsing, the rest for responses.
    std::size_t max_connections_per_worker = 4096;
    std::size_t connection_arena = 64 * 1024;
    std::size_t request_view = 32 * 1024;

    // Request limits (answered with 414, 431, 431, 413).
    std::size_t max_target = 8 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_headers = 64;
    std::size_t max_body = 1024 * 1024;
    // Bodies (or responses) that outgrow a connection's views borrow one of these per-worker
    // buffers, each 2 * max_body + 64 KiB of address space, touched only as far as used.
    std::size_t large_buffers_per_worker = 8;
    // The most of them one client (IPv4 address, IPv6 /64) holds at once; 0: no limit (behind a
    // proxy, where every request comes from one address).
    std::size_t large_buffers_per_client = 2;

    // The I/O backend: "auto" (io_uring, or epoll where io_uring cannot be set up: container
    // seccomp profiles, kernel.io_uring_disabled), "io_uring" (never fall back), "epoll".
    std::string io_backend = "auto";
    // Receive buffers per worker (io_uring's provided-buffer ring, or epoll's free list): count
    // must be a power of two.
    unsigned recv_buffers = 4096;
    std::size_t recv_buffer_size = 2048;
    unsigned ring_entries = 1024;

    // Timeouts, in seconds.
    unsigned header_timeout_s = 10;  // a request's headers and body must arrive within this...
    // ... plus a second for each this many bytes of its body received (bytes a second; 0: none),
    // so that a large body that keeps coming at this rate is never cut, and a slower one is cut
    // soon after
    std::size_t body_min_rate = 16 * 1024;
    unsigned keepalive_timeout_s = 60;  // an idle keep-alive connection is closed after this
    unsigned send_timeout_s = 30;       // a client that does not read its responses
    // ... while the worker's receive buffers have run out and it holds some of them unparsed
    unsigned send_under_pressure_s = 2;
    unsigned linger_timeout_s = 2;    // draining input after the last response of a connection
    unsigned idle_release_s = 2;      // an idle connection's arena pages go back to the kernel
    unsigned drain_timeout_s = 10;    // SIGTERM: requests in flight get this long to finish
    unsigned handler_timeout_s = 30;  // a waiting handler that has not begun its answer: 504

    // Health endpoints ("" turns one off): alive while the process serves; ready while it
    // accepts new connections (503 once it drains).
    std::string health_live_path = "/healthz";
    std::string health_ready_path = "/readyz";
    // The Prometheus page ("" turns it off).
    std::string metrics_path = "/metrics";
    // An address of its own for it ("127.0.0.1:9100"); "" serves it on the public port.
    std::string metrics_listen;

    // The access log: a file ("" for none), one line per answered request, "combined" or "json".
    std::string access_log;
    std::string access_log_format = "combined";
    // The error log on stderr: "error", "warn", "info" or "debug".
    std::string log_level = "warn";

    std::string server_name = "lake";

    // Handler plugins loaded at start-up, in order: [plugins] load (and --plugin) first, then
    // the [plugins.NAME] tables in the order of their names.
    std::vector<handlers::PluginConfig> plugins;

    // [[static]] tables: a directory served under a URL prefix, any number of them.
    struct StaticMount {
        std::string prefix;  // "/files"
        std::string root;    // "/srv/www"
        // The Cache-Control of its 200, 206 and 304 answers ("" for none): "max-age=3600",
        // "no-cache", "public, max-age=31536000, immutable".
        std::string cache_control;
        // Send NAME.br or NAME.gz, when it lies beside NAME, to a client that accepts it.
        bool precompressed = false;
    };
    std::vector<StaticMount> static_mounts;

    // [[proxy]] tables: requests under a URL prefix forwarded to upstream servers (round robin).
    struct ProxyMount {
        std::string prefix;                  // "/api"
        std::vector<std::string> upstreams;  // "127.0.0.1:9001", "[::1]:9002", "app:8080"
        bool strip_prefix = false;           // forward "/api/x" as "/x"
        double connect_timeout_s = 5;        // no connection by then: the next upstream
        double read_timeout_s = 30;          // silent this long while a response is due: 504
        double fail_timeout_s = 5;           // an upstream that failed is skipped this long
        unsigned pool_size = 128;            // idle keep-alive connections kept, per worker
    };
    std::vector<ProxyMount> proxy_mounts;
};

}  // namespace lake::config
