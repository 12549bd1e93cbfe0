// Reply options encoded once per subnet and option 55, reused per reply.
//
// A reply's options after 54 depend on the subnet, on whether it carries a
// lease (51/58/59) and on the client's option 55 (order); of these only the
// lease times differ from one client to the next. Encoding them per reply
// (build_reply: collect, order by 55, size, write) was the largest part of
// a worker's time per packet (bench/engine_bench BM_ReplyBuild). A
// ReplyCache keeps the encoded bytes, with where 51/58/59 go, in a
// direct-mapped table keyed by (config, subnet, lease or not, option 55,
// and with client classes the class set with options and the pool table),
// and builds a reply as: header, 53, 54, the cached bytes with the lease
// times patched in, 61 echoed, 81 (with [ddns], for a client that sent it:
// engine/ddns.hpp), 82 echoed, END.
//
// The result is byte for byte what build_reply() writes (tests compare
// them); anything else takes build_reply(): NAKs, replies without subnet
// options, an option 55 longer than kMaxPrl or listing 61 when the client
// sent one, option bytes longer than kMaxBlock, a reply that would need
// optional options dropped to fit option 57's size; with option 81 to
// write also an option 55 listing 81, a subnet that configures 81 itself,
// a 61 or 81 of more than 255 bytes.
//
// One per worker; not thread-safe. build() neither allocates nor throws.
// Entries belong to one CompiledConfig: call clear() when the shard switches
// to a new one (a new config may reuse an old one's address).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/engine.hpp"
#include "wire/build.hpp"

namespace dorado::engine {

class ReplyCache {
 public:
  static constexpr std::size_t kEntries = 256;    // direct-mapped
  static constexpr std::size_t kMaxPrl = 64;      // option 55 bytes kept per entry
  static constexpr std::size_t kMaxBlock = 320;   // encoded option bytes per entry

  struct Stats {
    std::uint64_t hits = 0;       // built from an entry
    std::uint64_t fills = 0;      // entry (re)encoded, then built from it
    std::uint64_t generic = 0;    // built by build_reply()
  };

  ReplyCache();

  // Same contract as build_reply().
  wire::BuildResult build(const CompiledConfig& config, const Decision& d,
                          const wire::DhcpMessage& request, const RxMeta& rx,
                          wire::MutableBytes out) noexcept;

  // The same reply written over its request (the worker's way: the reply
  // goes out in the request's mbuf). `frame` starts where the request's
  // frame does and holds it (`request` was parsed from it) plus the room
  // after it. The cached way writes straight into `frame`: of the request's
  // bytes only 61 and 82 are still read once writing has begun, so they are
  // copied aside first. The generic way builds in `scratch` and copies.
  // buffer_too_small: the reply does not fit `frame` (nothing is written).
  wire::BuildResult build_over(const CompiledConfig& config, const Decision& d,
                               const wire::DhcpMessage& request, const RxMeta& rx,
                               wire::MutableBytes frame, wire::MutableBytes scratch) noexcept;

  void clear() noexcept;
  const Stats& stats() const noexcept { return stats_; }

 private:
  enum class State : std::uint8_t { empty, usable, generic };
  struct Entry {
    const CompiledConfig* config = nullptr;
    std::uint32_t subnet = 0;
    std::uint32_t pool = kNoPool;   // Decision::pool (engine/classes.hpp)
    ClassSet classes = 0;           // Decision::classes
    State state = State::empty;
    bool lease = false;
    std::uint8_t prl_len = 0;
    // [ddns]'s option 81 cannot follow the block: the subnet's options hold
    // an 81 (build_reply would not add [ddns]'s) or 55 asks for 81 (it goes
    // in 55's order). Such replies go the generic way.
    bool fqdn_generic = false;
    std::uint16_t block_len = 0;
    std::array<std::uint16_t, 3> lease_at{};   // offsets of the values of 51, 58, 59
    std::array<std::uint8_t, kMaxPrl> prl{};
    std::array<std::uint8_t, kMaxBlock> block{};
  };

  // The cached way; error mandatory_too_large when the reply must go the
  // generic way (not usable, or over option 57's size).
  wire::BuildResult build_cached(const CompiledConfig& config, const Decision& d,
                                 const wire::DhcpMessage& request, const RxMeta& rx,
                                 wire::MutableBytes out, bool in_place) noexcept;
  const Entry* usable_entry(const CompiledConfig& config, const Decision& d, wire::Bytes prl,
                            bool client_id_sent) noexcept;
  void fill(Entry& e, const CompiledConfig& config, std::uint32_t subnet, const Decision& d,
            wire::Bytes prl) noexcept;

  template <bool kFqdn>
  wire::BuildResult build_cached_as(const CompiledConfig& config, const Decision& d,
                                    const wire::DhcpMessage& request, const RxMeta& rx,
                                    wire::MutableBytes out, bool in_place) noexcept;
  [[gnu::noinline]] wire::BuildResult build_cached_fqdn(const CompiledConfig& config, const Decision& d,
                                                        const wire::DhcpMessage& request, const RxMeta& rx,
                                                        wire::MutableBytes out, bool in_place) noexcept;

  std::unique_ptr<Entry[]> entries_;
  Stats stats_;
};

}  // namespace dorado::engine
