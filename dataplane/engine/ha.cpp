// Shard's high-availability part (engine/ha.hpp): whether a request is this
// server's to answer, and applying the lease changes the partner makes.
#include <algorithm>

#include "engine/engine.hpp"

namespace dorado::engine {

std::string_view replicate_status_name(ReplicateStatus s) noexcept {
  static constexpr std::string_view names[kReplicateStatusCount] = {
      "applied", "unchanged", "conflict_won", "conflict_lost",
      "no_subnet", "wrong_shard", "table_full", "invalid"};
  const auto i = static_cast<std::size_t>(s);
  return i < kReplicateStatusCount ? names[i] : "invalid_status";
}

// RFC 3074 bucket of a request: option 61's value, else chaddr[0..hlen)
// (Kea's QueryFilter::loadBalance and dhcpd's load_balance_mine agree).
static std::uint8_t bucket_of(const wire::DhcpMessage& m) noexcept {
  if (auto id = m.client_id(); id && !id->empty()) return rfc3074_bucket(*id);
  return rfc3074_bucket(m.chaddr());
}

Decision Shard::decide_ha(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now, wire::MessageType type,
                          const KeyResult& key) noexcept {
  if (const DropReason r = ha_refusal(m, key); r != DropReason::none) return refuse(r);
  return dispatch(m, rx, now, type, key);
}

DropReason Shard::ha_refusal(const wire::DhcpMessage& m, const KeyResult& key) noexcept {
  switch (ha_serve_) {
    case HaServe::all: return DropReason::none;
    case HaServe::none: return DropReason::ha_not_serving;
    case HaServe::buckets: break;
  }
  const HaConfig& ha = config_->ha;
  if (ha.buckets.has(bucket_of(m))) return DropReason::none;
  if (ha.max_answer_secs != 0 && m.secs > ha.max_answer_secs) {
    bump(Event::ha_answered_for_partner);
    return DropReason::none;
  }
  if (m.secs > ha.unacked_secs) {
    // Seen by the control thread (ha_unacked_*), which counts distinct
    // clients towards max_unacked_clients. A client without a usable key
    // still counts, by its chaddr bytes' bucket and xid.
    const std::uint32_t h = key.status == KeyStatus::ok
                                ? static_cast<std::uint32_t>(key.key.hash)
                                : (m.xid ^ (std::uint32_t{bucket_of(m)} << 24));
    counter_store(ha_unacked_[ha_unacked_written_ % kHaUnackedRing], h);
    std::atomic_ref<std::uint32_t>(ha_unacked_written_)
        .store(ha_unacked_written_ + 1, std::memory_order_release);
    bump(Event::ha_unacked_client);
  }
  return DropReason::ha_partner_scope;
}

// ---- replication ----------------------------------------------------------------

namespace {
// While it lives, the shard's emit() makes no record: what runs states the
// HA partner's change itself, which the HA service journaled on arrival
// (control/ha/service.hpp), with this server's own durability.
class MutedEmit {
 public:
  explicit MutedEmit(bool& muted) noexcept : muted_(muted) { muted_ = true; }
  ~MutedEmit() { muted_ = false; }
  MutedEmit(const MutedEmit&) = delete;
  MutedEmit& operator=(const MutedEmit&) = delete;

 private:
  bool& muted_;
};
}  // namespace

ReplicateStatus Shard::replicate(const LeaseChange& in, Seconds now, std::uint8_t filter) noexcept {
  const ClientKey key = in.key_len != 0 && in.key_len <= kMaxKeyLen ? stored_key(in) : ClientKey{};
  if (in.key_len > kMaxKeyLen || in.hostname_len > kMaxHostnameLen || (in.key_len != 0 && key.len == 0)) {
    bump(Event::ha_replica_refused);
    return ReplicateStatus::invalid;
  }
  const std::uint32_t changes_before = change_count_;
  ReplicateStatus st = ReplicateStatus::unchanged;
  const auto find_on = [&](std::uint32_t idx) {
    return idx != kNil && table_.at(idx).address == in.address ? refresh(idx, now) : kNil;
  };
  switch (in.op) {
    case LeaseOp::commit:
    case LeaseOp::renew:
      if (key.len == 0) {
        st = ReplicateStatus::invalid;
      } else if (in.expires > now) {
        st = replicate_binding(in, key, now, filter);
      } else if (const std::uint32_t idx = find_on(table_.find(key));
                 idx != kNil && table_.at(idx).state == LeaseState::active) {
        expire_active(idx);   // already over on the partner's clock
        st = ReplicateStatus::applied;
      } else if (table_.find(key) != kNil) {
        st = ReplicateStatus::conflict_lost;   // the client's record here says otherwise
      }
      break;
    case LeaseOp::release:
    case LeaseOp::expire:
      if (key.len == 0) {   // a probation ended
        const std::uint32_t subnet = config_->subnet_index_of(in.address);
        const SlotId slot = subnet == kNil ? kNil : alloc_.slot_of(subnet, in.address);
        const std::uint32_t idx = alloc_.lease_at(slot);
        if (idx != kNil && table_.at(idx).state == LeaseState::declined &&
            !(table_.at(idx).flags & kLeaseHold)) {
          const MutedEmit partners(emit_muted_);
          end_probation(idx, now);
          st = ReplicateStatus::applied;
        }
      } else if (const std::uint32_t idx = find_on(table_.find(key));
                 idx != kNil && table_.at(idx).state == LeaseState::active &&
                 table_.at(idx).start <= in.start) {
        // Only the lease the partner ended: a later transaction here wins.
        const MutedEmit partners(emit_muted_);
        if (in.op == LeaseOp::release)
          release(idx, now);
        else if (is_foreign(idx))
          expire_foreign(idx);
        else
          expire_active(idx);
        st = ReplicateStatus::applied;
      } else if (const std::uint32_t mine = table_.find(key);
                 mine != kNil && (table_.at(mine).address != in.address ||
                                  table_.at(mine).state == LeaseState::active)) {
        st = ReplicateStatus::conflict_lost;   // a later lease of this client here
      }
      break;
    case LeaseOp::decline:
      if (key.len != 0) {
        if (const std::uint32_t idx = find_on(table_.find(key));
            idx != kNil && table_.at(idx).state == LeaseState::active) {
          const MutedEmit partners(emit_muted_);
          decline(idx, now);
          st = ReplicateStatus::applied;
          break;
        }
      }
      if (in.expires > now) {   // a probation we do not have yet
        const std::uint32_t subnet = config_->subnet_index_of(in.address);
        const SlotId slot = subnet == kNil ? kNil : alloc_.slot_of(subnet, in.address);
        if (slot == kNil) {
          st = ReplicateStatus::no_subnet;
        } else if (const std::uint32_t on = alloc_.lease_at(slot);
                   on != kNil && table_.at(on).state == LeaseState::declined) {
          st = ReplicateStatus::unchanged;
        } else if (on != kNil && table_.at(on).state == LeaseState::active) {
          st = ReplicateStatus::conflict_lost;   // a client holds it here
        } else {
          if (on != kNil) drop_record(on, now);
          LeaseChange probation = in;
          probation.key_len = 0;
          probation.hostname_len = 0;
          probation.relay_len = 0;
          st = install(probation, ClientKey{}, LeaseState::declined, subnet, slot, 0) == RestoreStatus::restored
                   ? ReplicateStatus::applied
                   : ReplicateStatus::table_full;
        }
      }
      break;
    case LeaseOp::reclaim:
      if (key.len != 0) {
        if (const std::uint32_t idx = find_on(table_.find(key)); idx != kNil) {
          if (table_.at(idx).state != LeaseState::active || table_.at(idx).start <= in.start) {
            const MutedEmit partners(emit_muted_);
            drop_record(idx, now);
            st = ReplicateStatus::applied;
          } else {
            st = ReplicateStatus::conflict_lost;
          }
        }
      }
      break;
    default: st = ReplicateStatus::invalid; break;
  }
  // The partner's record is already in this server's journal (the HA
  // service journals records as they arrive, control/ha/service.hpp), with
  // the durability of this server's own: the change it states is made
  // above with emit() muted (MutedEmit); what else it changed (a loser
  // dropped, a client's old address) is journaled. Where the shard keeps
  // something else, its own state goes in after the partner's record, so
  // the journal's last word (and a restart) agrees with the shard.
  if (st == ReplicateStatus::conflict_lost) rejournal(key, in);
  // Every record this made is the partner's change: journaled here, never
  // sent back (marked here, not in emit(), which the packet path runs).
  mark_from_partner(changes_before);
  switch (st) {
    case ReplicateStatus::applied: bump(Event::ha_replicated); break;
    case ReplicateStatus::unchanged: bump(Event::ha_replica_unchanged); break;
    case ReplicateStatus::conflict_won: bump(Event::ha_conflict_won); break;
    case ReplicateStatus::conflict_lost: bump(Event::ha_conflict_lost); break;
    default: bump(Event::ha_replica_refused); break;
  }
  return st;
}

void Shard::mark_from_partner(std::uint32_t from) noexcept {
  for (std::uint32_t i = from; i < change_count_; ++i)
    changes_[i].shard = static_cast<std::uint8_t>(changes_[i].shard | kChangeFromPartner);
}

void Shard::rejournal(const ClientKey& key, const LeaseChange& in) noexcept {
  std::uint32_t mine = kNil;
  if (key.len != 0) {
    mine = table_.find(key);
    const Lease* l = mine != kNil ? &table_.at(mine) : nullptr;
    if (l != nullptr && l->state == LeaseState::active) emit(LeaseOp::renew, mine);
    else if (l != nullptr && l->state == LeaseState::released) emit(LeaseOp::release, mine);
    else if (l != nullptr && (l->state == LeaseState::expired || (l->flags & kLeasePersisted))) emit(LeaseOp::expire, mine);
    else if (change_count_ < changes_.size()) {   // unknown here: the journal forgets the client
      LeaseChange& ch = changes_[change_count_++];
      ch = in;
      ch.op = LeaseOp::reclaim;
      ch.hostname_len = 0;
      ch.relay_len = 0;
      ch.shard = static_cast<std::uint8_t>(id_.index);
      ch.seq = next_seq_++;
    }
  }
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  const SlotId slot = subnet == kNil ? kNil : alloc_.slot_of(subnet, in.address);
  const std::uint32_t on = alloc_.lease_at(slot);
  if (on == kNil || on == mine) return;
  const Lease& o = table_.at(on);
  if (o.state == LeaseState::active) emit(LeaseOp::renew, on);
  else if (o.state == LeaseState::declined && !(o.flags & kLeaseHold)) emit(LeaseOp::decline, on);
}

// A commit or renewal that is still running: the client holds in.address
// until in.expires.
ReplicateStatus Shard::replicate_binding(const LeaseChange& in, const ClientKey& key, Seconds now,
                                         std::uint8_t filter) noexcept {
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  if (subnet == kNil) return ReplicateStatus::no_subnet;
  const SlotId slot = alloc_.slot_of(subnet, in.address);
  if (slot == kNil) return ReplicateStatus::no_subnet;
  const std::uint32_t block = slot >> 6;
  // An address in another shard's block (the partner runs another worker
  // count): served here as a foreign lease once the block's owner holds it
  // (kAdminForeign, control/ha/service.cpp asks the owner first), as
  // lease4-add does (admin.cpp) and a restart does (Shard::restore).
  bool foreign = false;
  if (((config_->blocks[block].allocatable >> (slot & 63u)) & 1u) && !shard_owns_block(*config_, block, id_)) {
    if (!(filter & kAdminForeign)) return ReplicateStatus::wrong_shard;
    if (filter & kAdminHoldRefused) return ReplicateStatus::conflict_lost;   // the owner keeps another record there
    foreign = true;
  }

  std::uint32_t same = table_.find(key);
  if (same != kNil) same = refresh(same, now);
  if (same != kNil) {
    const Lease& l = table_.at(same);
    if (l.state == LeaseState::active && l.address == in.address && l.expires == in.expires &&
        l.start == in.start)
      return ReplicateStatus::unchanged;
    // Our own later transaction for this client (e.g. a renewal here after a
    // partition) wins over an older record of the partner's.
    if (l.state == LeaseState::active && l.start > in.start) return ReplicateStatus::conflict_lost;
  }
  ReplicateStatus result = ReplicateStatus::applied;
  std::uint32_t on = alloc_.lease_at(slot);
  if (on != kNil && on != same) {
    on = refresh(on, now);
    if (on != kNil) {
      const Lease& o = table_.at(on);
      if (o.state == LeaseState::active && o.key_len != 0) {
        // One address, two clients: the later client transaction wins; on a
        // tie, the lease given by the address's HA owner (the partner when
        // the block is not this server's side).
        const bool partner_owns = ha_side_of_block_base(config_->blocks[block].base) != config_->ha.side;
        const bool incoming_wins = in.start > o.start || (in.start == o.start && partner_owns);
        if (!incoming_wins) return ReplicateStatus::conflict_lost;
        result = ReplicateStatus::conflict_won;
      }
      // A hold for another shard's foreign lease of the address: the later
      // transaction wins here too (the HA service then drops that foreign
      // lease, AdminOp::del_address with kAdminForeign).
      if (o.flags & kLeaseHold) {
        if (o.start > in.start) return ReplicateStatus::conflict_lost;
        result = ReplicateStatus::conflict_won;
      }
      drop_record(on, now);   // offer hold, history, probation, or the loser
    }
  }
  std::uint32_t idx = same;
  if (idx == kNil) {
    const Inserted ins = create_record(key, now);
    if (ins.index == kNil) return ReplicateStatus::table_full;
    idx = ins.index;
  }
  bind(idx, subnet, in.address, slot, LeaseState::active, in.expires, now);
  Lease& l = table_.at(idx);
  l.start = in.start;
  l.htype = in.htype;
  l.chaddr = in.chaddr;
  l.flags &= static_cast<std::uint8_t>(~kLeaseForeign);
  if (foreign) l.flags |= kLeaseForeign;   // served here, held by the block's owner
  if (in.hostname_len != 0 || l.hostname != kNil)
    if (!table_.set_hostname(idx, std::string_view{in.hostname.data(), in.hostname_len}, in.ddns))
      bump(Event::hostname_not_stored);
  // The partner's option 82 for the lease (engine/relay_info.hpp); a record
  // without one keeps what this shard has.
  if (in.relay_len != 0 && relay_info_.enabled())
    relay_info_.store(idx, l.hash, l.address, relay_info_of(in));
  limit_charge(idx, relay_info_of(in));   // per-circuit limits (limits.cpp); no-op if counted
  l.flags |= kLeasePersisted;   // no record emitted: the partner's states this binding
  return result;
}

}  // namespace dorado::engine
