// loadtest/micro/route_bench.cpp — route lookup: lake-server's RouteTree with 10, 100 and 1,000
// routes (half of them with a {parameter}) against a hash map of exact paths, the floor any
// router is measured against. Each iteration looks up one path of the set, cycling.
//
//   build/micro/loadtest/micro/route-bench
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "../../handlers/route_tree.hpp"

namespace {

struct RouteSet {
    std::vector<std::string> patterns;  // "/api/v1/r17/items" or "/api/v1/r18/items/{id}"
    std::vector<std::string> paths;     // a request path matching each pattern
};

RouteSet make_routes(int n) {
    RouteSet s;
    for (int i = 0; i < n; ++i) {
        const std::string base = "/api/v1/r" + std::to_string(i) + "/items";
        if (i % 2 == 0) {
            s.patterns.push_back(base);
            s.paths.push_back(base);
        } else {
            s.patterns.push_back(base + "/{id}");
            s.paths.push_back(base + "/12345");
        }
    }
    return s;
}

void tree(benchmark::State& state) {
    const RouteSet s = make_routes(static_cast<int>(state.range(0)));
    lake::handlers::RouteTree t;
    std::string err;
    for (std::size_t i = 0; i < s.patterns.size(); ++i)
        if (t.insert(s.patterns[i], static_cast<std::uint32_t>(i), err) == t.kNone)
            state.SkipWithError(err.c_str());
    std::size_t i = 0;
    lake::handlers::RouteTree::Match m;
    for (auto _ : state) {
        const bool found = t.find(s.paths[i], m);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(m.route);
        if (++i == s.paths.size()) i = 0;
    }
}

// The floor: exact paths only (the parameter routes' concrete paths), one hash and compare.
void hash_map(benchmark::State& state) {
    const RouteSet s = make_routes(static_cast<int>(state.range(0)));
    std::unordered_map<std::string_view, std::uint32_t> m;
    for (std::size_t i = 0; i < s.paths.size(); ++i) m.emplace(s.paths[i], i);
    std::size_t i = 0;
    for (auto _ : state) {
        auto it = m.find(s.paths[i]);
        benchmark::DoNotOptimize(it);
        if (++i == s.paths.size()) i = 0;
    }
}

}  // namespace

BENCHMARK(tree)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(hash_map)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_MAIN();
