// JSON written by rapidjson straight into an arena: strings escaped as JSON requires (runs that
// need no escaping are copied at once, the rest one by one), and an arena without room reported
// as an empty view, never overrun.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include <random>
#include <string>
#include <vector>

#include "../../handlers/arena_json.hpp"

namespace lake::handlers {
namespace {

std::string write_string(lake::BasicArena& arena, std::string_view s) {
    return std::string(write_json(arena, [&](ArenaJsonWriter& w) {
        w.StartObject();
        w.Key("s");
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
        w.EndObject();
    }));
}

TEST(ArenaJson, StringsAreEscapedWhereJsonRequires) {
    lake::Lake arena(4096);
    EXPECT_EQ(write_string(arena, "plain"), R"({"s":"plain"})");
    EXPECT_EQ(write_string(arena, ""), R"({"s":""})");
    EXPECT_EQ(write_string(arena, "a\"b\\c"), R"({"s":"a\"b\\c"})");
    EXPECT_EQ(write_string(arena, std::string_view("\n\t\x01x\0", 5)),
              R"({"s":"\n\t\u0001x\u0000"})");
    EXPECT_EQ(write_string(arena, "\"\""), R"({"s":"\"\""})");                 // escapes only
    EXPECT_EQ(write_string(arena, "caf\xC3\xA9"), "{\"s\":\"caf\xC3\xA9\"}");  // UTF-8 as is
}

TEST(ArenaJson, LongStringsWithEscapesRoundTrip) {
    std::string s;
    for (int i = 0; i < 3000; ++i)
        s += (i % 97 == 0) ? '"' : (i % 89 == 0) ? '\n' : char('a' + i % 26);
    lake::Lake arena(64 * 1024);
    const std::string text = write_string(arena, s);
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    ASSERT_FALSE(d.HasParseError());
    EXPECT_EQ(std::string(d["s"].GetString(), d["s"].GetStringLength()), s);
}

// What rapidjson's own writer makes of `[pad, s]`: the reference.
std::string reference(std::string_view pad, std::string_view s) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.StartArray();
    w.String(pad.data(), static_cast<rapidjson::SizeType>(pad.size()));
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
    return std::string(b.GetString(), b.GetSize());
}

template <class Writer>
void write_pair(Writer& w, std::string_view pad, std::string_view s) {
    w.StartArray();
    w.String(pad.data(), static_cast<rapidjson::SizeType>(pad.size()));
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
}

// Strings of every length up to 40, a byte to escape (or one that looks close) at every position,
// and random mixes; each written by word (room for the worst case) and by runs (an arena just
// long enough, a response whose chunk ends anywhere in the string), byte for byte as rapidjson
// writes them.
TEST(ArenaJson, EveryPathWritesWhatRapidJsonWrites) {
    std::vector<std::string> cases;
    const char odd[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x20', '\x80', '\xff', '/', '\0'};
    for (std::size_t n = 0; n <= 40; ++n) {
        std::string clean;
        for (std::size_t i = 0; i < n; ++i) clean += static_cast<char>('a' + i % 26);
        cases.push_back(clean);
        for (std::size_t at = 0; at < n; ++at)
            for (char c : odd) {
                std::string t = clean;
                t[at] = c;
                cases.push_back(t);
            }
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        std::string t(rng() % 64, 'x');
        for (char& c : t) c = static_cast<char>(rng() % 4 == 0 ? rng() % 0x24 : 'A' + rng() % 60);
        cases.push_back(t);
    }
    for (const std::string& s : cases) {
        const std::string want = reference("", s);
        lake::Lake roomy(4096);
        EXPECT_EQ(std::string(write_json(roomy, [&](ArenaJsonWriter& w) { write_pair(w, "", s); })),
                  want);
        lake::Lake tight(want.size());  // no room for six bytes a byte: written by runs
        EXPECT_EQ(std::string(write_json(tight, [&](ArenaJsonWriter& w) { write_pair(w, "", s); })),
                  want);
    }
    // Into a response: the first chunk is 256 bytes; a pad of 200..255 makes the string start
    // near its end, so that it is written by runs across two chunks.
    for (std::size_t pad = 200; pad < 256; pad += 5) {
        const std::string padding(pad, 'p');
        for (std::size_t k = 0; k < cases.size(); k += 7) {
            const std::string& s = cases[k];
            lake::Lake scratch(4096), out(8192);
            http::Response r;
            r.bind(&scratch, &out);
            ASSERT_TRUE(json(r, [&](ResponseJsonWriter& w) { write_pair(w, padding, s); }));
            EXPECT_EQ(std::string(r.body), reference(padding, s)) << pad << " " << k;
        }
    }
}

TEST(ArenaJson, AnArenaWithoutRoomGivesAnEmptyViewAndKeepsItsBytes) {
    lake::Lake arena(64);
    const auto used_before = arena.used();
    EXPECT_EQ(write_string(arena, std::string(100, 'x')), "");  // one run past the end
    EXPECT_EQ(write_string(arena, std::string(60, '"')), "");   // escapes past the end
    EXPECT_EQ(arena.used(), used_before);
    EXPECT_EQ(write_string(arena, "fits"), R"({"s":"fits"})");
}

// Arrays and objects in turn, nested `depth` deep and closed again: [{"k":[{"k":"x"}]}].
template <class Writer>
void nest(Writer& w, int depth) {
    for (int i = 0; i < depth; ++i) {
        if (i % 2 == 0) {
            w.StartArray();
        } else {
            w.StartObject();
            w.Key("k");
        }
    }
    w.String("x");
    for (int i = depth - 1; i >= 0; --i) {
        if (i % 2 == 0)
            w.EndArray();
        else
            w.EndObject();
    }
}

std::string nested_reference(int depth) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    nest(w, depth);
    return std::string(b.GetString(), b.GetSize());
}

// The writer's levels live inline (32 of them): up to 32 the document is rapidjson's own, byte
// for byte.
TEST(ArenaJson, ThirtyTwoLevelsAreWrittenAsRapidJsonWritesThem) {
    lake::Lake arena(8192);
    for (int depth : {1, 2, 31, 32}) {
        EXPECT_EQ(std::string(write_json(arena, [&](ArenaJsonWriter& w) { nest(w, depth); })),
                  nested_reference(depth))
            << depth;
    }
    lake::Lake scratch(4096), out(8192);
    http::Response r;
    r.bind(&scratch, &out);
    EXPECT_TRUE(json(r, [&](ResponseJsonWriter& w) { nest(w, 32); }));
    EXPECT_EQ(r.body_failure(), http::BodyFailure::None);
    EXPECT_EQ(std::string(r.body), nested_reference(32));
}

// Deeper is refused: in a release build, an empty view (nothing kept) or a 500 naming why,
// instead of writing past the levels' block (rapidjson's stack, refused more memory by its
// allocator, stores through a null pointer); in a debug build, an assertion that says so.
#ifdef NDEBUG
TEST(ArenaJson, DeeperThanThirtyTwoLevelsIsRefused) {
    lake::Lake arena(8192);
    for (int depth : {33, 40, 200}) {
        EXPECT_EQ(write_json(arena, [&](ArenaJsonWriter& w) { nest(w, depth); }), "") << depth;
        EXPECT_EQ(arena.used(), 0u);
    }
    lake::Lake scratch(4096), out(8192);
    http::Response r;
    r.bind(&scratch, &out);
    EXPECT_FALSE(json(r, [&](ResponseJsonWriter& w) { nest(w, 33); }));
    EXPECT_TRUE(r.overflowed());
    EXPECT_EQ(r.body_failure(), http::BodyFailure::JsonTooDeep);
}
#else
TEST(ArenaJsonDeathTest, DeeperThanThirtyTwoLevelsIsADebugAssertion) {
    lake::Lake arena(8192);
    EXPECT_DEATH((void)write_json(arena, [&](ArenaJsonWriter& w) { nest(w, 33); }),
                 "nested more than 32 objects and arrays");
}
#endif

// A level left open is no JSON: refused the same way. (One closed without being opened is a
// rapidjson assertion in a debug build; in a release build it is refused too, see below.)
TEST(ArenaJson, ALevelLeftOpenIsRefused) {
    lake::Lake arena(4096);
    EXPECT_EQ(write_json(arena,
                         [](ArenaJsonWriter& w) {
                             w.StartObject();
                             w.Key("open");
                             w.StartArray();
                         }),
              "");
    EXPECT_EQ(arena.used(), 0u);
    lake::Lake scratch(4096), out(8192);
    http::Response r;
    r.bind(&scratch, &out);
    EXPECT_FALSE(json(r, [](ResponseJsonWriter& w) { w.StartArray(); }));
    EXPECT_EQ(r.body_failure(), http::BodyFailure::JsonUnbalanced);
    // Nothing written at all is not refused: an empty body, as the handler chose.
    http::Response empty;
    empty.bind(&scratch, &out);
    EXPECT_TRUE(json(empty, [](ResponseJsonWriter&) {}));
    EXPECT_EQ(empty.body_failure(), http::BodyFailure::None);
}

#ifdef NDEBUG
TEST(ArenaJson, ALevelClosedWithoutBeingOpenedIsRefusedInARelease) {
    lake::Lake arena(4096);
    EXPECT_EQ(write_json(arena,
                         [](ArenaJsonWriter& w) {
                             w.StartArray();
                             w.EndArray();
                             w.EndArray();
                         }),
              "");
    lake::Lake scratch(4096), out(8192);
    http::Response r;
    r.bind(&scratch, &out);
    EXPECT_FALSE(json(r, [](ResponseJsonWriter& w) { w.EndObject(); }));
    EXPECT_EQ(r.body_failure(), http::BodyFailure::JsonUnbalanced);
}
#endif

}  // namespace
}  // namespace lake::handlers
