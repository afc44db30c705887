// server/master.hpp — `lake-server --master`: a small supervising process that holds the
// listening sockets and runs the server as a child generation, so that SIGHUP can replace it
// without dropping a request and the main PID (for systemd) stays the same.
//
//   SIGHUP   a new generation (the same binary path and arguments: a new binary or a changed
//            configuration takes effect) starts on the same sockets; once it is serving, the old
//            one drains (SIGUSR2: stop accepting, finish what it has) and exits. A generation
//            that cannot start leaves the old one serving, and says why on stderr.
//   SIGTERM, SIGINT   passed to the generation serving (it drains), then the master exits with
//            its status. SIGUSR1 is passed on (reopen the access log).
//   A generation that dies otherwise (a crash) is replaced by a new one on the same sockets, at
//   once, or after a growing pause when it had lived less than 10 s; the master exits 1 only
//   when the replacement cannot start.
// The sockets never change, so neither does their SO_REUSEPORT group: steering by CPU holds.
#pragma once

#include <string>
#include <vector>

#include "../config/server_config.hpp"

namespace lake::server {

// Runs the master until its last generation exits; returns the process's exit status.
// `argv`: the command line to start each generation with (without --master).
int run_master(const config::ServerConfig& config, const std::vector<std::string>& argv);

// In a generation started by the master: the listeners it handed down (empty otherwise), and
// the call that tells it the generation is serving.
std::vector<int> inherited_listeners();
void tell_master_ready();

}  // namespace lake::server
