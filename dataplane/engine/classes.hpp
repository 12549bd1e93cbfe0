// Client classes (issue 16): a name and a match on what a request carries
// (option 60, 77, 82 sub-options, the MAC or its OUI, the VLAN tags, giaddr,
// option 55, any option by code); what a class does: options that override
// the pool's, subnet's and global ones, a lease time, `drop`; and pools that
// only some classes may use (`[[subnet.pool]]`, PoolConfig below).
//
// Compiled form (CompiledClasses): the conditions of every class grouped
// by the field they read (an option, an option 82 sub-option, chaddr, a VLAN
// id, giaddr), so that a request's field is read once per group, and a
// field the request lacks fails every class of its group with one OR. In a
// group the request has, each kind of condition is a table from the value
// to the classes whose condition holds:
//   - exact values: 256 buckets by a multiply of the field's first 8 bytes
//     and length; prefix values: 256 buckets by their first byte. A bucket
//     (ClassSlot) holds its value inline as a (masked) word with the classes
//     that name it: one load and compare, no loop. A bucket with several
//     values or one longer than 8 bytes is marked and its values are
//     compared from a list (the rest of a long value by memcmp);
//   - option 55 `contains`: a code -> classes table, one pass over the list;
//   - present: nothing to do; VLAN ids, giaddr and option 77 user classes:
//     compared one by one (a linear list, at most one per class).
// A class fails a group when one of its conditions there fails: per kind,
// the classes with such a condition that the table did not give. A class
// with two conditions of one kind on the same field (two exact values of
// option 60, two codes in option 55) has its first in the table and the
// others in the linear list (AND holds). The result is a ClassSet: bit i =
// the i-th class in config order. No allocation, no exception. With no
// [[class]] nothing is evaluated (one predictable branch in the shard).
//
// Threads: the CompiledClasses are part of the immutable CompiledConfig.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace dorado::engine {

using wire::Ipv4;

// Bit i: class i in config order. At most kMaxClasses classes.
using ClassSet = std::uint64_t;
inline constexpr std::size_t kMaxClasses = 64;
// A PoolConfig / CompiledPool index meaning "none" (kNil, lease.hpp, is the same value).
inline constexpr std::uint32_t kNoPool = 0xffffffffu;

// What a condition reads from the request.
enum class ClassField : std::uint8_t {
  option,       // the value of option `code` (60, 77, 55, any)
  relay_sub,    // option 82 sub-option `code` (1 circuit-id, 2 remote-id, 6 subscriber-id)
  mac,          // chaddr (hlen bytes)
  vlan_outer,   // the outermost VLAN id the request came with
  vlan_inner,   // the second (inner, QinQ) VLAN id
  giaddr,       // the relay's address (0: not relayed, never matches)
};
// How it compares.
enum class ClassOp : std::uint8_t {
  present,      // the field is there
  exact,        // equals `value`
  prefix,       // starts with `value`
  user_class,   // option 77: the whole value, or one RFC 3004 user class in it, equals `value`
  contains,     // option 55 lists the code `number`
  equals,       // a number (VLAN id) equals `number`
  in_prefix,    // an address (giaddr) is in `number`/`prefix_len`
};

// One condition of a class (all of a class's conditions hold: AND).
struct ClassMatch {
  ClassField field = ClassField::option;
  ClassOp op = ClassOp::present;
  std::uint8_t code = 0;              // option code / 82 sub-option (field option, relay_sub)
  std::vector<std::uint8_t> value;    // exact, prefix, user_class: 1..255 bytes
  std::uint32_t number = 0;           // contains: option code; equals: VLAN id; in_prefix: network
  std::uint8_t prefix_len = 32;       // in_prefix
};

// ClassConfig and PoolConfig (the user-level structs that hold OptionData)
// are in config.hpp.

// ---- compiled ------------------------------------------------------------------

// A condition compared one by one (VLAN ids, giaddr, option 77 user
// classes, and the second and later condition of one kind of one class on
// one field).
struct ClassCondition {
  ClassOp op = ClassOp::present;
  std::uint8_t cls = 0;               // bit in ClassSet
  std::uint16_t len = 0;              // value bytes
  std::uint32_t offset = 0;           // into CompiledClasses::bytes
  std::uint32_t number = 0;
  std::uint32_t mask = 0;             // in_prefix
};

// One distinct value of a group's exact or prefix table.
struct ClassCand {
  std::uint64_t word = 0;             // the value's first min(len, 8) bytes, little-endian, zero above
  std::uint64_t mask = 0;             // the bits of `word` that count (exact: all)
  ClassSet classes = 0;               // the classes whose condition is this value
  std::uint32_t offset = 0;           // into CompiledClasses::bytes (the whole value)
  std::uint16_t len = 0;
};

// One bucket of an exact or prefix table: its only value inline (len <= 8),
// or `more`: compare the bucket's values in CompiledClasses::cands.
struct ClassSlot {
  std::uint64_t word = 1;             // empty bucket: never equal (mask 0, len 0)
  std::uint64_t mask = 0;
  ClassSet classes = 0;
  std::uint16_t len = 0;              // exact: the value's length; prefix: the least field length
  std::uint16_t more = 0;             // 1: several values, or one longer than 8 bytes
};
static_assert(sizeof(ClassSlot) == 32);

// Conditions reading the same field.
struct ClassGroup {
  ClassSet classes = 0;               // classes with a condition here (all fail if the field is absent)
  ClassSet exact = 0;                 // classes with an exact condition in the exact table
  ClassSet prefix = 0;                // ... a prefix condition in the prefix table
  ClassSet contains = 0;              // ... a `contains` in CompiledClasses::contains_*
  std::uint32_t exact_first = 0;      // exact: into cand_first, 257 offsets (CSR by exact_bucket)
  std::uint32_t prefix_first = 0;     // prefix: into cand_first, 257 offsets (CSR by first byte)
  std::uint32_t exact_slots = 0;      // exact: into slots, 256 buckets
  std::uint32_t prefix_slots = 0;     // prefix: into slots, 256 buckets
  std::uint32_t begin = 0, end = 0;   // linear conditions, in `conditions`
  ClassField field = ClassField::option;
  std::uint8_t code = 0;
};

// The exact table's bucket of a value: its first min(len, 8) bytes as a
// little-endian word `head` and its length.
inline std::uint32_t exact_bucket(std::uint64_t head, std::size_t len) noexcept {
  return static_cast<std::uint32_t>(((head + len) * 0x9e3779b97f4a7c15ull) >> 56);
}

struct CompiledClass {
  std::uint32_t lease_time = 0;       // 0: not set
  std::uint32_t options_begin = 0;    // into CompiledConfig::options, sorted by code
  std::uint32_t options_count = 0;
  std::bitset<256> option_codes;
};

struct CompiledClasses {
  std::vector<ClassGroup> groups;
  std::vector<ClassCondition> conditions;
  std::vector<ClassCand> cands;               // by group and table, then bucket
  std::vector<std::uint32_t> cand_first;      // per table: 257 offsets into `cands`
  std::vector<ClassSlot> slots;               // per table: 256 buckets
  std::array<std::uint8_t, 256> contains_slot{};   // option 55 code -> contains_masks index (0: none)
  std::vector<ClassSet> contains_masks;       // [0] = 0
  // Groups are sorted by field: those of field f are [field_begin[f],
  // field_begin[f + 1]); field_classes[f]: the classes of all of them (they
  // fail together when the request lacks the field: no option 82, no VLAN
  // tag, giaddr 0).
  std::array<std::uint32_t, 7> field_begin{};
  std::array<ClassSet, 6> field_classes{};
  std::vector<std::uint8_t> bytes;
  std::vector<CompiledClass> list;    // config order (bit order)
  std::vector<std::string> names;     // config order
  ClassSet matchable = 0;             // classes with at least one condition
  ClassSet drop = 0;                  // classes with drop = true
  ClassSet with_options = 0;          // classes with options (the reply cache key's part)
  ClassSet with_lease_time = 0;
  bool any = false;                   // some class exists: the shard evaluates them

  // The classes the request belongs to by its own content. noexcept, no
  // allocation; see the file comment for the cost.
  ClassSet match(const wire::DhcpMessage& m, std::uint8_t vlan_count,
                 const std::array<wire::VlanTag, 2>& vlans) const noexcept;
  // The lease time of the first class of `set` (config order) that sets one; 0: none.
  std::uint32_t lease_time(ClassSet set) const noexcept;
  // Index of the class named `name`, or kNoPool.
  std::uint32_t index_of(std::string_view name) const noexcept;

 private:
  ClassSet field_fails(const ClassGroup& g, wire::Bytes field, ClassSet failed) const noexcept;
  ClassSet linear_fails(const ClassGroup& g, wire::Bytes field, std::uint32_t number, ClassSet failed) const noexcept;
  ClassSet bucket_hits(std::uint32_t first, wire::Bytes field, std::uint64_t head, bool exact) const noexcept;
};

struct EngineConfig;     // config.hpp
struct CompiledConfig;

// compile() (config.cpp) calls these: the classes (names unique, values in
// bounds, options not engine-owned), then, once the subnets are compiled,
// the pool tables (class names resolved, ranges inside their subnet and
// disjoint from each other and from the subnet's `pools`). `input_of`:
// compiled subnet index -> EngineConfig::subnets index; `fault_subnet` gets
// the input index of the subnet at fault. Empty string: fine.
std::string compile_classes(const EngineConfig& in, CompiledConfig& c);
std::string compile_pools(const EngineConfig& in, const std::vector<std::uint32_t>& input_of, CompiledConfig& c,
                          std::uint32_t& fault_subnet);

// The bytes of option 82 sub-option `sub` in `rai` (the option's value);
// empty Bytes with data() null when absent.
wire::Bytes relay_sub_option(wire::Bytes rai, std::uint8_t sub) noexcept;

}  // namespace dorado::engine
