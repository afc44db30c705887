#include "task.hpp"

namespace lake::handlers {

lake::BasicArena*& frame_arena() noexcept {
    thread_local lake::BasicArena* arena = nullptr;
    return arena;
}

}  // namespace lake::handlers
