// The targeted trace (control API trace-start, trace-get, trace-stop;
// docs/operations.md "Tracing one client"): which requests to record
// (TraceFilter), what is recorded of each (TraceRecord: what the shard saw
// and decided) and where (TraceRing, one per worker).
//
// Threads: a TraceFilter is built by the control thread and read, immutable,
// by the workers. A TraceRing has one writer (its worker lcore) and one
// reader (the control thread): the writer fills records past the published
// count and publishes them with a release store; the reader copies the
// published ones. Records are never overwritten within a session: the ring
// stops taking records when it holds `count` of them (the first ones are
// kept), and only restart() (a new session, on the writer, ordered by the
// control thread that also reads) reuses the slots.
//
// Pure: no DPDK, no clock, no I/O; trace_matches() and trace_record() never
// allocate and never block. Only the TraceRing constructor and read()
// allocate (control thread).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/engine.hpp"

namespace dorado::engine {

// Records a worker keeps per trace at most (TraceFilter::count).
inline constexpr std::uint32_t kTraceCapacity = 1024;
// Bytes of a client-id kept in a record (its length is kept whole).
inline constexpr std::size_t kTraceClientIdBytes = 20;

enum class TraceKey : std::uint8_t {
  hw_address,   // chaddr (hlen bytes) equals `bytes`
  client_id,    // option 61's value equals `bytes`
  circuit_id,   // option 82 sub-option 1's value equals `bytes`
  subnet_id,    // the subnet the request is served from (select_subnet) has id `subnet_id`
};
// "hw-address", "client-id", "circuit-id", "subnet-id" (the API's argument names).
std::string_view trace_key_name(TraceKey k) noexcept;

struct TraceFilter {
  TraceKey key = TraceKey::hw_address;
  std::uint8_t len = 0;                      // bytes of `bytes` used
  std::array<std::uint8_t, 255> bytes{};     // hw-address, client-id or circuit-id
  std::uint32_t subnet_id = 0;               // TraceKey::subnet_id
  std::uint32_t count = 100;                 // records per worker, 1..kTraceCapacity
};

// Whether request `m` (received as `rx`) is one the filter asks for.
// noexcept, no allocation; O(len) (subnet-id: O(log subnets)).
bool trace_matches(const TraceFilter& f, const CompiledConfig& config, const wire::DhcpMessage& m,
                   const RxMeta& rx) noexcept;

// What the shard saw of one request and what it decided. Trivially
// copyable, fixed size.
struct TraceRecord {
  std::uint64_t time_us = 0;        // Unix time of the decision, microseconds
  std::uint32_t xid = 0;
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = 0;
  Ipv4 requested = 0;               // option 50, 0 if absent
  Ipv4 server_id = 0;               // option 54, 0 if absent
  Ipv4 selector = 0;                // SubnetChoice::selector
  std::uint32_t subnet_id = 0;      // the subnet chosen (its config id), 0: none
  Ipv4 yiaddr = 0;                  // the address offered or acked (reply)
  std::uint32_t lease_time = 0;     // seconds, when the reply carries a lease
  Ipv4 reply_ip = 0;                // the reply's IPv4 destination
  std::uint16_t reply_port = 0;     // and UDP port
  std::uint16_t reply_flags = 0;    // BOOTP flags of the reply (0x8000: broadcast)
  wire::MacAddr reply_mac;          // and Ethernet destination
  std::uint8_t message_type = 0;    // option 53 as received, 0 if absent
  std::uint8_t htype = 0;
  std::uint8_t hlen = 0;            // bytes of chaddr that are the address (<= 16)
  std::array<std::uint8_t, 16> chaddr{};
  std::uint8_t client_id_len = 0;   // option 61's whole length, 0 if absent
  std::array<std::uint8_t, kTraceClientIdBytes> client_id{};   // its first bytes
  Verdict verdict = Verdict::drop;
  wire::MessageType reply_type = wire::MessageType::nak;   // when verdict == reply
  DropReason drop = DropReason::none;                     // when verdict == drop
  NakReason nak = NakReason::none;                        // when reply_type == nak
  SubnetBy subnet_by = SubnetBy::none;
};

// Fills `r` from the request, the subnet choice and the shard's decision.
// The request's bytes must still be the request's (before the reply is
// written over them). noexcept, no allocation.
void trace_record(TraceRecord& r, const wire::DhcpMessage& m, const SubnetChoice& subnet,
                  const CompiledConfig& config, const Decision& d, std::uint64_t time_us) noexcept;

class TraceRing {
 public:
  TraceRing();   // allocates kTraceCapacity records
  TraceRing(const TraceRing&) = delete;
  TraceRing& operator=(const TraceRing&) = delete;

  // ---- the writer ------------------------------------------------------------
  // Empties the ring for session `session` (> 0), which keeps at most
  // min(limit, kTraceCapacity) records.
  void restart(std::uint64_t session, std::uint32_t limit) noexcept;
  // The next free record, not yet visible to the reader; null when the
  // session's records are all taken.
  TraceRecord* claim() noexcept {
    const std::uint32_t i = published_ + claimed_;
    if (i >= limit_) return nullptr;
    ++claimed_;
    return &records_[i];
  }
  // Makes the claimed records visible.
  void publish() noexcept {
    if (claimed_ == 0) return;
    published_ += claimed_;
    claimed_ = 0;
    count_.store(published_, std::memory_order_release);
  }
  bool full() const noexcept { return published_ + claimed_ >= limit_; }

  // ---- the reader --------------------------------------------------------------
  // Session `session`'s published records, oldest first; empty when the ring
  // holds another session (the writer has not restarted yet). Must not run
  // while the writer restarts to another session (the control thread that
  // starts sessions also reads them).
  std::vector<TraceRecord> read(std::uint64_t session) const;
  // The session of the records, and how many there are (acquire).
  std::uint64_t session() const noexcept { return session_.load(std::memory_order_acquire); }
  std::uint32_t count() const noexcept { return count_.load(std::memory_order_acquire); }
  std::uint32_t limit() const noexcept { return limit_reader_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<TraceRecord[]> records_;
  std::uint32_t limit_ = 0;        // writer only
  std::uint32_t published_ = 0;    // writer only
  std::uint32_t claimed_ = 0;      // writer only
  std::atomic<std::uint32_t> count_{0};        // writer: rw, reader: ro
  std::atomic<std::uint64_t> session_{0};      // writer: rw, reader: ro
  std::atomic<std::uint32_t> limit_reader_{0};   // limit_, for the reader
};

}  // namespace dorado::engine
