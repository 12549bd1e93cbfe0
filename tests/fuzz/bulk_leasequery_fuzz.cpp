// libFuzzer target for bulk leasequery's bytes (control/leasequery/bulk.hpp):
// the input is a TCP byte stream from a requestor, cut into messages by
// FrameReader (fed in two pieces at a point the input's first byte picks);
// every message is parsed as a DHCPBULKLEASEQUERY. An accepted query has
// exactly the fields its kind uses; the answers written for it (a lease
// that matches a query by the same key, DONE, STATUS) frame and parse
// again with its xid. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "leasequery/bulk.hpp"
#include "wire/dhcp.hpp"

namespace {

using namespace dorado;
using namespace dorado::leasequery;

void check_answers(const BulkQuery& q) {
  engine::LeaseChange l{};
  l.op = engine::LeaseOp::commit;
  l.htype = 1;
  l.key_len = 8;
  l.key[0] = engine::kKeyKindHw;
  l.address = q.kind == QueryKind::by_address ? q.address : 0x0a000005u;
  l.start = 1000;
  l.expires = 5000;
  const std::uint8_t relay[] = {12, 2, 'r', '1', 2, 2, 'c', '1'};
  FUZZ_CHECK(engine::set_relay_info(l, {relay, sizeof relay}));
  std::vector<std::uint8_t> out;
  append_lease_active(out, q.xid, l, 2000, 0x0a000001u);
  append_done(out, q.xid, 2000, 0x0a000001u);
  append_status(out, q.xid, StatusCode::malformed_query, std::string(300, 'x'), 2000, 0x0a000001u);
  FrameReader r;
  r.feed(out);
  std::vector<std::uint8_t> m;
  int n = 0;
  const wire::MessageType want[] = {wire::MessageType::lease_active, wire::MessageType::lease_query_done,
                                    wire::MessageType::lease_query_status};
  while (r.next(m) == FrameReader::Status::message) {
    FUZZ_CHECK(n < 3);
    wire::DhcpMessage d;
    FUZZ_CHECK(d.parse(m) == wire::Error::ok);
    FUZZ_CHECK(d.xid == q.xid);
    FUZZ_CHECK(d.message_type() == want[n]);
    ++n;
  }
  FUZZ_CHECK(n == 3);
  FUZZ_CHECK(r.buffered() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cut = data[0] % size;
  FrameReader reader;
  reader.feed({data, cut});
  std::vector<std::uint8_t> msg;
  std::size_t consumed = 0;
  bool fed_all = false;
  while (true) {
    const FrameReader::Status st = reader.next(msg);
    if (st == FrameReader::Status::need_more) {
      if (fed_all) break;
      reader.feed({data + cut, size - cut});
      fed_all = true;
      continue;
    }
    if (st == FrameReader::Status::bad_length) break;
    FUZZ_CHECK(!msg.empty() && msg.size() <= kMaxQueryBytes);
    consumed += 2 + msg.size();
    FUZZ_CHECK(consumed <= size);
    const ParsedQuery p = parse_bulk_query(msg);
    if (p.have_xid) {
      std::uint32_t xid = static_cast<std::uint32_t>(msg[4]) << 24 | static_cast<std::uint32_t>(msg[5]) << 16 |
                          static_cast<std::uint32_t>(msg[6]) << 8 | msg[7];
      FUZZ_CHECK(p.query.xid == xid);
    }
    if (p.status != StatusCode::success) {
      FUZZ_CHECK(!p.message.empty());
      continue;
    }
    const BulkQuery& q = p.query;
    FUZZ_CHECK(p.have_xid);
    FUZZ_CHECK(!q.start_time || !q.end_time || *q.start_time <= *q.end_time);
    switch (q.kind) {
      case QueryKind::all:
      case QueryKind::by_address: FUZZ_CHECK(q.id.empty()); break;
      case QueryKind::by_mac: FUZZ_CHECK(q.id.size() <= 16); break;
      default: FUZZ_CHECK(!q.id.empty() && q.id.size() <= 255); break;
    }
    FUZZ_CHECK((q.kind == QueryKind::by_address) == (q.address != 0));
    check_answers(q);
  }
  FUZZ_CHECK(consumed <= size);
  return 0;
}
