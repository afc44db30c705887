// lake/slice.hpp — a typed, non-owning run of T in an arena, as returned by alloc_slice<T>().
#pragma once

#include <cstddef>
#include <span>

#include "config.hpp"

namespace lake {

// A span that can also say "the allocation failed": it tests false then. A successful slice of
// zero elements tests true. Converts to std::span<T>.
template <class T>
class Slice {
  public:
    Slice() noexcept = default;
    Slice(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

    explicit operator bool() const noexcept { return data_ != nullptr; }
    T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T* begin() const noexcept { return data_; }
    T* end() const noexcept { return data_ + size_; }
    T& operator[](std::size_t i) const noexcept {
        LAKE_ASSERT(i < size_, "slice index out of range");
        return data_[i];
    }
    std::span<T> span() const noexcept { return {data_, size_}; }
    operator std::span<T>() const noexcept { return span(); }

  private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace lake
