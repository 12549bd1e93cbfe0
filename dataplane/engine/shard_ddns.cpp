// The shard's part of dynamic DNS that is not on every commit
// (engine/ddns.hpp, docs/dns.md): option 81 for a reply, decided with the
// reply (Decision::fqdn), and the name decision of a commit.
// dispatch_ddns() and commit_ddns() are in engine.cpp, where the handlers
// they call inline.
//
// Cost (bench/results/2026-12-07.md, "DDNS: option 81 decided once per
// reply" and "DDNS: one name decision per new client"): option 81 in a
// reply is encoded from the name the client's lease holds when it has one
// (ACKs, OFFERs of a bound address) instead of deciding it again; only an
// OFFER of a new binding decides, and its commit takes that decision
// (engine/ddns_cache.hpp). The suffix is appended in its precompiled wire
// form.
#include "engine/ddns_cache.hpp"
#include "engine/ddns_encode.hpp"
#include "engine/engine.hpp"

namespace dorado::engine {

// The reply's option 81. A new binding's ACK: from the name its commit
// just decided (Ctx::ddns_name). Otherwise, when the client holds an active lease of that
// address with a name (the ACK of a commit or renewal, or an OFFER of the
// address it has, which the REQUEST then renews), the name the lease holds:
// the one DNS gets. Otherwise (an OFFER of a new binding, or a name the
// hostname store had no room for) the name decided now, kept for the
// commit (ddns_decide). No valid option 81 in the request: none in the
// reply.
const FqdnReply* Shard::ddns_reply(const Ctx& c, const CompiledSubnet& subnet, Ipv4 yiaddr) noexcept {
  const std::string_view suffix = config_->ddns_suffix(subnet);
  const wire::Bytes wire = config_->ddns_suffix_wire(subnet);
  // The ACK of a new binding: the name its commit decided (and stored,
  // unless the hostname store had no room: the same name either way).
  if (const DdnsName* d = c.ddns_name; d != nullptr) {
    FqdnReply& r = fqdn_replies_[fqdn_next_++ % kMaxBurst];
    r.len = static_cast<std::uint16_t>(encode_reply_fqdn_inline(d->view(), d->reply_flags, suffix, wire, r.value));
    return &r;
  }
  const std::optional<wire::ClientFqdn> sent = ddns_detail::client_fqdn(c.m);
  if (!sent) return nullptr;
  FqdnReply& r = fqdn_replies_[fqdn_next_++ % kMaxBurst];
  // An ACK knows its lease (commit_ddns), so does an OFFER from
  // on_discover; others look it up.
  std::uint32_t i = c.ddns_lease;
  if (i == kNil && c.key.status == KeyStatus::ok) i = table_.find(c.key.key);
  if (i != kNil && table_.at(i).state == LeaseState::active && table_.at(i).address == yiaddr) {
    const LeaseTable::StoredHostname h = table_.stored_hostname(i);
    if (!h.name.empty()) {
      r.len = static_cast<std::uint16_t>(
          encode_reply_fqdn_inline(h.name, reply_fqdn_flags(h.ddns, sent->flags), suffix, wire, r.value));
      return &r;
    }
  }
  const DdnsName* d = &decided_;
  if (i != kNil) [[likely]]
    d = &ddns_decide(i, c.m, yiaddr);
  else
    decide_ddns_name(config_->ddns, c.m, yiaddr, decided_);
  r.len = static_cast<std::uint16_t>(encode_reply_fqdn_inline(d->view(), d->reply_flags, suffix, wire, r.value));
  return &r;
}

}  // namespace dorado::engine
