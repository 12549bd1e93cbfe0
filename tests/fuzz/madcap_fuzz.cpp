// libFuzzer target for MADCAP messages (control/madcap/message.hpp):
// arbitrary bytes parsed as a request. Every accepted message's lists stay
// within their bounds, and a reply written from it with the Writer (as the
// server writes one) parses again and carries the same xid, lease
// identifier and scope. Any violation aborts.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "fuzz_check.hpp"
#include "madcap/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dorado::madcap;
  if (size > kMaxMessage) return 0;   // the server refuses these before parsing
  const Parsed p = parse(std::span<const std::uint8_t>(data, size));
  if (p.error != ParseError::none) return 0;
  const Request& r = p.request;
  FUZZ_CHECK(r.lease_id_len <= kMaxLeaseId);
  FUZZ_CHECK(r.requested_count <= kMaxRequested);
  FUZZ_CHECK(r.range_count <= kMaxRanges);
  for (std::uint8_t n : r.feature_count) FUZZ_CHECK(n <= kMaxFeatures);

  std::array<std::uint8_t, kMaxMessage> out{};
  Writer w(out, MsgType::ack, r.xid);
  if (r.lease_id_len != 0) w.option(opt::lease_id, r.lease_key());
  w.server_id(0x0a000001);
  if (r.has(opt::mcast_scope)) w.scope(r.scope_id, r.scope_type);
  if (r.range_count != 0) w.address_ranges(std::span<const AddrRange>(r.ranges.data(), r.range_count));
  const std::size_t n = w.finish();
  FUZZ_CHECK(n != 0);   // at most ~1 KB of options: always fits
  const Parsed again = parse(std::span<const std::uint8_t>(out.data(), n));
  FUZZ_CHECK(again.error == ParseError::none);
  FUZZ_CHECK(again.request.xid == r.xid);
  FUZZ_CHECK(again.request.lease_id_len == r.lease_id_len);
  FUZZ_CHECK(std::memcmp(again.request.lease_id.data(), r.lease_id.data(), r.lease_id_len) == 0);
  FUZZ_CHECK(again.request.has(opt::mcast_scope) == r.has(opt::mcast_scope));
  if (r.has(opt::mcast_scope)) {
    FUZZ_CHECK(again.request.scope_id == r.scope_id);
    FUZZ_CHECK(again.request.scope_type == r.scope_type);
  }
  FUZZ_CHECK(again.request.server_id == 0x0a000001);
  return 0;
}
