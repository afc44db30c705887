// Many clients at once, and curl as a real-world client.
#include <cstdio>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

using Concurrency = ServerTest;

TEST_F(Concurrency, FiveHundredConnectionsTenRequestsEach) {
    constexpr int kConnections = 500;
    constexpr int kRounds = 10;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kConnections; ++i) {
        clients.push_back(std::make_unique<Client>(port()));
        ASSERT_TRUE(clients.back()->connected()) << i;
    }
    int ok = 0;
    for (int round = 0; round < kRounds; ++round) {
        for (auto& c : clients) ASSERT_TRUE(c->send(get(round % 2 ? "/json" : "/plaintext")));
        for (auto& c : clients) {
            const HttpResponse r = c->read_response();
            ASSERT_EQ(r.status, 200);
            ok += 1;
        }
    }
    EXPECT_EQ(ok, kConnections * kRounds);
}

std::string run(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

TEST_F(Concurrency, CurlAsARealClient) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port());
    EXPECT_EQ(run("curl -s --max-time 5 " + base + "/plaintext"), "Hello, World!");
    EXPECT_EQ(run("curl -s --max-time 5 " + base + "/json"), R"({"message":"Hello, World!"})");
    EXPECT_EQ(run("curl -s --max-time 5 -X POST -H 'Content-Type: text/plain' --data-binary "
                  "'from curl' " +
                  base + "/echo"),
              "from curl");
    // Chunked upload, curl's Expect: 100-continue, keep-alive across two URLs, HTTP/1.0.
    EXPECT_EQ(run("head -c 300000 /dev/zero | tr '\\0' 'z' | curl -s --max-time 5 -X POST "
                  "-H 'Transfer-Encoding: chunked' --data-binary @- " +
                  base + "/echo | wc -c"),
              "300000\n");
    EXPECT_EQ(run("curl -s --max-time 5 -o /dev/null -w '%{http_code} %{num_connects}\\n' " + base +
                  "/plaintext -o /dev/null " + base + "/json"),
              "200 1\n200 0\n");
    EXPECT_EQ(run("curl -s --max-time 5 -0 -o /dev/null -w '%{http_code}' " + base + "/plaintext"),
              "200");
    EXPECT_EQ(run("curl -s --max-time 5 -o /dev/null -w '%{http_code}' " + base + "/missing"),
              "404");
}

}  // namespace
}  // namespace lake::test
