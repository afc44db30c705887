// tests/server/child_process.hpp — lake-server run as a child process by the tests that need
// the real binary (command line, signals, exit status).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "backend_under_test.hpp"

namespace lake::test {

inline std::string binary() {
    const char* p = std::getenv("LAKE_SERVER_BIN");
    return p != nullptr ? p : "";
}

struct Output {
    std::string text;
    int status = -1;
};

// The backend under test, for a command line that does not choose one itself.
inline std::string with_backend(const std::string& args) {
    const std::string io = backend_under_test();
    if (io.empty() || args.find("--io") != std::string::npos) return args;
    return args + " --io " + io;
}

inline Output run(const std::string& args) {
    Output out;
    FILE* p = ::popen((binary() + " " + with_backend(args) + " 2>&1").c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.text.append(buf, n);
    const int st = ::pclose(p);
    out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

// lake-server in a child process, its stdout and stderr on one pipe. `before_exec` runs in the
// child first (to install a seccomp filter, say). argv is built before fork(): the child only
// makes async-signal-safe calls.
struct Child {
    pid_t pid = -1;
    int out = -1;
};

inline Child spawn(const std::vector<std::string>& args, void (*before_exec)() = nullptr) {
    std::vector<std::string> words{binary()};
    words.insert(words.end(), args.begin(), args.end());
    bool chosen = false;
    for (const std::string& a : args) chosen = chosen || a.rfind("--io", 0) == 0;
    if (!chosen && !backend_under_test().empty()) {
        words.push_back("--io");
        words.push_back(backend_under_test());
    }
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    int p[2];
    if (::pipe(p) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(p[1], 1);
        ::dup2(p[1], 2);
        ::close(p[0]);
        if (before_exec != nullptr) before_exec();
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(p[1]);
    return {pid, p[0]};
}

inline std::string read_line(int fd) {
    std::string line;
    char ch;
    while (::read(fd, &ch, 1) == 1 && ch != '\n') line += ch;
    return line;
}

inline std::string read_all(int fd) {
    std::string text;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<std::size_t>(n));
    return text;
}

inline int exit_status(pid_t pid) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The port of the start-up line "... listening on 127.0.0.1:PORT ...", or 0.
inline std::uint16_t port_of_start_line(const std::string& line) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))"))) return 0;
    return static_cast<std::uint16_t>(std::stoi(m[1]));
}

}  // namespace lake::test
