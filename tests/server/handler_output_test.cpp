// Handler output is not trusted blindly: a response that would corrupt the stream (an interim
// status sent as final, CR/LF in a header) is answered 500 instead, and the connection goes on.
#include <utility>

#include "server_fixture.hpp"

namespace lake::test {
namespace {

void status_101(const http::Request&, http::Response& r, void*) { r.status = 101; }
void status_199(const http::Request&, http::Response& r, void*) { r.status = 199; }
void crlf_in_type(const http::Request&, http::Response& r, void*) {
    r.content_type = "text/plain\r\nX-Injected: 1";
    r.body = "x";
}
void crlf_in_value(const http::Request&, http::Response& r, void*) {
    r.add_header("X-Echo", "a\r\nX-Injected: 1");
    r.body = "x";
}
void bad_name(const http::Request&, http::Response& r, void*) {
    r.add_header("Bad Name:", "x");
    r.body = "x";
}
// Values longer than a machine word: the check goes eight bytes at a time.
void long_crlf(const http::Request&, http::Response& r, void*) {
    r.add_header("X-Long", "0123456789abcdef\r\nX-Injected: 1");
    r.body = "x";
}
void long_del(const http::Request&, http::Response& r, void*) {
    r.add_header("X-Long", "0123456789abcdef\x7f");
    r.body = "x";
}
void fine(const http::Request&, http::Response& r, void*) {
    r.add_header("X-Long-Fine", "0123456789\tabcdef \xc3\xa9 0123456789");
    r.add_header("X-Fine", "a\tb c");
    r.content_type = "text/plain; charset=utf-8";
    r.body = "fine";
}

void host(const http::Request& q, http::Response& r, void*) { r.body = q.header("host"); }
// The value of X-V, bracketed so that blanks left at either end would show.
void value_of_x_v(const http::Request& q, http::Response& r, void*) {
    r.append("[");
    r.append(q.header("x-v"));
    r.append("]");
}

void routes(handlers::Router& router) {
    router.add(http::Method::Get, "/host", handlers::Handler{&host, nullptr});
    router.add(http::Method::Get, "/x-v", handlers::Handler{&value_of_x_v, nullptr});
    router.add(http::Method::Get, "/101", handlers::Handler{&status_101, nullptr});
    router.add(http::Method::Get, "/199", handlers::Handler{&status_199, nullptr});
    router.add(http::Method::Get, "/crlf-type", handlers::Handler{&crlf_in_type, nullptr});
    router.add(http::Method::Get, "/crlf-value", handlers::Handler{&crlf_in_value, nullptr});
    router.add(http::Method::Get, "/bad-name", handlers::Handler{&bad_name, nullptr});
    router.add(http::Method::Get, "/fine", handlers::Handler{&fine, nullptr});
    router.add(http::Method::Get, "/long-crlf", handlers::Handler{&long_crlf, nullptr});
    router.add(http::Method::Get, "/long-del", handlers::Handler{&long_del, nullptr});
}

TEST(HandlerOutput, UnsafeResponsesBecome500AndTheConnectionGoesOn) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    for (const char* path :
         {"/101", "/199", "/crlf-type", "/crlf-value", "/bad-name", "/long-crlf", "/long-del"}) {
        ASSERT_TRUE(c.send(get(path)));
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 500) << path;
        EXPECT_EQ(r.count("x-injected"), 0u) << path;
        EXPECT_EQ(r.header("connection"), "") << path;  // still keep-alive
    }
    ASSERT_TRUE(c.send(get("/fine")));
    const HttpResponse ok = c.read_response();
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.header("x-fine"), "a\tb c");
    EXPECT_EQ(ok.header("x-long-fine"), "0123456789\tabcdef \xc3\xa9 0123456789");
    EXPECT_EQ(ok.body, "fine");
    EXPECT_EQ(s.server().counters().bad_responses, 7u);
}

// RFC 9112 §3.2.2: for an absolute-form target, the target's authority is the Host.
TEST(HandlerOutput, HandlersSeeTheAuthorityOfAnAbsoluteFormTargetAsHost) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    ASSERT_TRUE(c.send("GET http://real.example:8080/host HTTP/1.1\r\nHost: other\r\n\r\n"));
    EXPECT_EQ(c.read_response().body, "real.example:8080");
    ASSERT_TRUE(c.send("GET /host HTTP/1.1\r\nHost: plain\r\n\r\n"));
    EXPECT_EQ(c.read_response().body, "plain");
    ASSERT_TRUE(c.send("GET http://user@evil/host HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 400);
}

// A field value reaches the handler without the blanks (SP, HTAB) around it, and with those
// inside it (RFC 9112 5.1), whichever end has them.
TEST(HandlerOutput, HeaderValuesComeWithoutTheBlanksAroundThem) {
    RunningServer s(test_config(), &routes);
    ASSERT_EQ(s.error(), "");
    Client c(s.port());
    const std::pair<const char*, const char*> cases[] = {
        {"X-V: plain", "[plain]"},
        {"X-V:tight", "[tight]"},
        {"X-V: \t both \t ", "[both]"},
        {"X-V: a b\t", "[a b]"},
        {"X-V:\tx", "[x]"},
        {"X-V:    ", "[]"},
        {"X-V:", "[]"},
        {"X-V: in\tside ", "[in\tside]"},
    };
    for (const auto& [line, want] : cases) {
        ASSERT_TRUE(c.send(std::string("GET /x-v HTTP/1.1\r\nHost: t\r\n") + line + "\r\n\r\n"));
        EXPECT_EQ(c.read_response().body, want) << line;
    }
}

}  // namespace
}  // namespace lake::test
