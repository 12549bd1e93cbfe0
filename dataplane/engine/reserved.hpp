// ReservedArray<T>: address space for up to `n` T, reserved at start-up with
// one anonymous mmap (MAP_NORESERVE), whose pages become resident only when
// first written. A table sized for the largest case (a /8 pool: 33 M lease
// records) costs resident memory only for what it holds (issue 19: memory
// that follows the leases; docs/operations.md "Memory").
//
// Contract: fresh (and released) memory reads as all-zero bytes, so T must
// be trivially copyable and a container using it either treats all-zero as
// "empty" (the allocator's slots, the relay info slots, the key index) or
// never reads an element before writing it (lease records and stores handed
// out from a high-water mark). release(first, count) gives whole pages back
// to the kernel (MADV_DONTNEED), after which they read as zero again: O(pages),
// one system call; callers bound how much they release at once.
//
// Threads: none of its own; the owner's. Allocates (mmap) only in the
// constructor; every other function is noexcept and allocation-free.
// Pages: 4 KiB by default (MADV_NOHUGEPAGE). A transparent huge page is
// faulted in one piece, and on the shared test host that took ~5 ms (the
// kernel zeroes, and may compact, 2 MiB at once): a worker growing its
// tables would stop that long every 32768 new records. 4 KiB faults cost a
// few microseconds each. `huge` = true advises THP instead (for tables
// touched at start-up, whose random lookups then pay no page walk each;
// see engine/huge_alloc.hpp). The mapping is 2 MiB-aligned, so that
// advise_huge() can give a range filled at start-up (the hand-over's lease
// index, populated at once) 2 MiB pages; release() takes the advice back
// for what it gives back, so that a worker faulting those pages in again
// gets 4 KiB ones. Without THP
// (disabled, or no free 2 MiB page) the advice does nothing: 4 KiB pages.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace dorado::engine {

template <typename T>
class ReservedArray {
  static_assert(std::is_trivially_copyable_v<T>, "pages are zero-filled and released raw");

 public:
  static constexpr std::size_t kPage = 4096;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  ReservedArray() noexcept = default;
  explicit ReservedArray(std::size_t n, bool huge = false) : size_(n) {
    if (n == 0) return;
    bytes_ = (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
    // One huge page more, then the unaligned head and the tail unmapped:
    // the array starts on a 2 MiB boundary (address space only).
    const std::size_t mapped = bytes_ + kHugePage;
    void* m = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const auto raw = reinterpret_cast<std::uintptr_t>(m);
    const std::uintptr_t aligned = (raw + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > raw) ::munmap(m, aligned - raw);
    if (raw + mapped > aligned + bytes_)
      ::munmap(reinterpret_cast<void*>(aligned + bytes_), raw + mapped - (aligned + bytes_));
    void* p = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    ::madvise(p, bytes_, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#endif
    if (huge) huge_end_ = bytes_;
    data_ = static_cast<T*>(p);
  }
  ReservedArray(ReservedArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
        bytes_(std::exchange(o.bytes_, 0)), huge_end_(std::exchange(o.huge_end_, 0)) {}
  ReservedArray& operator=(ReservedArray&& o) noexcept {
    if (this != &o) {
      unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      bytes_ = std::exchange(o.bytes_, 0);
      huge_end_ = std::exchange(o.huge_end_, 0);
    }
    return *this;
  }
  ReservedArray(const ReservedArray&) = delete;
  ReservedArray& operator=(const ReservedArray&) = delete;
  ~ReservedArray() { unmap(); }

  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t reserved_bytes() const noexcept { return bytes_; }

  // Returns the whole pages inside elements [first, first + count) to the
  // kernel; they read as zero afterwards. Partial pages at either end stay.
  void release(std::size_t first, std::size_t count) noexcept {
    if (data_ == nullptr || count == 0) return;
    const auto base = reinterpret_cast<std::uintptr_t>(data_);
    std::uintptr_t lo = base + first * sizeof(T);
    std::uintptr_t hi = base + (first + count) * sizeof(T);
    lo = (lo + kPage - 1) / kPage * kPage;
    hi = hi / kPage * kPage;
    if (hi <= lo) return;
    // Pages given back inside a range advised for huge pages: 4 KiB pages
    // when they are faulted in again (by a worker: no 2 MiB fault stalls).
    if (lo < base + huge_end_) advise(lo, std::min<std::uintptr_t>(hi, base + huge_end_), false);
    ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }

  // Start-up, before elements [first, first + count) are first written (or
  // populate()d): the whole 2 MiB pages among them get transparent huge
  // pages when faulted in. One system call; a hint (nothing without THP).
  void advise_huge(std::size_t first, std::size_t count) noexcept {
    if (data_ == nullptr || count == 0) return;
    const auto base = reinterpret_cast<std::uintptr_t>(data_);
    const std::uintptr_t lo = (base + first * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
    const std::uintptr_t hi =
        std::min<std::uintptr_t>(base + bytes_, (base + (first + count) * sizeof(T)) / kHugePage * kHugePage);
    if (hi <= lo) return;
    advise(lo, hi, true);
    huge_end_ = std::max<std::size_t>(huge_end_, hi - base);
  }
  // Bytes from the start that may have been advised for huge pages
  // (release() of pages below it re-advises them 4 KiB pages).
  std::size_t huge_bytes() const noexcept { return huge_end_; }

  // Makes the pages of elements [first, first + count) resident now, in
  // one system call (MADV_POPULATE_WRITE, Linux 5.14), instead of one page
  // fault at a time on first use: start-up only (the hand-over populates
  // the lease index it sized, so that its prefetches find pages to load).
  // On an older kernel it does nothing and the pages fault in as before.
  void populate(std::size_t first, std::size_t count) noexcept {
    if (data_ == nullptr || count == 0) return;
    const auto base = reinterpret_cast<std::uintptr_t>(data_);
    const std::uintptr_t lo = (base + first * sizeof(T)) / kPage * kPage;
    const std::uintptr_t hi = std::min<std::uintptr_t>(base + bytes_, base + (first + count) * sizeof(T));
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, kPopulateWrite);
  }

 private:
#ifdef MADV_POPULATE_WRITE
  static constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
  static constexpr int kPopulateWrite = 23;   // <linux/mman.h>; EINVAL before 5.14
#endif
  static void advise(std::uintptr_t lo, std::uintptr_t hi, bool huge) noexcept {
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#else
    (void)lo, (void)hi, (void)huge;
#endif
  }
  void unmap() noexcept {
    if (data_ != nullptr) ::munmap(data_, bytes_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
  std::size_t huge_end_ = 0;   // bytes [0, huge_end_) may have been advised MADV_HUGEPAGE
};

}  // namespace dorado::engine
