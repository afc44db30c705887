#include "master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu_affinity.hpp"
#include "listener.hpp"
#include "log.hpp"

namespace lake::server {

namespace {

constexpr const char* kListenEnv = "LAKE_LISTEN_FDS";  // "3,4": the listeners, in worker order
constexpr const char* kReadyEnv = "LAKE_READY_FD";     // written to once the generation serves

using Clock = std::chrono::steady_clock;
// A generation that crashed sooner than kSteadyLife after it started is replaced after a pause
// that grows by kRespawnPause with each such crash in a row (up to kRespawnPauseMax), so that
// one that cannot live does not spin; one that served for longer is replaced at once.
constexpr auto kSteadyLife = std::chrono::seconds(10);
constexpr auto kRespawnPause = std::chrono::seconds(1);
constexpr auto kRespawnPauseMax = std::chrono::seconds(30);

struct Generation {
    pid_t pid = -1;
    int ready_fd = -1;  // our end of its ready pipe
};

// The binary to start: its path as given (a new file at that path is what a restart runs).
std::string binary_path(const std::string& argv0) {
    if (argv0.find('/') != std::string::npos) {
        char resolved[PATH_MAX];
        if (::realpath(argv0.c_str(), resolved) != nullptr) return resolved;
        return argv0;
    }
    char self[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    return n > 0 ? std::string(self, static_cast<std::size_t>(n)) : argv0;
}

Generation spawn(const std::string& binary, const std::vector<std::string>& argv,
                 const std::vector<int>& listeners) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return {};
    std::string fds;
    for (int fd : listeners) {
        if (!fds.empty()) fds += ',';
        fds += std::to_string(fd);
    }
    std::vector<std::string> words = argv;
    words[0] = binary;
    std::vector<char*> args;
    for (std::string& w : words) args.push_back(w.data());
    args.push_back(nullptr);
    const std::string ready_text = std::to_string(ready[1]);
    const pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, nullptr);
        for (int fd : listeners) ::fcntl(fd, F_SETFD, 0);  // kept across exec
        ::fcntl(ready[1], F_SETFD, 0);
        ::setenv(kListenEnv, fds.c_str(), 1);
        ::setenv(kReadyEnv, ready_text.c_str(), 1);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(ready[1]);
    if (pid < 0) {
        ::close(ready[0]);
        return {};
    }
    return {pid, ready[0]};
}

// Waits until the generation says it serves (true), or exits or stays silent too long (false,
// and it is stopped and reaped).
bool wait_ready(Generation& g, int* status) {
    pollfd p{g.ready_fd, POLLIN, 0};
    char buf[8];
    const bool ready = ::poll(&p, 1, 30'000) > 0 && ::read(g.ready_fd, buf, sizeof(buf)) > 0;
    ::close(g.ready_fd);
    g.ready_fd = -1;
    if (ready) return true;
    ::kill(g.pid, SIGKILL);
    ::waitpid(g.pid, status, 0);
    return false;
}

// Waits `pause` (a generation that keeps crashing is not started again at once); true when
// SIGTERM or SIGINT came meanwhile. Other signals are let go: a SIGHUP would start the generation
// that is about to start anyway, and SIGCHLD's children are reaped by the caller's loop after.
bool stop_asked_within(const sigset_t& signals, Clock::duration pause) {
    const Clock::time_point end = Clock::now() + pause;
    for (Clock::duration left = pause; left > Clock::duration::zero(); left = end - Clock::now()) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec wait{static_cast<time_t>(ns / 1'000'000'000),
                            static_cast<long>(ns % 1'000'000'000)};
        const int sig = ::sigtimedwait(&signals, nullptr, &wait);
        if (sig == SIGTERM || sig == SIGINT) return true;
    }
    return false;
}

int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

int run_master(const config::ServerConfig& config, const std::vector<std::string>& argv) {
    // The sockets: one per worker, as Server::start would open them, held for every generation.
    const std::vector<int> cpus = allowed_cpus();
    const unsigned workers =
        config.workers != 0 ? config.workers : static_cast<unsigned>(cpus.size());
    std::string error = check_port_free(config.host, config.port);
    if (!error.empty()) {
        std::fprintf(stderr, "lake-server: %s\n", error.c_str());
        return 2;
    }
    std::vector<int> listeners;
    std::uint16_t port = config.port;
    for (unsigned i = 0; i < workers; ++i) {
        const int fd = open_listener(config.host, port, error);
        if (fd < 0) {
            std::fprintf(stderr, "lake-server: %s\n", error.c_str());
            return 2;
        }
        listeners.push_back(fd);
        if (port == 0) port = bound_port(fd);
    }

    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const std::string binary = binary_path(argv[0]);
    int status = 0;
    Generation current = spawn(binary, argv, listeners);
    if (current.pid < 0 || !wait_ready(current, &status)) {
        std::fprintf(stderr, "lake-server: the server did not start (exit status %d)\n",
                     exit_code(status));
        return current.pid < 0 ? 2 : exit_code(status);
    }
    unsigned generation = 1;
    bool stopping = false;
    Clock::time_point current_since = Clock::now();
    int short_lives = 0;  // generations in a row that crashed before kSteadyLife
    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0) continue;
        if (sig == SIGCHLD) {
            // Old generations that finished draining, and maybe the current one.
            for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
                if (pid != current.pid) continue;
                if (!stopping) {
                    // A crash: a new generation takes the same sockets, whose backlog holds the
                    // clients that connect meanwhile (a master that exited closed them: refused
                    // until the service manager started it again).
                    const auto lived = Clock::now() - current_since;
                    short_lives = lived < kSteadyLife ? short_lives + 1 : 0;
                    const auto pause = std::min(kRespawnPause * short_lives, kRespawnPauseMax);
                    log::error(
                        "generation {} (pid {}) exited unexpectedly (status {}); generation {} "
                        "starts on the same sockets{}",
                        generation, pid, exit_code(status), generation + 1,
                        pause.count() == 0 ? std::string()
                                           : " in " + std::to_string(pause.count()) + " s");
                    if (stop_asked_within(signals, pause)) {
                        stopping = true;  // nothing serves, nothing to drain: done
                        status = 0;
                    } else {
                        Generation next = spawn(binary, argv, listeners);
                        int failed = 0;
                        if (next.pid >= 0 && wait_ready(next, &failed)) {
                            log::info("generation {} (pid {}) serves", generation + 1, next.pid);
                            current = next;
                            current_since = Clock::now();
                            ++generation;
                            continue;
                        }
                        log::error("generation {} did not start (exit status {}); stopping",
                                   generation + 1, exit_code(failed));
                        status = failed;
                    }
                }
                for (int fd : listeners) ::close(fd);
                while (::waitpid(-1, nullptr, 0) > 0) {
                }
                return stopping ? exit_code(status) : 1;
            }
        } else if (sig == SIGHUP && !stopping) {
            Generation next = spawn(binary, argv, listeners);
            int failed = 0;
            if (next.pid < 0 || !wait_ready(next, &failed)) {
                log::error(
                    "restart refused: the new generation did not start (exit status {}; "
                    "its reason is above); generation {} (pid {}) keeps serving",
                    exit_code(failed), generation, current.pid);
                continue;
            }
            ::kill(current.pid, SIGUSR2);  // drain, leaving the sockets to the new generation
            log::info("restarted: generation {} (pid {}) serves, generation {} (pid {}) drains",
                      generation + 1, next.pid, generation, current.pid);
            current = next;
            current_since = Clock::now();
            short_lives = 0;
            ++generation;
        } else if (sig == SIGTERM || sig == SIGINT) {
            stopping = true;
            ::kill(current.pid, sig);  // the first drains it, a second stops it at once
        } else if (sig == SIGUSR1) {
            ::kill(current.pid, SIGUSR1);
        }
    }
}

std::vector<int> inherited_listeners() {
    std::vector<int> fds;
    const char* text = std::getenv(kListenEnv);
    if (text == nullptr) return fds;
    for (const char* p = text; *p != 0;) {
        char* end = nullptr;
        const long fd = std::strtol(p, &end, 10);
        if (end == p) break;
        fds.push_back(static_cast<int>(fd));
        ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
        p = *end == ',' ? end + 1 : end;
    }
    ::unsetenv(kListenEnv);
    return fds;
}

void tell_master_ready() {
    const char* text = std::getenv(kReadyEnv);
    if (text == nullptr) return;
    const int fd = std::atoi(text);
    (void)!::write(fd, "ready\n", 6);
    ::close(fd);
    ::unsetenv(kReadyEnv);
}

}  // namespace lake::server
