// libFuzzer target: the same bytes through the request parser whole and cut at arbitrary points
// must frame identically — the same requests (method, target, headers, body, keep-alive), in the
// same order, ending in the same error status or none. A parser whose answer depends on how TCP
// happened to segment a stream is one a client can steer (and a smuggling primitive). Build and
// run with tests/fuzz/run (clang, ASan + UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "parser_fixture.hpp"

namespace {

using Fixture = lake::fuzz::ParserFixture;

struct Outcome {
    std::vector<std::string> requests;  // one line per complete request
    int error = 0;                      // the status that ended the stream, or 0
    std::string reason;                 // why (reported, not compared)

    bool operator==(const Outcome& o) const { return requests == o.requests && error == o.error; }
};

std::string describe(const lake::http::Request& r, const std::string& streamed) {
    std::string s(r.method_name);
    s += ' ';
    s.append(r.target);
    s += " path=";
    s.append(r.path);
    s += " query=";
    s.append(r.query);
    s += r.keep_alive ? " keep-alive" : " close";
    for (const auto& h : r.headers) {
        s += '|';
        s.append(h.name);
        s += ':';
        s.append(h.value);
    }
    s += "|body=";
    s.append(r.body);
    s += "|streamed=";
    s += streamed;
    return s;
}

// Feeds `data` in pieces whose sizes come from `cuts` (cycled; 0 there means "the rest"). Each
// piece lives in a buffer of its own, lent to the parser (borrowable) and freed when the next
// piece comes, as the server recycles a receive buffer: a view still pointing into a piece after
// its request was answered, or after the piece while the request goes on, is a use after free
// that ASan reports.
Outcome run(Fixture& f, const char* data, std::size_t size, const std::vector<std::size_t>& cuts) {
    Outcome o;
    f.new_connection();
    std::size_t at = 0, cut = 0;
    std::size_t piece_start = 0, piece_end = 0;
    std::unique_ptr<char[]> piece;
    while (at < size) {
        if (at >= piece_end) {
            const std::size_t n =
                cuts.empty() || cuts[cut % cuts.size()] == 0 ? size - at : cuts[cut % cuts.size()];
            ++cut;
            piece_start = at;
            piece_end = at + n < size ? at + n : size;
            piece.reset();  // the last one goes back before the next is received
            piece = std::make_unique<char[]>(piece_end - piece_start);
            std::memcpy(piece.get(), data + piece_start, piece_end - piece_start);
        }
        const lake::http::ParseStep step =
            f.parser.feed(piece.get() + (at - piece_start), piece_end - at, true);
        if (step.event == lake::http::ParseEvent::Error) {
            o.error = f.parser.error_status();
            o.reason = f.parser.error_reason();
            return o;
        }
        if (step.event == lake::http::ParseEvent::BodyPart) f.streamed += f.parser.body_part();
        if (step.event == lake::http::ParseEvent::Complete) {
            o.requests.push_back(describe(f.parser.request(), f.streamed));
            if (f.parser.must_close()) return o;  // the stream is not HTTP any more
            f.next_request();
        } else if (step.consumed == 0) {
            break;
        }
        at += step.consumed;
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture whole, pieces;
    if (size < 4) return 0;
    // The first four bytes choose the cuts: sizes 1..64, cycled.
    std::vector<std::size_t> cuts;
    for (int i = 0; i < 4; ++i) cuts.push_back(1 + data[i] % 64);
    const char* stream = reinterpret_cast<const char*>(data + 4);
    const Outcome a = run(whole, stream, size - 4, {});
    const Outcome b = run(pieces, stream, size - 4, cuts);
    if (!(a == b)) {
        std::fprintf(stderr,
                     "framing depends on the cuts: whole %zu requests, error %d (%s); cut %zu, "
                     "error %d (%s)\n",
                     a.requests.size(), a.error, a.reason.c_str(), b.requests.size(), b.error,
                     b.reason.c_str());
        for (std::size_t i = 0; i < a.requests.size() || i < b.requests.size(); ++i)
            std::fprintf(stderr, "  %s\n  %s\n",
                         i < a.requests.size() ? a.requests[i].c_str() : "-",
                         i < b.requests.size() ? b.requests[i].c_str() : "-");
        std::abort();
    }
    return 0;
}
