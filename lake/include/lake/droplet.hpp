// lake/droplet.hpp — handles to arena allocations that know where they came from.
//
// A droplet is move-only. It tests false when the allocation failed (the arena was full); a failed
// droplet of any kind is empty (size 0, begin() == end()). While it is the most recent allocation
// of its arena, destroying it gives its bytes back (never below an open mark or sandbox), so LIFO
// use frees itself; leak() gives up that link. is_valid() tells whether its bytes still belong to
// it. A droplet must not outlive its arena: its destructor reads the arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "core.hpp"
#include "slice.hpp"

namespace lake {

namespace detail {

// Shared by Droplet<N> and DropletDyn: the link back to the arena and the debug checks.
class DropletBase {
  public:
    DropletBase(const DropletBase&) = delete;
    DropletBase& operator=(const DropletBase&) = delete;

    // False when the allocation failed. Says nothing about later rewinds: see is_valid().
    explicit operator bool() const noexcept { return data_ != nullptr; }

    // True while no reset or rewind below this droplet's end happened since it was allocated,
    // in its arena or in any arena that arena was split from, and the arena was not moved.
    bool is_valid() const noexcept {
        return core_ != nullptr && core_->holds(data_, size_, epoch_);
    }

    // Raw access, never checked: the pointer is stable for the droplet's whole life.
    std::byte* data() const noexcept { return data_; }

    // Gives up the automatic give-back; the bytes stay allocated until the arena rewinds below
    // them. Returns them as a span (checked for validity in debug builds).
    std::span<std::byte> leak() noexcept {
        give_back_ = false;
        return checked_bytes();
    }

    // The bytes as a span of T, or an empty Slice when the size is not a multiple of sizeof(T) or
    // the address is not aligned for T. T must be trivially copyable (zero-copy deserialization).
    template <class T>
    Slice<T> as_slice() const noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "as_slice<T> needs a trivially copyable T");
        if (data_ == nullptr || size_ % sizeof(T) != 0 ||
            reinterpret_cast<std::uintptr_t>(data_) % alignof(T) != 0)
            return {};
        check_valid();
        return Slice<T>(reinterpret_cast<T*>(data_), size_ / sizeof(T));
    }

    // The bytes viewed as one T, or nullptr when too small or misaligned for T.
    template <class T>
    T* as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "as<T> needs a trivially copyable T");
        if (data_ == nullptr || size_ < sizeof(T) ||
            reinterpret_cast<std::uintptr_t>(data_) % alignof(T) != 0)
            return nullptr;
        check_valid();
        return reinterpret_cast<T*>(data_);
    }

    std::string_view as_chars() const noexcept {
        check_valid();
        return {reinterpret_cast<const char*>(data_), size_};
    }

  protected:
    DropletBase() noexcept = default;
    DropletBase(ArenaCore* core, std::byte* data, std::size_t size) noexcept
        : core_(core), data_(data), size_(size), epoch_(core->epoch()) {
        core->track();
    }
    DropletBase(DropletBase&& o) noexcept
        : core_(o.core_),
          data_(o.data_),
          size_(o.size_),
          epoch_(o.epoch_),
          give_back_(o.give_back_) {
        o.detach();
    }
    DropletBase& operator=(DropletBase&& o) noexcept {
        if (this != &o) {
            release();
            core_ = o.core_;
            data_ = o.data_;
            size_ = o.size_;
            epoch_ = o.epoch_;
            give_back_ = o.give_back_;
            o.detach();
        }
        return *this;
    }
    ~DropletBase() { release(); }

    void check_valid() const noexcept {
        LAKE_ASSERT(data_ == nullptr || is_valid(), "droplet used after its arena rewound it");
    }
    std::span<std::byte> checked_bytes() const noexcept {
        check_valid();
        return {data_, size_};
    }
    std::byte& checked_at(std::size_t i) const noexcept {
        LAKE_ASSERT(i < size_, "droplet index out of range");
        check_valid();
        return data_[i];
    }

    ArenaCore* core_ = nullptr;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::uint64_t epoch_ = 0;
    bool give_back_ = true;

  private:
    void detach() noexcept {
        core_ = nullptr;
        data_ = nullptr;
        size_ = 0;
    }
    void release() noexcept {
        if (give_back_ && core_ != nullptr) (void)core_->give_back(data_, size_, epoch_);
    }
};

}  // namespace detail

// A fixed-size allocation of N bytes, usable like std::array<std::byte, N>.
template <std::size_t N>
class Droplet : public detail::DropletBase {
  public:
    Droplet() noexcept = default;  // the failed / empty droplet
    Droplet(detail::ArenaCore* core, std::byte* data) noexcept : DropletBase(core, data, N) {}

    // The bytes the droplet holds: N, or 0 when the allocation failed.
    std::size_t size() const noexcept { return size_; }
    // The size a successful allocation has.
    static constexpr std::size_t extent = N;
    bool empty() const noexcept { return size_ == 0; }
    std::byte& operator[](std::size_t i) const noexcept { return checked_at(i); }
    std::byte* begin() const noexcept { return checked_bytes().data(); }
    std::byte* end() const noexcept { return begin() + size_; }
    // The N bytes with their static extent. A failed droplet has none: calling this on one is a
    // broken contract, refused (abort) in every build rather than a span at address 0.
    std::span<std::byte, N> span() const noexcept {
        if (data_ == nullptr) [[unlikely]]
            detail::contract_failure("span() of a failed Droplet<N>", __FILE__, __LINE__);
        return std::span<std::byte, N>(begin(), N);
    }
    operator std::span<std::byte>() const noexcept { return checked_bytes(); }
    // Like leak(), with the static extent kept (the same contract as span()).
    std::span<std::byte, N> leak_fixed() noexcept {
        give_back_ = false;
        return span();
    }
};

// A run-time-sized allocation.
class DropletDyn : public detail::DropletBase {
  public:
    DropletDyn() noexcept = default;  // the failed / empty droplet
    DropletDyn(detail::ArenaCore* core, std::byte* data, std::size_t size) noexcept
        : DropletBase(core, data, size) {}

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::byte& operator[](std::size_t i) const noexcept { return checked_at(i); }
    std::byte* begin() const noexcept { return checked_bytes().data(); }
    std::byte* end() const noexcept { return begin() + size_; }
    std::span<std::byte> span() const noexcept { return checked_bytes(); }
    operator std::span<std::byte>() const noexcept { return checked_bytes(); }

    // Shrinks the droplet to its first n bytes (n <= size()); when it is the most recent
    // allocation the tail goes back to the arena. Returns false (and changes nothing) if n > size.
    bool shrink_to(std::size_t n) noexcept {
        if (n > size_) return false;
        check_valid();
        if (core_ != nullptr && give_back_ && is_valid() &&
            core_->give_back(data_ + n, size_ - n, epoch_)) {
            epoch_ = core_->epoch();  // the give-back was a rewind; this droplet lives on
        }
        size_ = n;
        return true;
    }
};

}  // namespace lake
