// Shard::admin: the control API's lease operations, run by the shard's own
// lcore (engine/admin.hpp).
#include <algorithm>

#include "engine/engine.hpp"
#include "engine/reservations.hpp"

namespace dorado::engine {

// A record the API shows: a client's lease (active, expired, released) or a
// probation; not an OFFER's hold, not a restored hold for another shard.
bool Shard::admin_reportable(std::uint32_t idx, const AdminRequest& r) const noexcept {
  const Lease& l = table_.at(idx);
  if (l.state == LeaseState::unused || l.state == LeaseState::offered) return false;
  if (l.flags & kLeaseHold) return false;
  // A lease a reload left outside every subnet (kNoSubnet) matches no subnet id.
  if ((r.filter & kAdminBySubnet) &&
      (l.subnet >= config_->subnets.size() || config_->subnets[l.subnet].id != r.subnet_id))
    return false;
  if ((r.filter & kAdminByChaddr) && (l.key_len == 0 || l.htype != 1 || l.chaddr != r.lease.chaddr))
    return false;
  if ((r.filter & kAdminAfter) && l.address <= r.address) return false;
  if ((r.filter & kAdminInactiveOnly) && !is_inactive(l.state)) return false;
  if ((r.filter & kAdminActiveOnly) && l.state != LeaseState::active) return false;
  return true;
}

void Shard::admin_describe(std::uint32_t idx, AdminReply& out) const noexcept {
  out.has_lease = true;
  out.state = table_.at(idx).state;
  out.lease = change_of(idx, true);
}

// Deletes a reportable record: a client's goes with a reclaim record (when
// the store knows it), a probation with its keyless expire. Returns 1.
std::uint32_t Shard::admin_delete(std::uint32_t idx, Seconds now) noexcept {
  const Lease& l = table_.at(idx);
  if (l.key_len == 0) {   // probation: the store learns it ended
    emit(LeaseOp::expire, idx);
    drop_record(idx, now);
    return 1;
  }
  if (l.state == LeaseState::active && (l.flags & kLeasePersisted) == 0) {
    // Never journaled (cannot happen for an active lease; be safe): a
    // reclaim record tells the store to drop whatever it may have.
    table_.at(idx).flags |= kLeasePersisted;
  }
  drop_record(idx, now);   // detach emits reclaim for a persisted record
  return 1;
}

AdminStatus Shard::admin_put(const LeaseChange& in, bool update, bool foreign_ok, Seconds now) noexcept {
  const ClientKey key = in.key_len <= kMaxKeyLen ? stored_key(in) : ClientKey{};
  if (key.len == 0 || in.hostname_len > kMaxHostnameLen || in.expires <= now) return AdminStatus::invalid;
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  if (subnet == kNil) return AdminStatus::bad_address;
  const SlotId slot = alloc_.slot_of(subnet, in.address);
  if (slot == kNil) return AdminStatus::bad_address;
  const std::uint32_t block = slot >> 6;
  bool foreign = false;   // another shard's block: its owner holds the address (AdminOp::hold)
  if ((config_->blocks[block].allocatable >> (slot & 63u)) & 1u) {
    if (!shard_owns_block(*config_, block, id_)) {
      if (!foreign_ok) return AdminStatus::wrong_shard;
      foreign = true;
    }
  } else if (reserved_address(key, in.htype, in.chaddr, subnet) != in.address &&
             !relay_reserved_address(*config_, subnet, in.address)) {
    return AdminStatus::bad_address;   // excluded, server, network, or another client's reservation
  }
  const std::uint32_t same = table_.find(key);
  std::uint32_t on_address = alloc_.lease_at(slot);
  if (on_address != kNil) {
    const Lease& o = table_.at(on_address);
    if (o.flags & kLeaseHold) return AdminStatus::exists;   // held for a lease of another shard
    if (on_address != same) {
      // Another client's record (or a probation) on the address: an update
      // replaces it; an add takes only an inactive one (sticky history).
      if (!update && !is_inactive(o.state) && o.state != LeaseState::offered) return AdminStatus::exists;
      if (o.key_len == 0) {
        emit(LeaseOp::expire, on_address);
        drop_record(on_address, now);
      } else {
        drop_record(on_address, now);
      }
      on_address = kNil;
    } else if (!update && o.state == LeaseState::active) {
      return AdminStatus::exists;
    }
  } else if (update) {
    return AdminStatus::not_found;
  }
  std::uint32_t idx = same;
  if (idx != kNil) {
    const Lease& l = table_.at(idx);
    // A client has one record: an add for a client that holds another
    // address is refused; an update moves it (detach emits the reclaim).
    if (!update && l.state == LeaseState::active && l.address != in.address) return AdminStatus::exists;
  } else {
    const Inserted ins = create_record(key, now);
    if (ins.index == kNil) return AdminStatus::table_full;
    idx = ins.index;
  }
  bind(idx, subnet, in.address, slot, LeaseState::active, in.expires, now);
  Lease& l = table_.at(idx);
  l.start = in.start != 0 ? in.start : now;
  l.htype = in.htype;
  l.chaddr = in.chaddr;
  l.flags &= static_cast<std::uint8_t>(~kLeaseForeign);
  if (foreign) l.flags |= kLeaseForeign;   // served here, held by the block's owner
  if (in.hostname_len != 0 || l.hostname != kNil)
    if (!table_.set_hostname(idx, std::string_view{in.hostname.data(), in.hostname_len}, in.ddns))
      bump(Event::hostname_not_stored);
  limit_charge(idx, relay_info_of(in));   // per-circuit limits (limits.cpp); no-op if counted
  l.flags |= kLeasePersisted;
  emit(LeaseOp::commit, idx);
  bump(Event::lease_commit);
  return AdminStatus::ok;
}

// AdminOp::hold: this shard owns the address's block and keeps the address
// for a lease another shard serves, as restore_hold() does at start-up.
// `replica` (kAdminForeign): the lease is the HA partner's record, and what
// is on the address goes by the conflict rule (Shard::replicate_binding's):
// another client's active lease loses to a later transaction (dropped: its
// client is NAKed at its next renewal; count 3), an offer, a probation or a
// client's history is dropped, and a hold is taken over by a record no
// older than it (count 2); an earlier record than what is there: `exists`.
AdminStatus Shard::admin_hold(const LeaseChange& in, bool extend, bool replica, Seconds now,
                              std::uint32_t& count) noexcept {
  if (in.expires <= now) return AdminStatus::invalid;
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  if (subnet == kNil) return AdminStatus::bad_address;
  const SlotId slot = alloc_.slot_of(subnet, in.address);
  if (slot == kNil) return AdminStatus::bad_address;
  const std::uint32_t block = slot >> 6;
  if (!((config_->blocks[block].allocatable >> (slot & 63u)) & 1u)) return AdminStatus::bad_address;
  if (!shard_owns_block(*config_, block, id_)) return AdminStatus::wrong_shard;
  bool won = false;
  if (std::uint32_t on = alloc_.lease_at(slot); on != kNil && (!replica || (on = refresh(on, now)) != kNil)) {
    Lease& o = table_.at(on);
    if (o.flags & kLeaseHold) {
      // lease4-update of the lease it holds for; the partner's renewal (or
      // a later lease of the address) takes it over.
      if (!extend || (replica && o.start > in.start)) return AdminStatus::exists;
      if (in.expires > o.expires) table_.reschedule(on, in.expires);
      if (replica) table_.at(on).start = in.start;
      count = 2;
      return AdminStatus::ok;
    }
    if (replica) {
      if (o.state == LeaseState::active && o.key_len != 0) {
        // One address, two clients: the later client transaction wins; on a
        // tie, the lease given by the address's HA owner.
        const bool partner_owns = ha_side_of_block_base(config_->blocks[block].base) != config_->ha.side;
        if (!(in.start > o.start || (in.start == o.start && partner_owns))) return AdminStatus::exists;
        won = true;
      }
    } else if (!is_inactive(o.state)) {
      return AdminStatus::exists;   // an active or offered lease, a probation: taken
    }
    drop_record(on, now);   // the loser, an offer, a probation, a client's history (the store learns it)
  }
  LeaseChange hold = in;
  hold.key_len = 0;
  hold.hostname_len = 0;
  hold.relay_len = 0;
  if (install(hold, ClientKey{}, LeaseState::declined, subnet, slot, kLeaseHold) != RestoreStatus::restored)
    return AdminStatus::table_full;
  if (won) bump(Event::ha_conflict_won);
  count = won ? 3 : 1;
  return AdminStatus::ok;
}

// AdminOp::del_address with kAdminForeign: the HA conflict rule's loser on a
// shard that is neither the address's block owner nor the winner's: a
// foreign lease of another client on the address, not later than `in`.
AdminStatus Shard::admin_drop_foreign(const LeaseChange& in, Seconds now, AdminReply* described) noexcept {
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  const SlotId slot = subnet == kNil ? kNil : alloc_.slot_of(subnet, in.address);
  std::uint32_t idx = slot == kNil ? kNil : alloc_.lease_at(slot);
  if (idx != kNil) idx = refresh(idx, now);
  if (idx == kNil || !is_foreign(idx) || table_.at(idx).state != LeaseState::active ||
      table_.at(idx).address != in.address || table_.at(idx).start > in.start)
    return AdminStatus::not_found;
  const ClientKey key = in.key_len != 0 && in.key_len <= kMaxKeyLen ? stored_key(in) : ClientKey{};
  if (key.len != 0 && table_.find(key) == idx) return AdminStatus::not_found;   // the winner itself
  admin_describe(idx, *described);
  drop_record(idx, now);   // its client is NAKed at its next renewal
  bump(Event::ha_conflict_won);
  return AdminStatus::ok;
}

std::uint32_t Shard::admin(const AdminRequest& r, Seconds now, std::span<AdminReply> out) noexcept {
  if (out.size() < kMaxAdminReplies) return 0;
  std::uint32_t n = 0;
  const std::uint32_t seq_before = next_seq_;
  const auto finish = [&](AdminStatus st, std::uint32_t cursor, std::uint32_t count) {
    AdminReply& a = out[n++];
    a = AdminReply{};
    a.id = r.id;
    a.status = st;
    a.last = true;
    a.cursor = cursor;
    a.count = count;
    a.shard = id_.index;
    a.seq = next_seq_ != seq_before ? next_seq_ - 1 : 0;
    return n;
  };
  const auto lease_reply = [&](std::uint32_t idx) {
    AdminReply& a = out[n++];
    a = AdminReply{};
    a.id = r.id;
    a.shard = id_.index;
    admin_describe(idx, a);
  };
  const std::uint32_t slots = static_cast<std::uint32_t>(config_->blocks.size()) * 64;
  const auto record_at = [&](Ipv4 ip) -> std::uint32_t {
    const std::uint32_t subnet = config_->subnet_index_of(ip);
    if (subnet == kNil) return kNil;
    const SlotId s = alloc_.slot_of(subnet, ip);
    return s == kNil ? kNil : alloc_.lease_at(s);
  };
  const auto by_key = [&]() -> std::uint32_t {
    const ClientKey key = r.lease.key_len <= kMaxKeyLen ? stored_key(r.lease) : ClientKey{};
    return key.len == 0 ? kNil : table_.find(key);
  };

  switch (r.op) {
    case AdminOp::find_key:
    case AdminOp::find_address: {
      const std::uint32_t idx = r.op == AdminOp::find_key ? by_key() : record_at(r.address);
      if (idx == kNil || !admin_reportable(idx, r)) return finish(AdminStatus::not_found, kNil, 0);
      lease_reply(idx);
      return finish(AdminStatus::ok, kNil, 1);
    }
    case AdminOp::del_key:
    case AdminOp::del_address: {
      if (r.op == AdminOp::del_address && (r.filter & kAdminForeign)) {
        const std::uint32_t before = change_count_;
        AdminReply described;
        const AdminStatus st = admin_drop_foreign(r.lease, now, &described);
        mark_from_partner(before);
        if (st == AdminStatus::ok) {
          out[n] = described;
          out[n].id = r.id;
          out[n].shard = id_.index;
          ++n;
        }
        return finish(st, kNil, st == AdminStatus::ok ? 1 : 0);
      }
      const std::uint32_t idx = r.op == AdminOp::del_key ? by_key() : record_at(r.address);
      if (idx == kNil || !admin_reportable(idx, r)) return finish(AdminStatus::not_found, kNil, 0);
      lease_reply(idx);
      return finish(AdminStatus::ok, kNil, admin_delete(idx, now));
    }
    case AdminOp::add:
    case AdminOp::update: {
      const AdminStatus st =
          admin_put(r.lease, r.op == AdminOp::update, (r.filter & kAdminForeign) != 0, now);
      if (st == AdminStatus::ok) {
        const ClientKey key = stored_key(r.lease);
        if (const std::uint32_t idx = table_.find(key); idx != kNil) lease_reply(idx);
      }
      return finish(st, kNil, st == AdminStatus::ok ? 1 : 0);
    }
    case AdminOp::replicate:
      return finish(AdminStatus::ok, kNil, static_cast<std::uint32_t>(replicate(r.lease, now, r.filter)));
    case AdminOp::replicate_batch: {
      if (r.records == nullptr || r.status == nullptr || r.limit == 0 || r.limit > kMaxAdminBatch)
        return finish(AdminStatus::invalid, kNil, 0);
      for (std::uint32_t i = 0; i < r.limit; ++i)
        r.status[i] = static_cast<std::uint8_t>(replicate(r.records[i], now));
      return finish(AdminStatus::ok, kNil, r.limit);
    }
    case AdminOp::hold: {
      std::uint32_t count = 0;
      const std::uint32_t before = change_count_;
      const bool replica = (r.filter & kAdminForeign) != 0;
      const AdminStatus st = admin_hold(r.lease, (r.filter & kAdminExtend) != 0, replica, now, count);
      if (replica) mark_from_partner(before);
      return finish(st, kNil, count);
    }
    case AdminOp::unhold: {
      const std::uint32_t idx = record_at(r.address);
      if (idx == kNil || !(table_.at(idx).flags & kLeaseHold)) return finish(AdminStatus::not_found, kNil, 0);
      forget(idx);   // holds are never journaled
      return finish(AdminStatus::ok, kNil, 1);
    }
    case AdminOp::scan:
    case AdminOp::wipe: {
      const std::uint32_t limit =
          r.op == AdminOp::scan ? std::clamp<std::uint32_t>(r.limit, 1, kMaxAdminLeases) : kMaxAdminLeases;
      std::uint32_t found = 0, deleted = 0;
      std::uint32_t s = r.cursor;
      const std::uint32_t end = r.cursor >= slots ? slots : std::min(slots, r.cursor + kAdminScanSlots);
      for (; s < end && found < limit; ++s) {
        const std::uint32_t idx = alloc_.lease_at(s);
        if (idx == kNil || !admin_reportable(idx, r)) continue;
        // A record sits on its own address's slot only (foreign leases too).
        if (table_.at(idx).address != alloc_.address_of(s)) continue;
        ++found;
        if (r.op == AdminOp::scan) {
          lease_reply(idx);
        } else {
          if (change_count_ + 2 > changes_.size()) break;   // log full: next request goes on
          deleted += admin_delete(idx, now);
        }
      }
      return finish(AdminStatus::ok, s >= slots ? kNil : s, r.op == AdminOp::wipe ? deleted : found);
    }
    case AdminOp::reclaim: {
      const SweepResult res = sweep(now, kAdminChanges);
      return finish(AdminStatus::ok, res.caught_up ? kNil : 0, res.due);
    }
  }
  return finish(AdminStatus::invalid, kNil, 0);
}

}  // namespace dorado::engine
