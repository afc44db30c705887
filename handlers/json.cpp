// GET /json — TechEmpower "json": a {"message":"Hello, World!"} object serialized per request
// by rapidjson, straight into the request arena (no heap, no cached bytes).
#include <rapidjson/writer.h>

#include <cstring>

#include "builtin.hpp"

namespace lake::handlers {

namespace {

// A rapidjson output stream over the free space of an arena (see BasicArena::process).
class ArenaStream {
  public:
    using Ch = char;
    explicit ArenaStream(std::span<std::byte> free)
        : begin_(reinterpret_cast<char*>(free.data())), cap_(free.size()) {}
    void Put(char c) {
        if (len_ < cap_) begin_[len_] = c;
        ++len_;  // counts past the end, so that the caller sees it did not fit
    }
    void Flush() {}
    std::size_t length() const { return len_; }

  private:
    char* begin_;
    std::size_t cap_;
    std::size_t len_ = 0;
};

// rapidjson's Writer keeps a small stack of nesting levels; by default it takes it from the
// heap. This allocator hands out one inline block instead (a handful of levels is plenty).
class InlineStackAllocator {
  public:
    static const bool kNeedFree = false;
    void* Malloc(std::size_t size) { return size <= sizeof(block_) ? block_ : nullptr; }
    void* Realloc(void* old, std::size_t, std::size_t size) {
        return (old == nullptr || old == block_) && size <= sizeof(block_) ? block_ : nullptr;
    }
    static void Free(void*) {}

  private:
    alignas(std::max_align_t) unsigned char block_[256];
};

}  // namespace

void json(const http::Request& request, http::Response& response, void*) {
    lake::DropletDyn body = request.arena->process([](std::span<std::byte> free) {
        ArenaStream stream(free);
        InlineStackAllocator levels;
        rapidjson::Writer<ArenaStream, rapidjson::UTF8<>, rapidjson::UTF8<>, InlineStackAllocator>
            writer(stream, &levels, 4);
        writer.StartObject();
        writer.Key("message");
        writer.String("Hello, World!");
        writer.EndObject();
        return stream.length();
    });
    if (!body) {
        response.status = 500;
        return;
    }
    response.content_type = "application/json";
    response.body = body.as_chars();
    body.leak();  // lives until the request arena is reset, after serialization
}

}  // namespace lake::handlers
