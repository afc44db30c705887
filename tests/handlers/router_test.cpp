// The router: exact paths, {param} segments, a trailing {*wildcard}, per method; conflicts and
// malformed routes refused with a message naming the route.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../../handlers/router.hpp"

namespace lake::handlers {
namespace {

using http::Header;

// A handler that answers with the name it was registered under (its context).
void named(const http::Request&, http::Response& r, void* context) {
    r.body = static_cast<const char*>(context);
}
// A handler that answers with the value of the parameter named by its context.
void param_of(const http::Request& q, http::Response& r, void* context) {
    r.body = q.param(static_cast<const char*>(context));
}

Handler h(const char* name) { return Handler{&named, const_cast<char*>(name)}; }
Handler p(const char* param) { return Handler{&param_of, const_cast<char*>(param)}; }

struct Call {
    lake::Lake arena{4096};
    http::Request req;
    http::Response res;
};

// Dispatches `method path` and returns the response (its views live as long as `call`).
const http::Response& run(const Router& router, Call& call, std::string_view path,
                          http::Method method = http::Method::Get) {
    call.req.method = method;
    call.req.path = path;
    call.req.arena = &call.arena;
    (void)router.dispatch(call.req, call.res);
    return call.res;
}

std::string body(const Router& router, std::string_view path,
                 http::Method method = http::Method::Get) {
    Call c;
    const http::Response& r = run(router, c, path, method);
    return r.status == 200 ? std::string(r.body) : std::to_string(r.status);
}

TEST(Router, ExactParametersAndWildcards) {
    Router r;
    r.add(http::Method::Get, "/", h("root"));
    r.add(http::Method::Get, "/users", h("list"));
    r.add(http::Method::Get, "/users/{id}", p("id"));
    r.add(http::Method::Get, "/users/{id}/posts/{post}", p("post"));
    r.add(http::Method::Get, "/files/{*rest}", p("rest"));
    ASSERT_EQ(r.take_error(), "");
    EXPECT_EQ(body(r, "/"), "root");
    EXPECT_EQ(body(r, "/users"), "list");
    EXPECT_EQ(body(r, "/users/42"), "42");
    EXPECT_EQ(body(r, "/users/42/posts/7"), "7");
    EXPECT_EQ(body(r, "/files/a/b/c.txt"), "a/b/c.txt");
    EXPECT_EQ(body(r, "/files/"), "");
    EXPECT_EQ(body(r, "/users/42/posts"), "404");
    EXPECT_EQ(body(r, "/users/"), "404");  // an empty segment is no parameter
    EXPECT_EQ(body(r, "/nope"), "404");
}

// What a handler saw of its request's parameters while it ran.
struct SeenParams {
    std::string x, y, z, nope;
    std::size_t count = 0;
};
void record_params(const http::Request& q, http::Response& r, void* context) {
    auto& seen = *static_cast<SeenParams*>(context);
    seen = {std::string(q.param("x")), std::string(q.param("y")), std::string(q.param("z")),
            std::string(q.param("nope")), q.params.size()};
    r.body = "ok";
}

TEST(Router, EveryParameterOfAPathIsReadable) {
    Router r;
    SeenParams seen;
    r.add(http::Method::Get, "/a/{x}/b/{y}/{*z}", Handler{&record_params, &seen});
    Call c;
    ASSERT_EQ(run(r, c, "/a/1/b/2/3/4").body, "ok");
    EXPECT_EQ(seen.x, "1");
    EXPECT_EQ(seen.y, "2");
    EXPECT_EQ(seen.z, "3/4");
    EXPECT_EQ(seen.nope, "");
    EXPECT_EQ(seen.count, 3u);
    // They lived in the router's frame: once it returned, the request holds none (no view of
    // a frame that is gone), and the request arena gave them no room.
    EXPECT_TRUE(c.req.params.empty());
    EXPECT_EQ(c.arena.used(), 0u);
}

// A waiting handler outlives dispatch(): its parameters are copied into the request arena, where
// they stay for the request; with no room there for them the answer is 503 and no task starts.
Task waits_then_answers(const http::Request&, http::Response& r, void*) {
    r.body = "waited";
    co_return;
}

TEST(Router, AWaitingHandlersParametersLiveInTheRequestArenaOr503) {
    Router r;
    r.add(http::Method::Get, "/w/{x}/{y}", Handler::waiting(&waits_then_answers));
    {
        Call c;
        c.req.method = http::Method::Get;
        c.req.path = "/w/1/2";
        c.req.arena = &c.arena;
        c.res.bind(&c.arena, nullptr);
        Task task = r.dispatch(c.req, c.res);
        ASSERT_TRUE(task);
        ASSERT_EQ(c.req.params.size(), 2u);
        EXPECT_TRUE(c.arena.owns(c.req.params.data()));
        task.start();
        EXPECT_TRUE(task.done());
        EXPECT_EQ(c.req.param("x"), "1");  // still there once the handler has run
        EXPECT_EQ(c.req.param("y"), "2");
        EXPECT_EQ(c.res.body, "waited");
    }
    {
        Call c;
        c.req.method = http::Method::Get;
        c.req.path = "/w/1/2";
        c.req.arena = &c.arena;
        c.res.bind(&c.arena, nullptr);
        ASSERT_NE(c.arena.allocate(c.arena.remaining(), 1), nullptr);  // no room left
        Task task = r.dispatch(c.req, c.res);
        EXPECT_FALSE(task);
        EXPECT_EQ(c.res.status, 503);
    }
}

TEST(Router, LiteralsWinOverParametersAndABranchThatLeadsNowhereIsLeft) {
    Router r;
    r.add(http::Method::Get, "/users/me", h("me"));
    r.add(http::Method::Get, "/users/{id}", h("by id"));
    r.add(http::Method::Get, "/users/me/settings", h("settings"));
    r.add(http::Method::Get, "/users/{id}/posts", h("posts"));
    r.add(http::Method::Get, "/{*all}", h("fallback"));
    EXPECT_EQ(body(r, "/users/me"), "me");
    EXPECT_EQ(body(r, "/users/7"), "by id");
    EXPECT_EQ(body(r, "/users/me/settings"), "settings");
    EXPECT_EQ(body(r, "/users/me/posts"), "posts");  // the literal branch has no /posts
    EXPECT_EQ(body(r, "/users/me/other"), "fallback");
    EXPECT_EQ(body(r, "/"), "fallback");  // "/{*all}" takes "/" too, when no route is "/"
}

// The tree against a model: a path's route is, among the patterns that match it, the one whose
// kinds of segment (literal < parameter < wildcard) come first, position by position; its
// parameters are the segments its parameters and wildcard take. Random route sets (more than 16
// literals at some nodes, so the hashed look-up is covered too) and random paths, many of which
// make the walk back out of a literal branch.
namespace model {

using Segments = std::vector<std::string>;

Segments split(std::string_view path) {  // "/a/b" -> {"a", "b"}; "/a/" -> {"a", ""}
    Segments out;
    std::size_t from = 1;
    for (;;) {
        const std::size_t slash = path.find('/', from);
        out.emplace_back(path.substr(from, slash == std::string_view::npos ? slash : slash - from));
        if (slash == std::string_view::npos) return out;
        from = slash + 1;
    }
}

int kind(const std::string& seg) {
    return seg.starts_with("{*") ? 2 : seg.starts_with("{") ? 1 : 0;
}

// Whether `pattern` matches `path`; the values its parameters take go to `values`.
bool matches(const Segments& pattern, const Segments& path, std::vector<std::string>& values) {
    values.clear();
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (kind(pattern[i]) == 2) {
            if (path.size() <= i) return false;
            std::string rest = path[i];
            for (std::size_t j = i + 1; j < path.size(); ++j) rest += "/" + path[j];
            values.push_back(rest);
            return true;
        }
        if (i >= path.size()) return false;
        if (kind(pattern[i]) == 1) {
            if (path[i].empty()) return false;
            values.push_back(path[i]);
        } else if (pattern[i] != path[i]) {
            return false;
        }
    }
    return pattern.size() == path.size();
}

}  // namespace model

TEST(RouteTree, FindsWhatTheModelFindsOnRandomRoutesAndPaths) {
    std::mt19937 rng(20261201);
    const std::vector<std::string> words = {"a", "b", "ab", "users", "me", "x", ""};
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    for (int round = 0; round < 200; ++round) {
        RouteTree tree;
        std::vector<model::Segments> patterns;  // by route number
        const std::size_t count = 1 + pick(40);
        for (std::size_t r = 0; r < count; ++r) {
            std::string pattern;
            model::Segments segs;
            const std::size_t depth = 1 + pick(4);
            for (std::size_t d = 0; d < depth; ++d) {
                std::string seg;
                const std::size_t k = pick(10);
                if (k < 2)
                    seg = "{p" + std::to_string(d) + "}";  // one name per depth: no conflicts
                else if (k == 2 && d + 1 == depth)
                    seg = "{*w" + std::to_string(d) + "}";
                else if (k == 3 && d == 0)
                    seg = "wide" + std::to_string(pick(24));  // > 16 at the root
                else
                    seg = words[pick(words.size())];
                pattern += "/" + seg;
                segs.push_back(seg);
            }
            std::string error;
            const std::uint32_t got =
                tree.insert(pattern, static_cast<std::uint32_t>(patterns.size()), error);
            ASSERT_NE(got, RouteTree::kNone) << pattern << ": " << error;
            if (got == patterns.size()) patterns.push_back(segs);
        }
        for (int q = 0; q < 200; ++q) {
            std::string path;
            const std::size_t depth = 1 + pick(5);
            for (std::size_t d = 0; d < depth; ++d)
                path += "/" + (pick(8) == 0 ? "wide" + std::to_string(pick(24))
                                            : words[pick(words.size())]);
            // The model: the first in kind order among the patterns that match.
            std::uint32_t want = RouteTree::kNone;
            std::vector<int> want_kinds;
            std::vector<std::string> want_values, values;
            for (std::size_t r = 0; r < patterns.size(); ++r) {
                if (!model::matches(patterns[r], model::split(path), values)) continue;
                std::vector<int> kinds;
                for (const auto& seg : patterns[r]) kinds.push_back(model::kind(seg));
                if (want == RouteTree::kNone || kinds < want_kinds) {
                    want = static_cast<std::uint32_t>(r);
                    want_kinds = kinds;
                    want_values = values;
                }
            }
            RouteTree::Match m;
            const bool found = tree.find(path, m);
            ASSERT_EQ(found, want != RouteTree::kNone) << path;
            if (!found) {
                EXPECT_EQ(m.param_count, 0u) << path;  // a walk that backed out leaves none
                continue;
            }
            ASSERT_EQ(m.route, want)
                << path << " got " << m.route << " want " << want << ": " << [&] {
                       std::string all;
                       for (auto& p : patterns) {
                           all += "\n";
                           for (auto& s : p) all += "/" + s;
                       }
                       return all;
                   }();
            ASSERT_EQ(m.param_count, want_values.size()) << path;
            for (std::size_t i = 0; i < m.param_count; ++i)
                EXPECT_EQ(m.params[i].value, want_values[i]) << path << " parameter " << i;
        }
    }
}

TEST(Router, MethodsPerRouteWith405AllowAndOptions) {
    Router r;
    r.add(http::Method::Get, "/items/{id}", h("get"));
    r.add(http::Method::Delete, "/items/{id}", h("delete"));
    EXPECT_EQ(body(r, "/items/1", http::Method::Delete), "delete");
    EXPECT_EQ(body(r, "/items/1", http::Method::Head), "get");  // HEAD from GET
    Call post;
    const http::Response& no = run(r, post, "/items/1", http::Method::Post);
    EXPECT_EQ(no.status, 405);
    ASSERT_EQ(no.headers().size(), 1u);
    EXPECT_EQ(no.headers()[0].name, "Allow");
    EXPECT_EQ(no.headers()[0].value, "GET, HEAD, DELETE, OPTIONS");
    Call options;
    EXPECT_EQ(run(r, options, "/items/9", http::Method::Options).status, 204);
}

TEST(Router, ConflictingRoutesAreRefusedNamingTheRoute) {
    Router r;
    r.add(http::Method::Get, "/users/{id}", h("a"));
    r.add(http::Method::Get, "/users/{name}", h("b"));
    const std::string e1 = r.take_error();
    EXPECT_NE(e1.find("route '/users/{name}'"), std::string::npos) << e1;
    EXPECT_NE(e1.find("conflicts with '{id}'"), std::string::npos) << e1;
    r.add(http::Method::Get, "/users/{id}", h("again"));
    const std::string e2 = r.take_error();
    EXPECT_NE(e2.find("GET is already registered"), std::string::npos) << e2;
    EXPECT_EQ(body(r, "/users/1"), "a");                  // the first registration stands
    r.add(http::Method::Head, "/users/{id}", h("head"));  // explicit HEAD over GET's: fine
    EXPECT_EQ(r.take_error(), "");
    EXPECT_EQ(body(r, "/users/1", http::Method::Head), "head");
}

TEST(Router, MalformedRoutesAreRefused) {
    for (const char* bad :
         {"users", "/a/{", "/a/{}", "/a/{x", "/a/{*x}/b", "/a/x{y}", "/a/{x y}"}) {
        Router r;
        r.add(http::Method::Get, bad, h("x"));
        const std::string e = r.take_error();
        EXPECT_NE(e.find("route '" + std::string(bad) + "'"), std::string::npos)
            << bad << ": " << e;
        EXPECT_EQ(r.take_error(), "");  // taken
    }
}

bool deny_without_token(const http::Request& q, http::Response& r, void*) {
    if (q.header("authorization") == "Bearer ok") return false;
    r.status = 401;
    r.body = "no";
    return true;
}
bool tag(const http::Request&, http::Response& r, void* context) {
    r.add_header("X-Tag", static_cast<const char*>(context));
    return false;
}

TEST(Router, BeforeHooksCanAnswerEarlyAndAfterHooksAddHeadersInOrder) {
    Router r;
    r.add(http::Method::Get, "/admin/ping", h("pong"));
    r.add(http::Method::Get, "/open", h("open"));
    r.add_before("/admin/", Hook{&deny_without_token, nullptr});
    r.add_after("/", Hook{&tag, const_cast<char*>("first")});
    r.add_after("/admin/", Hook{&tag, const_cast<char*>("second")});
    ASSERT_EQ(r.take_error(), "");
    Call denied;
    const http::Response& d = run(r, denied, "/admin/ping");
    EXPECT_EQ(d.status, 401);
    ASSERT_EQ(d.headers().size(), 2u);  // after-hooks run after an early answer too, in order
    EXPECT_EQ(d.headers()[0].value, "first");
    EXPECT_EQ(d.headers()[1].value, "second");
    Call allowed;
    Header auth{"Authorization", "Bearer ok"};
    allowed.req.headers = std::span<const Header>(&auth, 1);
    EXPECT_EQ(run(r, allowed, "/admin/ping").body, "pong");
    Call open;
    const http::Response& o = run(r, open, "/open");
    EXPECT_EQ(o.body, "open");
    ASSERT_EQ(o.headers().size(), 1u);
    EXPECT_EQ(o.headers()[0].value, "first");
    r.add_before("admin", Hook{&deny_without_token, nullptr});
    EXPECT_NE(r.take_error().find("before-hook on 'admin'"), std::string::npos);
}

// Which hooks a request meets is settled per route at start-up where its pattern decides (the
// literal start "/users/" of "/users/{id}"), and compared per request where it does not: the same
// hooks run, in the same order, as when every prefix is compared — whatever order routes and
// hooks were added in, and for paths no route matches.
std::string tags(const Router& r, std::string_view path) {
    Call c;
    const http::Response& res = run(r, c, path);
    std::string out = std::to_string(res.status);
    for (const Header& h : res.headers()) {
        out += ' ';
        out.append(h.value);
    }
    return out;
}

TEST(Router, HooksSettledByTheRoutePatternRunAsIfEveryPrefixWereCompared) {
    Router r;
    r.add_after("/users/4", Hook{&tag, const_cast<char*>("users/4")});  // into the parameter
    r.add(http::Method::Get, "/users/{id}", p("id"));
    r.add_after("/", Hook{&tag, const_cast<char*>("root")});
    r.add_after("/admin/", Hook{&tag, const_cast<char*>("admin")});  // never on /users/
    r.add_after("/us", Hook{&tag, const_cast<char*>("us")});         // shorter than the start
    r.add(http::Method::Get, "/files/{*rest}", p("rest"));
    r.add(http::Method::Get, "/usersx", h("x"));
    r.add_before("/users/5", Hook{&deny_without_token, nullptr});
    ASSERT_EQ(r.take_error(), "");
    EXPECT_EQ(tags(r, "/users/42"), "200 users/4 root us");
    EXPECT_EQ(tags(r, "/users/7"), "200 root us");
    EXPECT_EQ(tags(r, "/users/5"), "401 root us");  // the before-hook answered
    EXPECT_EQ(tags(r, "/users/6"), "200 root us");
    EXPECT_EQ(tags(r, "/usersx"), "200 root us");
    EXPECT_EQ(tags(r, "/files/a"), "200 root");
    EXPECT_EQ(tags(r, "/users/5/unknown"), "401 root us");  // no route: every prefix compared
    EXPECT_EQ(tags(r, "/admin/x"), "404");                  // the router's own 404: no after-hooks
}

// A before-hook guards its prefix also against other spellings of a path under it, those a
// server that normalizes paths (an upstream behind a proxy route) would read as under it.
TEST(Router, ABeforeHookCoversEverySpellingANormalizingServerReadsAsUnderItsPrefix) {
    Router r;
    r.add(http::Method::Get, "/api/{*rest}", p("rest"));  // e.g. a proxy to such a server
    r.add(http::Method::Get, "/open", h("open"));
    r.add_before("/api/admin/", Hook{&deny_without_token, nullptr});
    ASSERT_EQ(r.take_error(), "");
    for (const char* path :
         {"/api/admin/x", "/api//admin/x", "/api/admin//x", "//api/admin/x", "/api/%61dmin/x",
          "/api/%2Fadmin/x", "/api/x/../admin/x", "/api/./admin/x", "/api\\admin\\x",
          "/api/admin/.", "/api/x/%2e%2e/admin/"}) {
        Call c;
        EXPECT_EQ(run(r, c, path).status, 401) << path;
    }
    for (const char* path :
         {"/api/x", "/api/adminx", "/api/x/admin/y", "/api/admin%2", "/api/%zz"}) {
        Call c;
        EXPECT_EQ(run(r, c, path).status, 200) << path;
    }
    // No room in the request arena to normalize a path that needs it: the hook runs.
    Call full;
    full.arena.~Lake();
    new (&full.arena) lake::Lake(8);
    EXPECT_EQ(run(r, full, "/api/x/%61aaaaaaaaaaaa").status, 401);
    Call fits;
    EXPECT_EQ(run(r, fits, "/api/x/%61aaaaaaaaaaaa").status, 200);
}

}  // namespace
}  // namespace lake::handlers
