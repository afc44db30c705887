// Operating lake-server: a graceful drain on SIGTERM (requests in flight finish whole, idle
// connections close, new ones are refused, exit 0), its deadline, a second signal, the health
// endpoints and --check-config. The real binary, over real sockets.
#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "test_client.hpp"

namespace lake::test {
namespace {

std::string config_file(const std::string& text) {
    char path[] = "/tmp/lake-ops-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return {};
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
    return path;
}

struct Running {
    Child child;
    std::uint16_t port = 0;
};

Running start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", "127.0.0.1", "--port", "0", "--no-pin"});
    Running r;
    r.child = spawn(args);
    if (r.child.pid > 0) r.port = port_of_start_line(read_line(r.child.out));
    return r;
}

bool can_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    return ok;
}

std::string post_head(std::size_t length) {
    return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
           "\r\n\r\n";
}

// 200 connections each with a request in flight when SIGTERM arrives (bodies half sent, 20 of
// them large), 20 more whose waiting handlers are mid-wait (GET /delay of the async example
// plugin), 5 idle keep-alive ones and a readiness probe half sent: every response arrives whole,
// idle connections close at once, the listener refuses new clients, the exit status is 0.
TEST(Operations, SigtermFinishesRequestsInFlightClosesIdleOnesAndExits0) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string cfg =
        config_file("[limits]\nlarge_buffers_per_worker = 16\nlarge_buffers_per_client = 0\n");
    const char* async_plugin = std::getenv("LAKE_ASYNC_EXAMPLE_PLUGIN");
    std::vector<std::string> args{"--config", cfg, "--workers", "2"};
    if (async_plugin != nullptr) args.insert(args.end(), {"--plugin", async_plugin});
    Running s = start(args);
    ::unlink(cfg.c_str());
    ASSERT_NE(s.port, 0);
    // Idle keep-alive connections, each answered once.
    std::vector<std::unique_ptr<Client>> idle;
    for (int i = 0; i < 5; ++i) {
        idle.push_back(std::make_unique<Client>(s.port));
        ASSERT_TRUE(idle.back()->send(get("/plaintext")));
        ASSERT_EQ(idle.back()->read_response().status, 200);
    }
    // Echo bodies half sent: 180 of 16 KiB, 20 of 200 KiB (in large buffers).
    const std::string small(16 * 1024, 's'), large(200 * 1024, 'l');
    std::vector<std::unique_ptr<Client>> busy;
    std::vector<const std::string*> bodies;
    for (int i = 0; i < 200; ++i) {
        const std::string& body = i % 10 == 0 ? large : small;
        busy.push_back(std::make_unique<Client>(s.port));
        bodies.push_back(&body);
        ASSERT_TRUE(busy.back()->send(post_head(body.size()) + body.substr(0, body.size() / 2)));
    }
    // Waiting handlers mid-wait: answered after their timers, not cut.
    std::vector<std::unique_ptr<Client>> waiting;
    for (int i = 0; async_plugin != nullptr && i < 20; ++i) {
        waiting.push_back(std::make_unique<Client>(s.port));
        ASSERT_TRUE(waiting.back()->send(get("/delay?ms=800")));
    }
    Client probe(s.port);
    ASSERT_TRUE(probe.send("GET /readyz HTTP/1.1\r\nHost: t\r\n"));
    ::usleep(300 * 1000);

    ::kill(s.child.pid, SIGTERM);
    ::usleep(300 * 1000);
    for (auto& c : idle) EXPECT_TRUE(c->closed_by_server()) << "an idle connection stayed open";
    EXPECT_FALSE(can_connect(s.port)) << "the listener still accepts";
    for (std::size_t i = 0; i < busy.size(); ++i) {
        const std::string& body = *bodies[i];
        ASSERT_TRUE(busy[i]->send(body.substr(body.size() / 2)));
    }
    for (std::size_t i = 0; i < busy.size(); ++i) {
        const HttpResponse r = busy[i]->read_response();
        EXPECT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body.size(), bodies[i]->size()) << i;
        EXPECT_EQ(r.header("connection"), "close") << i;
    }
    for (auto& c : waiting) {
        const HttpResponse r = c->read_response();
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "slept 800 ms\n");
        EXPECT_EQ(r.header("connection"), "close");
    }
    ASSERT_TRUE(probe.send("\r\n"));
    const HttpResponse ready = probe.read_response();
    EXPECT_EQ(ready.status, 503);  // draining: not ready
    EXPECT_EQ(ready.header("connection"), "close");

    busy.clear();  // the clients close: nothing lingers
    waiting.clear();
    const std::string farewell = read_all(s.child.out);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    ::close(s.child.out);
    const std::string drained =
        std::to_string(206 + (async_plugin != nullptr ? 20 : 0)) + " connections drained, 0 cut";
    EXPECT_NE(farewell.find(drained), std::string::npos) << farewell;
    // The drain shuts the listeners and cancels the accepts: not accept errors (they were
    // counted as one per worker).
    EXPECT_NE(farewell.find("accept errors: 0,"), std::string::npos) << farewell;
}

TEST(Operations, TheDrainDeadlineCutsWhatIsLeft) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string cfg = config_file("[timeouts]\ndrain = 1\nheader = 60\n");
    Running s = start({"--config", cfg, "--workers", "1"});
    ::unlink(cfg.c_str());
    ASSERT_NE(s.port, 0);
    Client stuck(s.port);
    ASSERT_TRUE(stuck.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n"));  // never finished
    ::usleep(100 * 1000);
    const auto t0 = std::chrono::steady_clock::now();
    ::kill(s.child.pid, SIGTERM);
    const std::string farewell = read_all(s.child.out);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    const auto waited = std::chrono::steady_clock::now() - t0;
    ::close(s.child.out);
    EXPECT_NE(farewell.find("0 connections drained, 1 cut"), std::string::npos) << farewell;
    EXPECT_LT(waited, std::chrono::seconds(5));  // the deadline, not the 60 s header timeout
}

TEST(Operations, ASecondSignalStopsAtOnce) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string cfg = config_file("[timeouts]\ndrain = 60\nheader = 60\n");
    Running s = start({"--config", cfg, "--workers", "1"});
    ::unlink(cfg.c_str());
    ASSERT_NE(s.port, 0);
    Client stuck(s.port);
    ASSERT_TRUE(stuck.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n"));
    ::usleep(100 * 1000);
    const auto t0 = std::chrono::steady_clock::now();
    ::kill(s.child.pid, SIGTERM);
    ::usleep(200 * 1000);
    ::kill(s.child.pid, SIGINT);
    const std::string farewell = read_all(s.child.out);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    ::close(s.child.out);
    EXPECT_NE(farewell.find("(and a second one): 0 connections drained, 1 cut"), std::string::npos)
        << farewell;
}

TEST(Operations, HealthEndpointsAnswerAndCanBeMovedOrTurnedOff) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    {
        Running s = start({"--workers", "1"});
        ASSERT_NE(s.port, 0);
        Client c(s.port);
        ASSERT_TRUE(c.send(get("/healthz")));
        EXPECT_EQ(c.read_response().status, 200);
        ASSERT_TRUE(c.send(get("/readyz")));
        EXPECT_EQ(c.read_response().body, "ready\n");
        ::kill(s.child.pid, SIGTERM);
        EXPECT_EQ(exit_status(s.child.pid), 0);
        ::close(s.child.out);
    }
    const std::string cfg = config_file("[health]\nlive = \"/alive\"\nready = \"\"\n");
    Running s = start({"--config", cfg, "--workers", "1"});
    ::unlink(cfg.c_str());
    ASSERT_NE(s.port, 0);
    Client c(s.port);
    ASSERT_TRUE(c.send(get("/alive")));
    EXPECT_EQ(c.read_response().body, "ok\n");
    ASSERT_TRUE(c.send(get("/readyz")));
    EXPECT_EQ(c.read_response().status, 404);
    ::kill(s.child.pid, SIGTERM);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    ::close(s.child.out);
}

// logrotate moves the file away, then sends SIGUSR1: the next lines go into a new file.
TEST(Operations, Sigusr1ReopensTheAccessLog) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string log = config_file("");
    const std::string cfg = config_file("[log]\naccess = \"" + log + "\"\n");
    Running s = start({"--config", cfg, "--workers", "1"});
    ::unlink(cfg.c_str());
    ASSERT_NE(s.port, 0);
    Client c(s.port);
    ASSERT_TRUE(c.send(get("/plaintext?before")));
    ASSERT_EQ(c.read_response().status, 200);
    ::usleep(200 * 1000);
    const std::string rotated = log + ".1";
    ASSERT_EQ(::rename(log.c_str(), rotated.c_str()), 0);
    ::kill(s.child.pid, SIGUSR1);
    ::usleep(200 * 1000);
    ASSERT_TRUE(c.send(get("/plaintext?after")));
    ASSERT_EQ(c.read_response().status, 200);
    ::kill(s.child.pid, SIGTERM);  // what is buffered is written at the stop
    EXPECT_EQ(exit_status(s.child.pid), 0);
    ::close(s.child.out);
    auto text = [](const std::string& path) {
        std::string t;
        if (FILE* f = std::fopen(path.c_str(), "r")) {
            char buf[4096];
            std::size_t n;
            while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) t.append(buf, n);
            std::fclose(f);
        }
        return t;
    };
    const std::string old_file = text(rotated), new_file = text(log);
    ::unlink(rotated.c_str());
    ::unlink(log.c_str());
    EXPECT_NE(old_file.find("GET /plaintext?before"), std::string::npos) << old_file;
    EXPECT_EQ(old_file.find("after"), std::string::npos) << old_file;
    EXPECT_NE(new_file.find("GET /plaintext?after"), std::string::npos) << new_file;
}

// The error log: every line has a UTC timestamp, a level and who wrote it (a worker, or the
// main thread); lines below [log] level are not written.
TEST(Operations, TheErrorLogHasLevelsTimestampsAndWorkers) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    for (const char* level : {"info", "error"}) {
        const std::string cfg =
            config_file(std::string("[log]\nlevel = \"") + level + "\"\naccess = \"/dev/full\"\n");
        Running s = start({"--config", cfg, "--workers", "1"});
        ::unlink(cfg.c_str());
        ASSERT_NE(s.port, 0);
        Client c(s.port);
        ASSERT_TRUE(c.send(get("/plaintext")));
        ASSERT_EQ(c.read_response().status, 200);
        ::usleep(1500 * 1000);  // the access log's write of that line fails: an error
        ::kill(s.child.pid, SIGTERM);
        const std::string text = read_all(s.child.out);
        EXPECT_EQ(exit_status(s.child.pid), 0);
        ::close(s.child.out);
        const std::string stamp = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )";
        EXPECT_TRUE(std::regex_search(
            text, std::regex(stamp + "error worker 0: the access log /dev/full cannot be "
                                     "written: No space left on device")))
            << text;
        const bool info_line =
            std::regex_search(text, std::regex(stamp + "info lake-server: signal 15: draining"));
        EXPECT_EQ(info_line, std::string(level) == "info") << level << "\n" << text;
    }
}

// The pid of the master's generation serving now (its only child, or the newest one).
pid_t child_of(pid_t master) {
    const std::string path =
        "/proc/" + std::to_string(master) + "/task/" + std::to_string(master) + "/children";
    std::string text;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
        char buf[256];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
        std::fclose(f);
    }
    pid_t newest = -1;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = text.find(' ', at);
        const std::string word = text.substr(at, end - at);
        if (!word.empty()) newest = std::max<pid_t>(newest, std::stoi(word));
        if (end == std::string::npos) break;
        at = end + 1;
    }
    return newest;
}

// The pid of the master's line "generation N (pid P) serves", read from its output (appended
// to `text`), or -1 when the output ended first.
pid_t serving_generation(int out, unsigned generation, std::string& text) {
    const std::string said = "generation " + std::to_string(generation) + " (pid ";
    std::string line;
    for (char ch; ::read(out, &ch, 1) == 1;) {
        text += ch;
        if (ch != '\n') {
            line += ch;
            continue;
        }
        const std::size_t at = line.find(said);
        if (at != std::string::npos && line.find(") serves") != std::string::npos)
            return static_cast<pid_t>(std::atoi(line.c_str() + at + said.size()));
        line.clear();
    }
    return -1;
}

// wrk's "Socket errors: ..." and "Non-2xx or 3xx responses: N" lines, summed.
long long wrk_failures(const std::string& out) {
    long long n = 0;
    std::smatch m;
    const std::regex socket_errors(R"((connect|read|write|timeout) (\d+))");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), socket_errors);
         it != std::sregex_iterator(); ++it)
        n += std::stoll((*it)[2]);
    if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))")))
        n += std::stoll(m[1]);
    return n;
}

// SIGHUP to the master: a new generation starts on the same sockets and the old one drains;
// wrk running across it (64 connections, no pipelining) sees no error and no failed response.
TEST(Operations, SighupUnderMasterRestartsWithoutDroppingARequest) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    Running s = start({"--master", "--workers", "2"});
    ASSERT_NE(s.port, 0);
    const pid_t before = child_of(s.child.pid);
    ASSERT_GT(before, 0);
    std::string out;
    std::thread load([&] {
        const std::string cmd =
            "wrk -t2 -c64 -d4s --timeout 5s http://127.0.0.1:" + std::to_string(s.port) +
            "/plaintext 2>&1";
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[4096];
            std::size_t n;
            while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
            ::pclose(p);
        }
    });
    ::usleep(1500 * 1000);
    ::kill(s.child.pid, SIGHUP);
    load.join();
    ASSERT_NE(out.find("Requests/sec"), std::string::npos) << out;
    EXPECT_EQ(wrk_failures(out), 0) << out;
    const pid_t after = child_of(s.child.pid);
    EXPECT_GT(after, 0);
    EXPECT_NE(after, before) << "the old generation still serves";
    Client c(s.port);
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
    ::kill(s.child.pid, SIGTERM);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    ::close(s.child.out);
}

// A generation that dies (here: SIGKILL) is replaced on the same sockets: a client that connects
// meanwhile waits in their backlog and is answered. (The master exited with the generation, and
// closed the sockets: refused until the service manager restarted it.) Deaths soon after a start
// are replaced after a pause that grows; SIGTERM ends it all with 0, during a pause too.
TEST(Operations, AGenerationThatDiesIsReplacedOnTheSameSockets) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    // At level info the master says when a replacement serves: killed before that, it would
    // count as one that did not start (the master then stops).
    const std::string cfg = config_file("[log]\nlevel = \"info\"\n");
    Running s = start({"--master", "--config", cfg, "--workers", "1"});
    ASSERT_NE(s.port, 0);
    pid_t serving = child_of(s.child.pid);
    ASSERT_GT(serving, 0);
    std::string text;  // the master's output, as read
    for (int death = 0; death < 2; ++death) {
        ASSERT_EQ(::kill(serving, SIGKILL), 0);
        ::usleep(50 * 1000);  // the master has seen it die (or is about to)
        Client c(s.port, 8000);
        ASSERT_TRUE(c.connected()) << "death " << death;
        ASSERT_TRUE(c.send(get("/plaintext")));
        EXPECT_EQ(c.read_response().status, 200) << "death " << death;
        const pid_t replacement = serving_generation(s.child.out, death + 2, text);
        ASSERT_GT(replacement, 0) << text;
        EXPECT_NE(replacement, serving);
        EXPECT_EQ(replacement, child_of(s.child.pid));
        serving = replacement;
    }
    // A third death waits 3 s for its replacement; SIGTERM meanwhile ends the master at once.
    ASSERT_EQ(::kill(serving, SIGKILL), 0);
    ::usleep(300 * 1000);
    const auto stop_sent = std::chrono::steady_clock::now();
    ::kill(s.child.pid, SIGTERM);
    text += read_all(s.child.out);
    EXPECT_EQ(exit_status(s.child.pid), 0) << text;
    EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, std::chrono::milliseconds(2000))
        << "the master sat out its pause before it stopped";
    ::close(s.child.out);
    ::unlink(cfg.c_str());
    EXPECT_NE(
        text.find("exited unexpectedly (status 137); generation 2 starts on the same sockets"),
        std::string::npos)
        << text;
    // Each lived less than 10 s: the pause grows by a second with each.
    EXPECT_NE(text.find("generation 3 starts on the same sockets in 2 s"), std::string::npos)
        << text;
}

// A configuration broken between the start and the SIGHUP: the new generation refuses to start,
// says why, and the old one keeps serving.
TEST(Operations, ARestartWithABrokenConfigLeavesTheOldGenerationServing) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string cfg = config_file("[limits]\nmax_body = 4096\n");
    Running s = start({"--master", "--config", cfg, "--workers", "1"});
    ASSERT_NE(s.port, 0);
    const pid_t before = child_of(s.child.pid);
    {
        FILE* f = std::fopen(cfg.c_str(), "w");
        std::fputs("[limits]\nmax_body = -1\n", f);
        std::fclose(f);
    }
    ::kill(s.child.pid, SIGHUP);
    ::usleep(1000 * 1000);
    EXPECT_EQ(child_of(s.child.pid), before);
    Client c(s.port);
    ASSERT_TRUE(c.send(get("/plaintext")));
    EXPECT_EQ(c.read_response().status, 200);
    ::kill(s.child.pid, SIGTERM);
    const std::string text = read_all(s.child.out);
    EXPECT_EQ(exit_status(s.child.pid), 0);
    ::close(s.child.out);
    ::unlink(cfg.c_str());
    EXPECT_NE(text.find("limits.max_body"), std::string::npos) << text;
    EXPECT_NE(text.find("restart refused"), std::string::npos) << text;
}

// A generation that dies and whose replacement cannot start (its configuration broke meanwhile):
// the master says so, closes the sockets and exits 1, for the service manager to see, rather
// than keep sockets open that nothing serves.
TEST(Operations, AReplacementThatCannotStartEndsTheMasterWithAnError) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const std::string cfg = config_file("[limits]\nmax_body = 4096\n");
    Running s = start({"--master", "--config", cfg, "--workers", "1"});
    ASSERT_NE(s.port, 0);
    const pid_t serving = child_of(s.child.pid);
    ASSERT_GT(serving, 0);
    {
        FILE* f = std::fopen(cfg.c_str(), "w");
        std::fputs("[limits]\nmax_body = -1\n", f);
        std::fclose(f);
    }
    ASSERT_EQ(::kill(serving, SIGKILL), 0);
    // The master ends by itself, within 10 s here (one that kept the sockets would wait for ever).
    int status = 0;
    pid_t gone = 0;
    for (int i = 0; i < 100 && (gone = ::waitpid(s.child.pid, &status, WNOHANG)) == 0; ++i)
        ::usleep(100 * 1000);
    if (gone != s.child.pid) {
        ::kill(s.child.pid, SIGKILL);
        ::waitpid(s.child.pid, nullptr, 0);
    }
    const std::string text = read_all(s.child.out);
    ASSERT_EQ(gone, s.child.pid) << text;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
    ::close(s.child.out);
    ::unlink(cfg.c_str());
    EXPECT_NE(text.find("generation 2 starts on the same sockets"), std::string::npos) << text;
    EXPECT_NE(text.find("limits.max_body"), std::string::npos) << text;  // the replacement's reason
    EXPECT_NE(text.find("generation 2 did not start"), std::string::npos) << text;
    Client c(s.port, 1000);
    EXPECT_FALSE(c.connected());  // the sockets went with the master: refused, not left hanging
}

TEST(Operations, CheckConfigSaysWhetherTheConfigurationIsValid) {
    if (binary().empty()) GTEST_SKIP() << "LAKE_SERVER_BIN not set";
    const Output ok = run("-t --workers 1");
    EXPECT_EQ(ok.status, 0) << ok.text;
    EXPECT_NE(ok.text.find("the configuration is valid"), std::string::npos) << ok.text;
    const std::string bad = config_file("[limits]\nmax_body = -5\n");
    const Output refused = run("--check-config --config " + bad);
    ::unlink(bad.c_str());
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.text.find("limits.max_body"), std::string::npos) << refused.text;
    const Output no_plugin = run("-t --plugin /nonexistent/libx.so");
    EXPECT_EQ(no_plugin.status, 2);
    EXPECT_NE(no_plugin.text.find("cannot load plugin 'x'"), std::string::npos) << no_plugin.text;
    const std::string clash = config_file("[health]\nlive = \"/plaintext\"\n");
    const Output clashing = run("-t --config " + clash);
    ::unlink(clash.c_str());
    EXPECT_EQ(clashing.status, 2);
    EXPECT_NE(
        clashing.text.find("health, metrics, [[static]] and [[proxy]] routes: route '/plaintext'"),
        std::string::npos)
        << clashing.text;
}

}  // namespace
}  // namespace lake::test
