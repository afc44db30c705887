// lake-server: the command line, signals, and the start-up line.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>

#include "../config/load_config.hpp"
#include "../handlers/builtin.hpp"
#include "../handlers/plugin.hpp"
#include "log.hpp"
#include "master.hpp"
#include "server.hpp"

// Where the request path's hot run (LAKE_HOT, lake/include/lake/config.hpp) starts. main.cpp's
// object is the first the linker lays out, so this block opens the hot run: aligned to 4 KiB, the
// instruction cache's 64 sets see every hot line at the same place whatever the cold and start-up
// code before the run weighs (without it, 1.5 KiB more of cold code anywhere dealt the request
// path's lines into other sets: 2 to 37 simulated misses a request). llhttp, the other code every
// request runs, starts at a 4 KiB boundary too (server/http/llhttp_aligned.c, and its api.c and
// http.c: llhttp_api_aligned.c), so the hand is dealt by the hot code, llhttp, the built-in
// handlers (at a 4 KiB boundary as well, handlers/builtin.cpp), the plugin, libc, and what
// per-request code is in none of them. The lead below (int3, never run) is the offset that gave
// the fewest misses on the GET and POST paths (`loadtest/instructions --cache-sim`, offsets 0 to
// 3,840 tried; docs/loadtest.md, fourteenth to nineteenth sessions): when a change deals a bad
// hand, try the offsets again.
#if defined(__x86_64__) && defined(__ELF__)
asm(".section .text.hot.lake_hot_run_start,\"ax\",@progbits\n"
    ".p2align 12\n"
    ".skip 256, 0xcc\n"
    ".previous\n");
#endif

int main(int argc, char** argv) {
    lake::config::ServerConfig config;
    std::string config_error;
    CLI::App app{
        "lake-server: a thread-per-core io_uring HTTP/1.1 server on per-connection arenas"};
    app.set_version_flag("--version", std::string("lake-server ") + lake::kVersion);
    // Defined first, so that CLI11 applies it before the options below: they override the file.
    app.add_option_function<std::string>(
        "--config",
        [&](const std::string& path) { config_error = lake::config::load_file(path, config); },
        "TOML configuration file (see config/lake-server.toml); options given here override it");
    app.add_option("--host", config.host, "Address to listen on")->capture_default_str();
    app.add_option("--port", config.port, "TCP port (0: any free port)")->capture_default_str();
    app.add_option("--workers", config.workers,
                   "Worker threads (0: one per CPU this process may use)")
        ->capture_default_str();
    app.add_option("--max-connections", config.max_connections_per_worker,
                   "Connection slots per worker")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--connection-arena", config.connection_arena,
                   "Bytes of arena per connection (request view + response view)")
        ->capture_default_str();
    app.add_option("--max-body", config.max_body, "Largest request body accepted (413 above)")
        ->capture_default_str();
    app.add_option("--io", config.io_backend,
                   "I/O backend: auto (io_uring, epoll where io_uring is refused), io_uring, epoll")
        ->check(CLI::IsMember({"auto", "io_uring", "epoll"}))
        ->capture_default_str();
    app.add_flag("!--no-pin", config.pin_workers, "Do not pin workers to CPUs");
    app.add_flag("!--no-steer", config.steer_by_cpu,
                 "Spread connections by the kernel's hash, not by the CPU handling them");
    std::vector<std::string> cli_plugins;
    app.add_option("--plugin", cli_plugins,
                   "Handler plugin to load, as path.so or path.so:argument (repeatable)");
    bool master = false;
    app.add_flag("--master", master,
                 "Run as a supervising master: SIGHUP then starts a new generation on the same "
                 "sockets and drains the old one (zero-downtime restart)");
    bool check_only = false;
    app.add_flag("-t,--check-config", check_only,
                 "Read the configuration, apply the command line, load the plugins, then exit: 0 "
                 "when all is well, 2 with the reason otherwise (like nginx -t)");
    CLI11_PARSE(app, argc, argv);
    for (const std::string& spec : cli_plugins)
        config.plugins.push_back(lake::handlers::plugin_from_spec(spec));
    if (config.request_view >= config.connection_arena)
        config.request_view = config.connection_arena / 2;
    if (config_error.empty()) config_error = lake::config::validate(config);
    if (!config_error.empty()) {
        std::fprintf(stderr, "lake-server: %s\n", config_error.c_str());
        return 2;
    }

    lake::server::log::Level level = lake::server::log::Level::Warn;
    (void)lake::server::log::parse_level(config.log_level, level);  // validated above
    lake::server::log::set_level(level);

    if (master && !check_only) {
        std::vector<std::string> generation_argv;
        for (int i = 0; i < argc; ++i)
            if (std::string_view(argv[i]) != "--master") generation_argv.emplace_back(argv[i]);
        return lake::server::run_master(config, generation_argv);
    }

    lake::handlers::Router router;
    lake::handlers::add_builtin_handlers(router);
    if (std::string err = router.take_error(); !err.empty()) {
        std::fprintf(stderr, "lake-server: built-in handlers: %s\n", err.c_str());
        return 2;
    }
    for (const lake::handlers::PluginConfig& plugin : config.plugins) {
        if (std::string err = lake::handlers::load_plugin(plugin, router); !err.empty()) {
            std::fprintf(stderr, "lake-server: %s\n", err.c_str());
            return 2;
        }
    }

    if (check_only) {
        // The server's own routes (health, metrics, [[static]] mounts) against the plugins'.
        lake::server::Server server(config, std::move(router));
        if (std::string err = server.check_routes(); !err.empty()) {
            std::fprintf(stderr, "lake-server: %s\n", err.c_str());
            return 2;
        }
        std::printf("lake-server: the configuration is valid (%zu plugin%s loaded)\n",
                    config.plugins.size(), config.plugins.size() == 1 ? "" : "s");
        return 0;
    }

    // Workers inherit this mask, so SIGINT/SIGTERM reach only the main thread's sigwait.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);  // reopen the access log
    sigaddset(&signals, SIGUSR2);  // from the master: drain, the next generation takes over
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    lake::server::Server server(config, std::move(router));
    server.inherit_listeners(lake::server::inherited_listeners());  // under --master
    // Every worker died: stop, and exit with a failure status (below) for the supervisor.
    server.on_all_workers_failed([] { ::kill(::getpid(), SIGTERM); });
    if (std::string err = server.start(); !err.empty()) {
        std::fprintf(stderr, "lake-server: %s\n", err.c_str());
        return 2;
    }
    // The master hears first: whoever reads the start line may act on it at once (a supervisor's
    // kill), and the byte in the ready pipe outlives this process; the other way round, a death
    // between the two would read as a generation that never started.
    lake::server::tell_master_ready();
    if (!server.warnings().empty())
        std::fprintf(stderr, "lake-server: %s", server.warnings().c_str());
    std::printf("%s\n", server.describe().c_str());
    std::fflush(stdout);

    // The first SIGTERM/SIGINT drains: listeners close, requests in flight are finished and
    // answered, then the process exits, at the latest after [timeouts] drain; a second signal
    // stops at once.
    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && sig == SIGUSR1) server.reopen_logs();
    lake::server::log::info("signal {}: draining (at most {} s)", sig, config.drain_timeout_s);
    server.drain(sig == SIGUSR2);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_timeout_s);
    const timespec poll{0, 50 * 1000 * 1000};
    bool second_signal = false;
    while (!server.workers_done() && std::chrono::steady_clock::now() < deadline) {
        const int got = sigtimedwait(&signals, nullptr, &poll);
        if (got == SIGUSR1) server.reopen_logs();
        if (got > 0 && got != SIGUSR1) {
            second_signal = true;
            break;
        }
    }
    server.stop();
    const lake::server::WorkerCounters c = server.counters();
    std::string per_worker;
    for (std::uint64_t r : server.requests_per_worker()) {
        if (!per_worker.empty()) per_worker += '/';
        per_worker += std::to_string(r);
    }
    std::fprintf(
        stderr,
        "lake-server: stopped by signal %d%s: %llu connections drained, %llu cut; after %llu "
        "connections, %llu requests "
        "(per worker: %s; moved to the worker on their CPU: %llu; handed to a sibling with "
        "room: %llu; refused for lack of a "
        "slot: %llu, refused at the file limit: %llu, receive pauses: %llu, ENOBUFS: %llu, "
        "accept errors: %llu, handler responses refused: %llu)\n",
        sig, second_signal ? " (and a second one)" : "", static_cast<unsigned long long>(c.drained),
        static_cast<unsigned long long>(c.cut), static_cast<unsigned long long>(c.accepted),
        static_cast<unsigned long long>(c.requests), per_worker.c_str(),
        static_cast<unsigned long long>(c.moved_out), static_cast<unsigned long long>(c.handed_off),
        static_cast<unsigned long long>(c.refused_no_slot),
        static_cast<unsigned long long>(c.refused_fd_limit),
        static_cast<unsigned long long>(c.recv_pauses), static_cast<unsigned long long>(c.enobufs),
        static_cast<unsigned long long>(c.accept_errors),
        static_cast<unsigned long long>(c.bad_responses));
    if (server.failed_workers() != 0) {
        std::fprintf(stderr, "lake-server: %u worker(s) had failed\n", server.failed_workers());
        return 1;
    }
    return 0;
}
