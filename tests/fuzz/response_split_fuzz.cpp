// libFuzzer target: an upstream's response through the reverse proxy's parser
// (proxy/response_parser.cpp), whole and cut at arbitrary points, must come out the same — the
// same status, header fields, body bytes, framing, reusability and count of bytes after it, or
// the same failure. What the proxy passes to a client must not depend on how the upstream's TCP
// segments fell (a response split differently being framed differently is a desync). Each piece
// lives in a buffer of its own, freed when the next one comes, as the proxy reuses its receive
// room: a header kept as a view into a piece instead of copied is a use after free ASan reports.
// Build and run with tests/fuzz/run (clang, ASan + UBSan).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../proxy/response_parser.hpp"

namespace {

using lake::proxy::ResponseParser;

struct Outcome {
    std::string response;  // status, fields, framing, body; or empty
    std::string result;    // how the stream ended: complete (and what followed), error, more

    bool operator==(const Outcome& o) const = default;
};

void append_body(void* context, std::string_view piece) {
    static_cast<std::string*>(context)->append(piece);
}

// Feeds `data` in pieces whose sizes come from `cuts` (cycled; empty: whole), then tells the
// parser the upstream closed when it wants more.
Outcome run(const char* data, std::size_t size, bool to_head,
            const std::vector<std::size_t>& cuts) {
    std::array<char, 512> header_bytes;  // small limits, so that fuzzing reaches them
    std::array<lake::http::Header, 8> headers;
    ResponseParser parser(header_bytes, headers);
    std::string body;
    parser.start(to_head, &append_body, &body);
    ResponseParser::Result r = ResponseParser::Result::More;
    std::size_t extra = 0;
    for (std::size_t at = 0, cut = 0; at < size && r == ResponseParser::Result::More;) {
        const std::size_t n = cuts.empty() ? size - at : cuts[cut++ % cuts.size()];
        const std::size_t len = n < size - at ? n : size - at;
        const auto piece = std::make_unique<char[]>(len);
        std::memcpy(piece.get(), data + at, len);
        r = parser.feed({piece.get(), len});
        at += len;
        // Bytes after the response, in this piece or later ones, are not parsed: counted.
        if (r == ResponseParser::Result::Complete) extra = parser.extra() + (size - at);
    }
    if (r == ResponseParser::Result::More) r = parser.finish();
    Outcome o;
    switch (r) {
        case ResponseParser::Result::Complete:
            o.result = "complete, " + std::to_string(extra) + " bytes after it" +
                       (parser.reusable() && extra == 0 ? ", reusable" : "");
            break;
        case ResponseParser::Result::Error:
            o.result = "error";  // why is reported, not compared (llhttp's reason names a place)
            return o;
        case ResponseParser::Result::More:
            o.result = "more";
            break;
    }
    o.response = std::to_string(parser.status());
    for (const lake::http::Header& h : parser.headers()) {
        o.response += '|';
        o.response.append(h.name);
        o.response += ':';
        o.response.append(h.value);
    }
    o.response += "|length=" + std::to_string(parser.content_length()) +
                  (parser.chunked() ? " chunked" : "") + "|body=" + body;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    // The first byte says whether the request was HEAD; the next four choose the cuts: sizes
    // 1..64, cycled.
    const bool to_head = (data[0] & 1) != 0;
    std::vector<std::size_t> cuts;
    for (int i = 1; i < 5; ++i) cuts.push_back(1 + data[i] % 64);
    const char* stream = reinterpret_cast<const char*>(data + 5);
    const Outcome a = run(stream, size - 5, to_head, {});
    const Outcome b = run(stream, size - 5, to_head, cuts);
    if (!(a == b)) {
        std::fprintf(stderr,
                     "the response depends on the cuts:\n  whole: %s\n         %s\n  cut:   %s\n"
                     "         %s\n",
                     a.result.c_str(), a.response.c_str(), b.result.c_str(), b.response.c_str());
        std::abort();
    }
    return 0;
}
