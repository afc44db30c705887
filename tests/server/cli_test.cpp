// The lake-server binary itself: --help, --version, the start-up line, clean exit on SIGTERM,
// and the message printed when io_uring is unavailable.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <tuple>
#include <utility>
#include <vector>

#include "../../server/cpu_affinity.hpp"
#include "../../server/ring.hpp"
#include "child_process.hpp"
#include "pinned_thread.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

TEST(Cli, VersionAndHelp) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Output v = run("--version");
    EXPECT_EQ(v.status, 0);
    EXPECT_NE(v.text.find("lake-server 0."), std::string::npos) << v.text;
    const Output h = run("--help");
    EXPECT_EQ(h.status, 0);
    for (const char* opt : {"--host", "--port", "--workers", "--max-body"})
        EXPECT_NE(h.text.find(opt), std::string::npos) << opt;
}

TEST(Cli, BadArgumentsAreRefused) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    EXPECT_NE(run("--port notanumber").status, 0);
    EXPECT_NE(run("--no-such-option").status, 0);
    const Output bad_host = run("--host 999.1.1.1 --port 0");
    EXPECT_EQ(bad_host.status, 2);
    EXPECT_NE(bad_host.text.find("cannot"), std::string::npos) << bad_host.text;
}

TEST(Cli, ABadConfigFileIsRefusedWithItsReason) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    char path[] = "/tmp/lake-config-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string text = "[limits]\nmax_bodyy = 5\n";
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    const Output o = run(std::string("--config ") + path);
    ::unlink(path);
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.text.find("unknown setting 'limits.max_bodyy'"), std::string::npos) << o.text;
}

// The command line goes through the same range checks as the file: a value that wraps
// (-1 into a size_t) or is out of range is refused naming the key and the range.
TEST(Cli, CommandLineValuesAreCheckedLikeTheFile) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Output wrapped = run("--port 0 --max-body -1");
    EXPECT_EQ(wrapped.status, 2);
    EXPECT_NE(wrapped.text.find("'limits.max_body' must be between 0 and"), std::string::npos)
        << wrapped.text;
    const Output tiny = run("--port 0 --connection-arena 1");
    EXPECT_EQ(tiny.status, 2);
    EXPECT_NE(tiny.text.find("'connections.arena' must be between 4096"), std::string::npos)
        << tiny.text;
}

// Each refused at start-up with the key and what is allowed, instead of a failure later.
TEST(Cli, SettingsThatWouldFailLaterAreRefusedAtStart) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    auto with_file = [](const std::string& text) {
        char path[] = "/tmp/lake-config-XXXXXX";
        const int fd = ::mkstemp(path);
        EXPECT_GE(fd, 0);
        EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        ::close(fd);
        Output o = run(std::string("--port 0 --config ") + path);
        ::unlink(path);
        return o;
    };
    struct Case {
        std::string toml;
        std::string says;
    };
    const Case cases[] = {
        {"[server]\nname = \"lake\\r\\nX-Injected: 1\"\n", "'server.name' must not contain"},
        {"[connections]\narena = 65536\nrequest_view = 65535\n", "the response view"},
        {"[io]\nring_entries = 16384\n", "'io.ring_entries' must be between 8 and 8192"},
        {"[io]\nrecv_buffers = 32768\nrecv_buffer_size = 1048576\n",
         "'io.recv_buffers' x 'io.recv_buffer_size' must be at most"},
    };
    for (const Case& c : cases) {
        const Output o = with_file(c.toml);
        EXPECT_EQ(o.status, 2) << c.toml;
        EXPECT_NE(o.text.find(c.says), std::string::npos) << c.toml << " -> " << o.text;
    }
    const Output dir = run("--port 0 --config /tmp");
    EXPECT_EQ(dir.status, 2);
    EXPECT_NE(dir.text.find("is a directory"), std::string::npos) << dir.text;
}

// The README's example plugin, loaded from the command line, over real sockets.
TEST(Cli, TheApiExamplePluginServesItsRoutes) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const char* plugin = std::getenv("LAKE_API_EXAMPLE_PLUGIN");
    if (plugin == nullptr) GTEST_SKIP() << "LAKE_API_EXAMPLE_PLUGIN not set";
    const Child child =
        spawn({"--host", "127.0.0.1", "--port", "0", "--workers", "1", "--plugin", plugin});
    ASSERT_GT(child.pid, 0);
    std::smatch m;
    const std::string line = read_line(child.out);
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))")))
        << line;
    Client c(static_cast<std::uint16_t>(std::stoi(m[1])));
    ASSERT_TRUE(c.send(get("/users/42")));
    HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.body, R"({"id":"42"})");
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    ASSERT_TRUE(c.send(get("/search?q=lake%20server")));
    r = c.read_response();
    EXPECT_EQ(r.header("content-type"), "text/plain");
    EXPECT_EQ(r.body, "lake server");
    const std::string form = "a=1&b=x%20y";
    ASSERT_TRUE(
        c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: "
               "application/x-www-form-urlencoded\r\nContent-Length: " +
               std::to_string(form.size()) + "\r\n\r\n" + form));
    r = c.read_response();
    EXPECT_EQ(r.body, R"({"a":"1","b":"x y"})");
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    ASSERT_TRUE(c.send(get("/admin/ping")));
    r = c.read_response();
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    ASSERT_TRUE(c.send(get("/admin/ping", "Authorization: Bearer letmein\r\n")));
    r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "pong");
    ::kill(child.pid, SIGTERM);
    EXPECT_EQ(exit_status(child.pid), 0);
    ::close(child.out);
}

// A plugin loaded from its own table in the config file gets that table's settings: the token
// the example's before-hook expects comes from `token`.
TEST(Cli, APluginTableInTheConfigFileConfiguresThePlugin) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const char* plugin = std::getenv("LAKE_API_EXAMPLE_PLUGIN");
    if (plugin == nullptr) GTEST_SKIP() << "LAKE_API_EXAMPLE_PLUGIN not set";
    char path[] = "/tmp/lake-config-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string text =
        "[plugins.api_example]\npath = \"" + std::string(plugin) + "\"\ntoken = \"s3cret\"\n";
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    const Child child =
        spawn({"--config", path, "--host", "127.0.0.1", "--port", "0", "--workers", "1"});
    ASSERT_GT(child.pid, 0);
    std::smatch m;
    const std::string line = read_line(child.out);
    ::unlink(path);
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))")))
        << line;
    Client c(static_cast<std::uint16_t>(std::stoi(m[1])));
    ASSERT_TRUE(c.send(get("/admin/ping", "Authorization: Bearer letmein\r\n")));
    EXPECT_EQ(c.read_response().status, 401);
    ASSERT_TRUE(c.send(get("/admin/ping", "Authorization: Bearer s3cret\r\n")));
    const HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "pong");
    ::kill(child.pid, SIGTERM);
    EXPECT_EQ(exit_status(child.pid), 0);
    ::close(child.out);
}

TEST(Cli, APluginThatCannotLoadStopsTheStart) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Output o = run("--port 0 --plugin /nonexistent/libx.so");
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.text.find("cannot load plugin 'x' (/nonexistent/libx.so)"), std::string::npos)
        << o.text;
}

TEST(Cli, PrintsOneStartupLineServesAndStopsOnSigterm) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    std::vector<std::string> args{"--host",    "127.0.0.1", "--port",  "0",
                                  "--workers", "2",         "--no-pin"};
    const char* plugin = std::getenv("LAKE_HELLO_PLUGIN");
    if (plugin != nullptr) args.insert(args.end(), {"--plugin", std::string(plugin) + ":cli"});
    const Child child = spawn(args);
    ASSERT_GT(child.pid, 0);
    const std::string line = read_line(child.out);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        line, m,
        std::regex(R"(listening on 127\.0\.0\.1:(\d+) with 2 workers; (io_uring|epoll): )")))
        << line;
    const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
    Client c(port);
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().body, "Hello, World!");
    if (plugin != nullptr) {  // loaded with --plugin
        ASSERT_TRUE(c.send(get("/hello")));
        EXPECT_EQ(c.read_response().body, "Hello from a plugin, cli!\n");
    }
    ::kill(child.pid, SIGTERM);
    const std::string farewell = read_all(child.out);
    EXPECT_EQ(exit_status(child.pid), 0);
    ::close(child.out);
    EXPECT_NE(
        farewell.find("stopped by signal 15: 1 connections drained, 0 cut; after 1 connections"),
        std::string::npos)
        << farewell;
    // Two workers, one connection with one (or two) requests: one worker served them all.
    EXPECT_TRUE(std::regex_search(farewell, std::regex(R"(per worker: (0/[12]|[12]/0);)")))
        << farewell;
}

// An IPv6 address is named in brackets on the start-up line, as in a URL, and served.
TEST(Cli, AnIpv6AddressIsNamedInBrackets) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Child child = spawn({"--host", "::1", "--port", "0", "--workers", "1", "--no-pin"});
    ASSERT_GT(child.pid, 0);
    const std::string line = read_line(child.out);
    ::kill(child.pid, SIGTERM);
    read_all(child.out);
    ::close(child.out);
    const int status = exit_status(child.pid);
    if (line.find("Cannot assign requested address") != std::string::npos ||
        line.find("Address family not supported") != std::string::npos)
        GTEST_SKIP() << "no IPv6 loopback here: " << line;
    EXPECT_TRUE(std::regex_search(line, std::regex(R"(listening on \[::1\]:\d+ with 1 worker;)")))
        << line;
    EXPECT_EQ(status, 0);
}

// The CPU set a spawned child restricts itself to before exec (as `taskset` would).
cpu_set_t g_child_cpus;

void restrict_cpus() {
    if (::sched_setaffinity(0, sizeof(g_child_cpus), &g_child_cpus) != 0) ::_exit(126);
}

std::string start_line_with_cpus(const std::vector<int>& cpus, const std::string& workers) {
    CPU_ZERO(&g_child_cpus);
    for (int cpu : cpus) CPU_SET(cpu, &g_child_cpus);
    const Child child =
        spawn({"--host", "127.0.0.1", "--port", "0", "--workers", workers}, &restrict_cpus);
    if (child.pid <= 0) return {};
    const std::string line = read_line(child.out);
    ::kill(child.pid, SIGTERM);
    read_all(child.out);
    ::close(child.out);
    exit_status(child.pid);
    return line;
}

// Workers follow the process's affinity mask (taskset, a cpuset), not CPU 0..n-1 of the machine.
TEST(Cli, WorkersFollowTheProcessCpuMask) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::vector<int> cpus = server::allowed_cpus();
    const int last = cpus.back();
    // One CPU allowed: --workers 0 means one worker, pinned to that CPU.
    std::string line = start_line_with_cpus({last}, "0");
    EXPECT_NE(line.find("with 1 worker;"), std::string::npos) << line;
    EXPECT_NE(line.find("pinned to CPU " + std::to_string(last)), std::string::npos) << line;
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs for the round-robin case";
    // Two CPUs allowed, three workers: round-robin over the allowed ones only.
    const int first = cpus.front();
    line = start_line_with_cpus({first, last}, "3");
    EXPECT_NE(line.find("with 3 workers;"), std::string::npos) << line;
    const std::string a = std::to_string(first), b = std::to_string(last);
    EXPECT_NE(line.find("pinned to CPUs " + a + "," + b + "," + a), std::string::npos) << line;
}

void one_request_per_connection(std::uint16_t port, int connections) {
    for (int i = 0; i < connections; ++i) {
        Client c(port);
        ASSERT_TRUE(c.send(get("/plaintext")));
        ASSERT_EQ(c.read_response().status, 200);
    }
}

// lake-server with two workers; `connections` connections, one request each, made from a
// thread pinned to `client_cpu`; returns the start line and the stop summary.
std::pair<std::string, std::string> serve_from_cpu(int client_cpu, int connections) {
    const Child child = spawn({"--host", "127.0.0.1", "--port", "0", "--workers", "2"});
    if (child.pid <= 0) return {};
    const std::string line = read_line(child.out);
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"(127\.0\.0\.1:(\d+) with 2 workers)"))) {
        PinnedThread pin(client_cpu);
        EXPECT_TRUE(pin.ok());
        one_request_per_connection(static_cast<std::uint16_t>(std::stoi(m[1])), connections);
    }
    ::kill(child.pid, SIGTERM);
    std::string farewell = read_all(child.out);
    ::close(child.out);
    EXPECT_EQ(exit_status(child.pid), 0);
    return {line, farewell};
}

// With pinned workers, a connection goes to the worker on the CPU that processed its SYN: on
// loopback, the CPU of the connecting thread. Ten connections from one worker's CPU must all land
// on that worker (by the kernel's hash alone, 1 chance in 1024).
TEST(Cli, ConnectionsGoToTheWorkerOnTheirCpu) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::vector<int> cpus = server::allowed_cpus();
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
    auto [line, farewell] = serve_from_cpu(cpus[0], 10);
    EXPECT_NE(line.find("connections steered to the worker on their CPU"), std::string::npos)
        << line;
    EXPECT_NE(farewell.find("per worker: 10/0;"), std::string::npos) << farewell;
    std::tie(line, farewell) = serve_from_cpu(cpus[1], 10);
    EXPECT_NE(farewell.find("per worker: 0/10;"), std::string::npos) << farewell;
}

// Starts lake-server with `args`, stops it with SIGTERM (expecting a clean exit) and returns its
// start-up line.
std::string start_line_then_stop(const std::vector<std::string>& args) {
    const Child child = spawn(args);
    EXPECT_GT(child.pid, 0);
    if (child.pid <= 0) return {};
    const std::string line = read_line(child.out);
    ::kill(child.pid, SIGTERM);
    read_all(child.out);
    ::close(child.out);
    EXPECT_EQ(exit_status(child.pid), 0) << line;
    return line;
}

TEST(Cli, NoSteerLeavesConnectionsToTheKernelHash) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string line = start_line_then_stop(
        {"--host", "127.0.0.1", "--port", "0", "--workers", "2", "--no-steer"});
    EXPECT_NE(line.find("with 2 workers"), std::string::npos) << line;
    EXPECT_EQ(line.find("steered"), std::string::npos) << line;
}

// Refuses io_uring_setup with EPERM, as the default seccomp profiles of Docker 25+,
// containerd 2 and Podman do.
void forbid_io_uring() {
    static sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    static sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        ::_exit(126);
}

TEST(Cli, WithoutIoUringItFallsBackToEpollAndSaysWhy) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Child child = spawn(
        {"--host", "127.0.0.1", "--port", "0", "--workers", "2", "--io", "auto"}, &forbid_io_uring);
    ASSERT_GT(child.pid, 0);
    const std::string line = read_line(child.out);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+) )")))
        << line;
    EXPECT_NE(line.find("; epoll: "), std::string::npos) << line;
    EXPECT_NE(line.find("(io_uring refused: Operation not permitted)"), std::string::npos) << line;
    Client c(static_cast<std::uint16_t>(std::stoi(m[1])));
    for (int i = 0; i < 3; ++i) {  // keep-alive, on the fallback
        ASSERT_TRUE(c.send(get("/plaintext")));
        EXPECT_EQ(c.read_response().body, "Hello, World!");
    }
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n" +
                       std::string(100'000, 'e')));
    EXPECT_EQ(c.read_response().body.size(), 100'000u);
    ::kill(child.pid, SIGTERM);
    read_all(child.out);
    ::close(child.out);
    const int status = exit_status(child.pid);
    ASSERT_NE(status, 126) << "could not install the seccomp filter";
    EXPECT_EQ(status, 0);
}

TEST(Cli, ItSaysWhichBackendRuns) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    for (const char* io : {"epoll", "io_uring"}) {
        const std::string line = start_line_then_stop(
            {"--host", "127.0.0.1", "--port", "0", "--workers", "1", "--io", io});
        EXPECT_NE(line.find(std::string("; ") + io + ": "), std::string::npos) << line;
        EXPECT_EQ(line.find("refused"), std::string::npos) << line;  // chosen, not fallen back to
    }
    EXPECT_NE(run("--io kqueue --port 0").status, 0);
}

TEST(Cli, WithIoUringRequiredItExitsWithAnExplanation) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Child child =
        spawn({"--host", "127.0.0.1", "--port", "0", "--workers", "1", "--io", "io_uring"},
              &forbid_io_uring);
    ASSERT_GT(child.pid, 0);
    const std::string text = read_all(child.out);
    ::close(child.out);
    const int status = exit_status(child.pid);
    ASSERT_NE(status, 126) << "could not install the seccomp filter";
    EXPECT_EQ(status, 2);
    EXPECT_NE(text.find("cannot set up io_uring: Operation not permitted"), std::string::npos)
        << text;
    EXPECT_NE(text.find("seccomp"), std::string::npos) << text;
}

TEST(Cli, RingFailureMessageNamesTheCauseAndTheFix) {
    const std::string msg = server::explain_ring_failure(-EPERM);
    EXPECT_NE(msg.find("Operation not permitted"), std::string::npos);
    EXPECT_NE(msg.find("seccomp"), std::string::npos);
    EXPECT_NE(msg.find("io_uring_disabled"), std::string::npos);
    EXPECT_NE(server::explain_ring_failure(-ENOMEM).find("MEMLOCK"), std::string::npos);
}

}  // namespace
}  // namespace lake::test
