// tests/server/backed_up_clients.hpp — clients that pipeline requests for answers of 12 KiB and
// never read them: the socket buffers fill with their answers and their requests wait in receive
// buffers (the back-pressure tests, with a ring of a few buffers).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace lake::test {

inline void twelve_kib(const http::Request&, http::Response& r, void*) {
    static const std::string body(12 * 1024, 't');
    r.body = body;
}
inline void big_answer_route(handlers::Router& router) {
    router.add(http::Method::Get, "/12k", handlers::Handler{&twelve_kib, nullptr});
}

// One worker, a ring of 4 buffers, and clients that hold them behind unread answers cut after a
// second while others wait.
inline config::ServerConfig pressure_config() {
    config::ServerConfig c = test_config();
    c.workers = 1;
    c.recv_buffers = 4;
    c.send_under_pressure_s = 1;
    return c;
}

// Four clients pipeline 600 requests each to `s` (serving big_answer_route) and read nothing;
// then a fifth sends one request of three 2-KiB buffers' worth and reads its answer (within 8 s).
// Returns that answer's status (0: none came), with the four cut short afterwards.
inline int status_for_a_reader_behind_backed_up_clients(RunningServer& s) {
    std::string batch;
    for (int i = 0; i < 600; ++i) batch += get("/12k");
    std::vector<std::unique_ptr<Client>> stalled;
    for (int i = 0; i < 4; ++i)
        stalled.push_back(std::make_unique<Client>(s.port(), 10000, nullptr, 4096));
    std::vector<std::thread> senders;
    for (auto& cl : stalled) senders.emplace_back([&cl, &batch] { (void)cl->send(batch); });
    ::usleep(300 * 1000);  // their answers back up, their requests wait in the ring's buffers
    Client reader(s.port(), 8000);
    int status = 0;
    if (reader.send("GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(6000, 'p') +
                    "\r\n\r\n"))
        status = reader.read_response().status;
    for (auto& cl : stalled) ::shutdown(cl->fd(), SHUT_RDWR);  // senders cut short, if still on
    for (std::thread& t : senders) t.join();
    return status;
}

}  // namespace lake::test
