// A hashed timer wheel over a fixed set of ids (dorado-gen's clients): one
// timer per id, intrusive doubly linked lists in flat arrays, no allocation
// after construction.
//
// Ownership and threads: owned by one Generator, used by one thread.
// Cost: schedule/cancel O(1); advance() visits every slot whose tick passed
// and, in each, the timers hashed there (a timer further away than one
// revolution stays in its slot and is looked at once per revolution).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dorado::gen {

class TimerWheel {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  // `ids` timers, `slots` (a power of two) slots of `tick_us` each; ticks
  // before `now_us` are never visited.
  TimerWheel(std::uint32_t ids, std::uint32_t slots, std::uint64_t tick_us, std::uint64_t now_us)
      : deadline_(ids, 0), next_(ids, kNone), prev_(ids, kNone), slot_(ids, 0), armed_(ids, 0),
        head_(slots, kNone), tick_us_(tick_us), mask_(slots - 1), current_(now_us / tick_us) {}

  // Arms (or re-arms) timer `id` for `deadline_us`; a deadline in the past
  // fires on the next advance().
  void schedule(std::uint32_t id, std::uint64_t deadline_us) noexcept {
    if (armed_[id]) unlink(id);
    deadline_[id] = deadline_us;
    // Rounded up: when advance() visits the slot's tick, the timer is due.
    const std::uint64_t tick = std::max((deadline_us + tick_us_ - 1) / tick_us_, current_);
    link(id, static_cast<std::uint32_t>(tick & mask_));
    armed_[id] = 1;
  }
  void cancel(std::uint32_t id) noexcept {
    if (!armed_[id]) return;
    unlink(id);
    armed_[id] = 0;
  }
  bool armed(std::uint32_t id) const noexcept { return armed_[id] != 0; }
  std::uint64_t deadline(std::uint32_t id) const noexcept { return deadline_[id]; }

  // Fires (calls fire(id), timer disarmed first) every timer due at `now_us`,
  // at most `budget` of them: the rest stay armed and fire on a later call
  // (the caller's output has no room for more). fire(id) may schedule or
  // cancel timer `id` only (the other timers of the slot being walked are
  // detached from it). Returns the number fired.
  template <typename F>
  std::size_t advance(std::uint64_t now_us, F&& fire, std::size_t budget = ~std::size_t{0}) noexcept {
    const std::uint64_t target = now_us / tick_us_;
    std::size_t fired = 0;
    std::uint64_t visits = 0;
    const std::uint64_t slots = std::uint64_t{mask_} + 1;
    while (current_ <= target && visits < slots) {
      const std::uint64_t tick = current_;
      const auto slot = static_cast<std::uint32_t>(tick & mask_);
      std::uint32_t id = head_[slot];
      head_[slot] = kNone;
      // Re-armed timers that are already due go to the next tick, never
      // into the list being walked.
      ++current_;
      ++visits;
      while (id != kNone) {
        const std::uint32_t next = next_[id];
        next_[id] = prev_[id] = kNone;
        if (deadline_[id] <= now_us && fired < budget) {
          armed_[id] = 0;
          fire(id);
          ++fired;
        } else {
          link(id, slot);
        }
        id = next;
      }
      if (fired >= budget) {
        current_ = tick;   // this slot may still hold due timers
        return fired;
      }
    }
    // After a full revolution every due timer has fired: skip the rest.
    if (current_ <= target) current_ = target + 1;
    return fired;
  }

 private:
  void link(std::uint32_t id, std::uint32_t slot) noexcept {
    next_[id] = head_[slot];
    prev_[id] = kNone;
    if (head_[slot] != kNone) prev_[head_[slot]] = id;
    head_[slot] = id;
    slot_[id] = slot;
  }
  void unlink(std::uint32_t id) noexcept {
    const std::uint32_t n = next_[id], p = prev_[id];
    if (p != kNone) next_[p] = n; else head_[slot_[id]] = n;
    if (n != kNone) prev_[n] = p;
    next_[id] = prev_[id] = kNone;
  }

  std::vector<std::uint64_t> deadline_;
  std::vector<std::uint32_t> next_;
  std::vector<std::uint32_t> prev_;
  std::vector<std::uint32_t> slot_;     // the slot an armed timer is linked in
  std::vector<std::uint8_t> armed_;
  std::vector<std::uint32_t> head_;
  std::uint64_t tick_us_;
  std::uint32_t mask_;
  std::uint64_t current_;   // the next tick to visit
};

}  // namespace dorado::gen
