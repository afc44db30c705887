// lake/fbc.hpp — FBC ("forget, but controlled"): promote a value to program lifetime.
//
// FBC(value) moves the value into a heap block that is never freed and returns an FBCWrap, a
// pointer-sized, trivially copyable handle to it. For one-time configuration, interned strings
// and singletons: `static auto config = lake::FBC(Config::load());`. The wrapper adds no state
// of its own, so sharing it between threads is exactly as safe as sharing a `T&`.
#pragma once

#include <type_traits>
#include <utility>

#include "config.hpp"

namespace lake {

template <class T>
class FBCWrap {
  public:
    explicit FBCWrap(T* value) noexcept : value_(value) {}
    T& get() const noexcept { return *value_; }
    T& operator*() const noexcept { return *value_; }
    T* operator->() const noexcept { return value_; }

  private:
    T* value_;
};

// Moves (or copies) `value` into a block that lives until the program ends. Throws what `new`
// throws. Leak checkers are told the block is intentional.
template <class T>
FBCWrap<std::decay_t<T>> FBC(T&& value) {
    auto* p = new std::decay_t<T>(std::forward<T>(value));
#if LAKE_ASAN
    __lsan_ignore_object(p);
#endif
    return FBCWrap<std::decay_t<T>>(p);
}

}  // namespace lake

// The seed's spelling: `static auto cfg = LAKE_FBC(Config{});`.
#define LAKE_FBC(...) ::lake::FBC(__VA_ARGS__)
