// JSON written by rapidjson straight into an arena: strings escaped as JSON requires (runs that
// need no escaping are copied at once, the rest one by one), and an arena without room reported
// as an empty view, never overrun.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

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

TEST(ArenaJson, AnArenaWithoutRoomGivesAnEmptyViewAndKeepsItsBytes) {
    lake::Lake arena(64);
    const auto used_before = arena.used();
    EXPECT_EQ(write_string(arena, std::string(100, 'x')), "");  // one run past the end
    EXPECT_EQ(write_string(arena, std::string(60, '"')), "");   // escapes past the end
    EXPECT_EQ(arena.used(), used_before);
    EXPECT_EQ(write_string(arena, "fits"), R"({"s":"fits"})");
}

}  // namespace
}  // namespace lake::handlers
