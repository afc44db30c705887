// The chunk-size line scanner (server/http/chunk_line.hpp): a line whole in one read (the short
// path for "<hex>\r\n") and the same bytes fed one at a time (the byte loop, across reads) must
// agree on everything: done or not, the size, where the line ends, the error and where.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "../../server/http/chunk_line.hpp"

namespace {

using lake::http::ChunkLine;

struct Outcome {
    ChunkLine::Result result;
    std::uint64_t size;
    std::size_t at;  // Done: just past the LF; Error: the offending byte; NeedMore: the end
    std::string reason;
};

Outcome whole(const std::string& bytes) {
    const std::unique_ptr<char[]> b(new char[bytes.size()]);  // exactly as long: ASan sees past
    bytes.copy(b.get(), bytes.size());
    ChunkLine line;
    line.start();
    std::size_t consumed = 0;
    const ChunkLine::Result r = line.scan(b.get(), bytes.size(), consumed);
    return {r, r == ChunkLine::Result::Done ? line.size() : 0, consumed,
            r == ChunkLine::Result::Error ? line.error_reason() : ""};
}

Outcome byte_by_byte(const std::string& bytes) {
    ChunkLine line;
    line.start();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        std::size_t consumed = 0;
        const ChunkLine::Result r = line.scan(&c, 1, consumed);
        if (r == ChunkLine::Result::Done) return {r, line.size(), i + consumed, ""};
        if (r == ChunkLine::Result::Error) return {r, 0, i + consumed, line.error_reason()};
    }
    return {ChunkLine::Result::NeedMore, 0, bytes.size(), ""};
}

void expect_same(const std::string& bytes) {
    const Outcome a = whole(bytes), b = byte_by_byte(bytes);
    EXPECT_EQ(a.result, b.result) << testing::PrintToString(bytes);
    EXPECT_EQ(a.size, b.size) << testing::PrintToString(bytes);
    EXPECT_EQ(a.at, b.at) << testing::PrintToString(bytes);
    EXPECT_EQ(a.reason, b.reason) << testing::PrintToString(bytes);
}

TEST(ChunkLine, CommonLinesWholeOrByteByByte) {
    for (const char* s : {"0\r\n", "5\r\nhello", "1a\r\n", "FF\r\n\r\n", "00000000000001\r\n",
                          "fffffffffffffff\r\n", "ffffffffffffffff\r\n", "10000000000000000\r\n",
                          "5;a=b\r\n", "5 ;a\r\n", "5\n", "5\rx", "\r\n", "g\r\n", "5", "5\r",
                          "000000000000000000000000001\r\n", "5;q=\"a\\\"b\"\r\n"})
        expect_same(s);
    const Outcome max = whole("ffffffffffffffff\r\n");
    EXPECT_EQ(max.result, ChunkLine::Result::Done);
    EXPECT_EQ(max.size, UINT64_MAX);
    EXPECT_EQ(whole("10000000000000000\r\n").result, ChunkLine::Result::Error);
    const Outcome common = whole("1a\r\nrest");
    EXPECT_EQ(common.result, ChunkLine::Result::Done);
    EXPECT_EQ(common.size, 0x1au);
    EXPECT_EQ(common.at, 4u);
}

TEST(ChunkLine, RandomLinesWholeOrByteByByte) {
    std::mt19937 rng(20261202);
    const std::string alphabet = "0123456789abcdefABCDEFg;= \t\"\\\r\n\r\n";
    for (int n = 0; n < 100000; ++n) {
        std::string s;
        const std::size_t len = 1 + rng() % 24;
        for (std::size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
        if (rng() % 2 == 0) s = std::to_string(rng() % 100000) + s;  // mostly digits first
        expect_same(s);
        if (HasFailure()) return;
    }
}

}  // namespace
