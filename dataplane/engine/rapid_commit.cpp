// Two RFC details of issue 16 (docs/architecture.md "Rapid commit,
// server-id override, interface addresses").
//
// RFC 4039 rapid commit: a DISCOVER carrying option 80, in a subnet whose
// rapid_commit is on (SubnetConfig::rapid_commit), is answered by a DHCPACK
// carrying option 80 instead of an OFFER. The address on_discover() chose
// (reservation, the client's own, the requested one, or a free one) is
// committed exactly as confirm() commits a REQUEST's: the record becomes
// active, is journaled (commit or renew) and, with [ddns], named; the
// runtime holds the ACK until its record is durable like any lease ACK
// (runtime/worker.cpp), and with [ha] ack = "partner" until the partner has
// it. Store down, or a foreign lease, never come here: on_discover() answers
// those with the unjournaled OFFER first.
#include "engine/engine.hpp"

namespace dorado::engine {

Decision Shard::rapid_ack(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId target,
                          const Times& t) noexcept {
  commit(idx, subnet, addr, target, t, c);
  c.ddns_lease = idx;
  bump(Event::rapid_commit);
  Decision d = reply(c, wire::MessageType::ack, subnet, addr, &t, c.m.ciaddr);
  d.rapid_commit = true;
  return d;
}

// RFC 5107: a relay that puts sub-option 11 (server identifier override) in
// option 82 makes the replies' option 54 that address (build_reply), so the
// client's REQUEST (SELECTING), DECLINE, RELEASE and INFORM name it: ours
// when the same relay says so again. Called only once the server's own ids
// did not match.
bool Shard::relay_server_id(Ipv4 sid, const wire::DhcpMessage& m) noexcept {
  if (!m.has(wire::opt::relay_agent_info)) return false;
  return sid != 0 && sid == wire::server_id_override(*m.option(wire::opt::relay_agent_info));
}

}  // namespace dorado::engine
