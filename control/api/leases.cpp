#include "api/leases.hpp"

#include <algorithm>
#include <cstring>

#include "engine/client_key.hpp"
#include "engine/engine.hpp"   // block_owner_of

namespace dorado::api {

using engine::AdminOp;
using engine::AdminReply;
using engine::AdminRequest;
using engine::AdminStatus;
using engine::kNil;

struct LeaseService::Op {
  enum class Kind : std::uint8_t { get_one, get_many, page, del, put, wipe, reclaim };
  Kind kind = Kind::get_one;
  std::string command;
  Reply reply;
  std::uint64_t id = 0;
  std::uint64_t deadline_ms = 0;
  AdminRequest base;              // what each shard is asked (cursor/address vary)
  unsigned outstanding = 0;       // shards (or requests) still to answer
  std::vector<std::pair<engine::LeaseChange, engine::LeaseState>> leases;
  std::uint64_t count = 0;        // deleted, reclaimed
  AdminStatus status = AdminStatus::ok;   // put: the shard's verdict
  // put (lease4-add) of an address in another shard's block: 0 the client's
  // shard asked, 1 the block's owner asked to hold it, 2 the client's shard
  // asked again (foreign lease), 3 the hold undone after 2 failed.
  std::uint8_t put_stage = 0;
  bool hold_made = false;   // stage 1 made a new hold (not extended one)
  unsigned client_shard = 0;
  bool truncated = false;
  // page
  std::uint32_t limit = 0;
  std::uint32_t round_bound = kNil;   // smallest next-slot over the shards this round
  std::vector<std::pair<engine::LeaseChange, engine::LeaseState>> round;
  // reclaim
  bool remove = false;
  bool then_delete = false;           // del by hw-address: scan, then delete what was found
  std::vector<std::pair<unsigned, std::uint32_t>> seqs;   // (shard, seq) of records emitted
  bool awaiting_durable = false;      // answered once is_durable()
  std::vector<std::uint8_t> phase;    // per shard: 0 sweeping, 1 removing
  // answers
  std::function<Answer(Op&)> done;
};

namespace {

const char* dorado_state(engine::LeaseState s) {
  switch (s) {
    case engine::LeaseState::active: return "active";
    case engine::LeaseState::expired: return "expired";
    case engine::LeaseState::released: return "released";
    case engine::LeaseState::declined: return "declined";
    case engine::LeaseState::offered: return "offered";
    default: return "unused";
  }
}

std::string status_text(AdminStatus s) {
  switch (s) {
    case AdminStatus::ok: return "ok";
    case AdminStatus::not_found: return "no such lease";
    case AdminStatus::exists: return "the address or the client already has a lease";
    case AdminStatus::bad_address: return "the address is not in a pool of its subnet nor reserved for this client";
    case AdminStatus::wrong_shard:
      return "the address belongs to another worker's address block than the client";
    case AdminStatus::table_full: return "the lease table is full";
    case AdminStatus::invalid: return "invalid lease (key, or an expiry not in the future)";
  }
  return "unknown status";
}

std::string plural_leases(std::size_t n) { return std::to_string(n) + " IPv4 lease(s) found."; }

// Slot of the first address > `after` (slot order is address order).
std::uint32_t first_slot_after(const engine::CompiledConfig& c, wire::Ipv4 after) {
  const auto& b = c.blocks;
  // first block whose last address (base + 63) > after
  auto it = std::partition_point(b.begin(), b.end(),
                                 [after](const engine::BlockInfo& x) { return x.base + 63 <= after; });
  if (it == b.end()) return kNil;
  const auto block = static_cast<std::uint32_t>(it - b.begin());
  const std::uint32_t bit = after >= it->base ? (after - it->base) + 1 : 0;
  return block * 64 + bit;
}

wire::Ipv4 slot_address(const engine::CompiledConfig& c, std::uint32_t slot) {
  return c.blocks[slot >> 6].base | (slot & 63u);
}

engine::LeaseChange key_lease(const engine::ClientKey& k) {
  engine::LeaseChange l;
  l.key_len = k.len;
  std::memcpy(l.key.data(), k.bytes.data(), k.len);
  return l;
}

}  // namespace

Json lease_json(const engine::LeaseChange& l, engine::LeaseState state, const LeaseDnsView* dns) {
  Json j = Json::object();
  j["ip-address"] = format_ipv4(l.address);
  std::string hw, cid;
  if (l.key_len != 0) {
    if (l.htype != 0 || l.chaddr != wire::MacAddr{}) hw = format_mac(l.chaddr);
    if (l.key[0] == engine::kKeyKindClientId && l.key_len > 1) cid = format_hex(l.key.data() + 1, l.key_len - 1u);
  }
  j["hw-address"] = hw;
  if (!cid.empty()) j["client-id"] = cid;
  j["subnet-id"] = l.subnet_id;
  j["cltt"] = l.start;
  j["valid-lft"] = l.expires >= l.start ? l.expires - l.start : 0;
  j["expire"] = l.expires;
  int kea_state = 0;
  if (state == engine::LeaseState::declined) kea_state = 1;
  if (engine::is_inactive(state)) kea_state = 2;
  j["state"] = kea_state;
  j["hostname"] = dns && !dns->fqdn.empty()
                     ? dns->fqdn
                     : std::string(l.hostname.data(), std::min<std::size_t>(l.hostname_len, engine::kMaxHostnameLen));
  j["fqdn-fwd"] = dns && dns->forward;
  j["fqdn-rev"] = dns && dns->reverse;
  j["dorado-state"] = dorado_state(state);
  // The option 82 the lease was last granted with ([leasequery] keeps it:
  // dataplane/engine/relay_info.hpp), as hex; absent when none.
  if (const wire::Bytes relay = engine::relay_info_of(l); !relay.empty())
    j["relay-agent-info"] = format_hex(relay.data(), relay.size());
  j["shard"] = l.shard;
  return j;
}

Json LeaseService::lease_answer(const engine::LeaseChange& l, engine::LeaseState state) const {
  if (!dns_) return lease_json(l, state);
  const std::optional<LeaseDnsView> d = dns_(l.address);
  return lease_json(l, state, d ? &*d : nullptr);
}

LeaseService::LeaseService(ShardPort& port, const engine::CompiledConfig& config,
                           std::function<engine::Seconds()> now, LeaseServiceOptions options)
    : port_(port), config_(&config), now_(std::move(now)), options_(options) {}

LeaseService::~LeaseService() = default;

std::size_t LeaseService::pending() const noexcept { return ops_.size(); }

void LeaseService::send(Op& op, unsigned shard, AdminRequest r) {
  r.id = op.id;
  if (!backlog_.empty() || !port_.submit(shard, r)) backlog_.emplace_back(shard, r);
}

void LeaseService::start(std::unique_ptr<Op> op, std::uint64_t) {
  op->deadline_ms = now_ms_ + options_.timeout_ms;
  ops_[op->id] = std::move(op);
}

void LeaseService::finish(std::uint64_t id) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  Op& o = *it->second;
  if (o.then_delete && !o.leases.empty()) {
    // Second step of a delete by hw-address: each lease found, on the
    // shard that reported it.
    o.then_delete = false;
    o.kind = Op::Kind::del;
    o.count = 0;
    o.outstanding = static_cast<unsigned>(o.leases.size());
    const auto found = std::move(o.leases);
    o.leases.clear();
    for (const auto& [l, st] : found) {
      AdminRequest d;
      d.op = AdminOp::del_address;
      d.address = l.address;
      send(o, l.shard, d);
    }
    return;
  }
  if (!is_durable(o)) {   // tick() answers once the store has the records
    o.awaiting_durable = true;
    return;
  }
  std::unique_ptr<Op> op = std::move(it->second);
  ops_.erase(it);
  op->reply(op->done(*op));
}

void LeaseService::tick(std::uint64_t now_ms) {
  now_ms_ = now_ms;
  while (!backlog_.empty()) {
    const auto& [shard, r] = backlog_.front();
    if (ops_.count(r.id) == 0) {   // its command already timed out
      backlog_.pop_front();
      continue;
    }
    if (!port_.submit(shard, r)) break;
    backlog_.pop_front();
  }
  std::vector<std::uint64_t> late, durable;
  for (const auto& [id, op] : ops_) {
    if (op->awaiting_durable && is_durable(*op))
      durable.push_back(id);
    else if (now_ms >= op->deadline_ms)
      late.push_back(id);
  }
  for (std::uint64_t id : durable) finish(id);
  for (std::uint64_t id : late) {
    auto it = ops_.find(id);
    std::unique_ptr<Op> op = std::move(it->second);
    ops_.erase(it);
    if (op->awaiting_durable)
      op->reply(error_answer(op->command + ": applied, but not durable after " +
                             std::to_string(options_.timeout_ms) +
                             " ms: the lease store cannot write (see the log); it is kept in memory "
                             "and journaled once the store can write"));
    else
      op->reply(error_answer(op->command + ": timeout: " + std::to_string(op->outstanding) +
                             " shard request(s) unanswered after " + std::to_string(options_.timeout_ms) +
                             " ms"));
  }
}

void LeaseService::on_reply(unsigned shard, const AdminReply& r) {
  auto it = ops_.find(r.id);
  if (it == ops_.end()) return;   // timed out already
  Op& op = *it->second;
  if (r.has_lease) {
    auto& into = op.kind == Op::Kind::page ? op.round : op.leases;
    if (into.size() < options_.max_leases + std::size_t{engine::kMaxAdminLeases} * port_.shards())
      into.emplace_back(r.lease, r.state);
    else
      op.truncated = true;
  }
  if (r.last) on_last(op, shard, r);
}

bool LeaseService::is_durable(const Op& op) const {
  if (!durable_) return true;
  for (const auto& [shard, seq] : op.seqs)
    if (static_cast<std::int32_t>(seq - durable_(shard)) > 0) return false;
  return true;
}

void LeaseService::on_last(Op& op, unsigned shard, const AdminReply& r) {
  const std::uint64_t id = op.id;
  if (r.seq != 0) {
    bool known = false;
    for (auto& [s, q] : op.seqs)
      if (s == shard) {
        q = r.seq;   // a shard's seqs only grow
        known = true;
      }
    if (!known) op.seqs.emplace_back(shard, r.seq);
  }
  switch (op.kind) {
    case Op::Kind::get_one:
    case Op::Kind::del:
    case Op::Kind::put:
      op.count += r.count;
      if (op.kind == Op::Kind::put) {
        if (op.put_stage != 3) op.status = r.status;   // 3: the failure that undid the hold stands
        if (put_next(op, r)) return;                    // the add goes on on another shard
      }
      if (--op.outstanding == 0) finish(id);
      return;
    case Op::Kind::get_many:
    case Op::Kind::wipe:
      op.count += r.count;
      if (r.cursor != kNil && !op.truncated && op.leases.size() < options_.max_leases) {
        AdminRequest next = op.base;
        next.cursor = r.cursor;
        send(op, shard, next);
        return;
      }
      if (r.cursor != kNil) op.truncated = true;
      if (--op.outstanding == 0) finish(id);
      return;
    case Op::Kind::reclaim: {
      op.count += op.phase[shard] == 0 ? r.count : 0;
      AdminRequest next = op.base;
      if (r.cursor != kNil) {   // more to do in this phase
        next.op = op.phase[shard] == 0 ? AdminOp::reclaim : AdminOp::wipe;
        next.filter = op.phase[shard] == 0 ? 0 : engine::kAdminInactiveOnly;
        next.cursor = r.cursor;
        send(op, shard, next);
        return;
      }
      if (op.phase[shard] == 0 && op.remove) {
        op.phase[shard] = 1;
        next.op = AdminOp::wipe;
        next.filter = engine::kAdminInactiveOnly;
        next.cursor = 0;
        send(op, shard, next);
        return;
      }
      if (--op.outstanding == 0) finish(id);
      return;
    }
    case Op::Kind::page:
      // The shard saw every slot before r.cursor (kNil: all of them).
      op.round_bound = std::min(op.round_bound, r.cursor);
      if (--op.outstanding == 0) page_round_done(op);
      return;
  }
}

// lease4-add with several workers (docs/control-api.md): the client's shard
// serves the lease, the shard owning the address's pool block holds the
// address for it (AdminOp::hold), as a restart with another worker count
// leaves such a lease. Sends the next request and returns true, or false
// when the add is decided (op.status).
bool LeaseService::put_next(Op& op, const AdminReply& r) {
  const unsigned n = port_.shards();
  switch (op.put_stage) {
    case 0: {   // the client's shard answered
      if (op.status != AdminStatus::wrong_shard || n < 2) return false;
      const unsigned owner = engine::block_owner_of(op.base.lease, *config_, n);
      if (owner == op.client_shard) return false;
      op.put_stage = 1;
      AdminRequest h = op.base;
      h.op = AdminOp::hold;
      h.filter = op.base.op == AdminOp::update ? engine::kAdminExtend : 0;   // update: the lease's own hold
      send(op, owner, h);
      return true;
    }
    case 1: {   // the block's owner: holding it, or why not
      if (op.status != AdminStatus::ok) return false;
      op.hold_made = r.count == 1;
      op.put_stage = 2;
      AdminRequest a = op.base;
      a.filter |= engine::kAdminForeign;
      send(op, op.client_shard, a);
      return true;
    }
    case 2: {   // the client's shard again
      if (op.status == AdminStatus::ok || !op.hold_made) return false;   // an extended hold stays
      op.put_stage = 3;
      AdminRequest u;
      u.op = AdminOp::unhold;
      u.address = op.base.lease.address;
      send(op, engine::block_owner_of(op.base.lease, *config_, n), u);
      return true;
    }
    default: return false;
  }
}

// Every shard answered this round: the leases before the smallest cursor
// are final (slot order = address order); the rest is asked again next
// round from there, unless the page is full.
void LeaseService::page_round_done(Op& op) {
  // A cursor counted under a config a reload has since replaced may lie
  // beyond this one's slots: the walk ends there.
  const std::uint32_t bound =
      op.round_bound < config_->blocks.size() * 64 ? op.round_bound : kNil;
  const wire::Ipv4 bound_addr = bound == kNil ? 0 : slot_address(*config_, bound);
  for (const auto& l : op.round)
    if (bound == kNil || l.first.address < bound_addr) op.leases.push_back(l);
  op.round.clear();
  std::sort(op.leases.begin(), op.leases.end(),
            [](const auto& a, const auto& b) { return a.first.address < b.first.address; });
  if (op.leases.size() >= op.limit || bound == kNil) {
    if (op.leases.size() > op.limit) op.leases.resize(op.limit);
    finish(op.id);
    return;
  }
  op.round_bound = kNil;
  AdminRequest next = op.base;
  next.cursor = bound;
  next.limit = std::min<std::uint32_t>(engine::kMaxAdminLeases, op.limit - static_cast<std::uint32_t>(op.leases.size()));
  op.outstanding = port_.shards();
  for (unsigned s = 0; s < port_.shards(); ++s) send(op, s, next);
}

void LeaseService::register_commands(CommandTable& t) {
  // Common helpers over the request's arguments.
  struct Ident {
    bool by_address = false;
    wire::Ipv4 address = 0;
    bool by_hw = false;
    wire::MacAddr hw;
    std::vector<std::uint8_t> client_id;
    std::optional<std::uint32_t> subnet_id;
  };
  // {"ip-address"} or {"identifier-type", "identifier", "subnet-id"}.
  auto read_ident = [](Args& a) {
    Ident id;
    const auto ip = a.address("ip-address", false);
    const auto type = a.string("identifier-type", false);
    const auto ident = a.string("identifier", false);
    const auto subnet = a.integer("subnet-id", false, 0, 0xffffffffu);
    if (!a.ok()) return id;
    if (ip) {
      if (type || ident) a.fail("give either 'ip-address' or 'identifier-type' + 'identifier', not both");
      id.by_address = true;
      id.address = *ip;
      id.subnet_id = subnet ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*subnet)) : std::nullopt;
      return id;
    }
    if (!type || !ident) {
      a.fail("missing parameter: 'ip-address', or 'identifier-type' and 'identifier' (with 'subnet-id')");
      return id;
    }
    if (!subnet) {
      a.fail("missing parameter 'subnet-id' (needed with 'identifier')");
      return id;
    }
    id.subnet_id = static_cast<std::uint32_t>(*subnet);
    if (*type == "hw-address") {
      const auto mac = parse_mac(*ident);
      if (!mac) {
        a.fail("'identifier' must be a MAC address (02:00:00:00:00:01), got \"" + *ident + "\"");
        return id;
      }
      id.by_hw = true;
      id.hw = *mac;
    } else if (*type == "client-id") {
      const auto bytes = parse_hex(*ident);
      if (!bytes || bytes->empty() || bytes->size() > engine::kMaxKeyLen - 1) {
        a.fail("'identifier' must be 1.." + std::to_string(engine::kMaxKeyLen - 1) +
               " hex bytes (01:02:ff), got \"" + *ident + "\"");
        return id;
      }
      id.client_id = *bytes;
    } else {
      a.fail("'identifier-type' must be \"hw-address\" or \"client-id\" (got \"" + *type + "\")");
    }
    return id;
  };

  auto make = [this](Op::Kind kind, const Request& r, Reply done) {
    auto op = std::make_unique<Op>();
    op->kind = kind;
    op->command = r.command;
    op->reply = std::move(done);
    op->id = next_id_++;
    return op;
  };
  auto one_lease_answer = [this](Op& op) {
    if (op.leases.empty()) return Answer{kEmpty, "Lease not found.", std::nullopt};
    // Several shards may answer for one address (a probation and a lease
    // after a worker-count change): the active one first.
    const auto best = std::min_element(op.leases.begin(), op.leases.end(), [](const auto& a, const auto& b) {
      return (a.second == engine::LeaseState::active) > (b.second == engine::LeaseState::active);
    });
    return success("IPv4 lease found.", lease_answer(best->first, best->second));
  };
  auto many_answer = [this](Op& op) {
    std::sort(op.leases.begin(), op.leases.end(),
              [](const auto& a, const auto& b) { return a.first.address < b.first.address; });
    Json list = Json::array();
    for (const auto& [l, st] : op.leases) list.push_back(lease_answer(l, st));
    Json args = Json::object();
    args["leases"] = list;
    if (op.truncated) args["truncated"] = true;
    Answer a = success(plural_leases(op.leases.size()), args);
    if (op.leases.empty()) a.result = kEmpty;
    return a;
  };
  // Scans every shard (by hw-address, by subnet) from slot 0.
  // Starts `op` with its request (op->base) sent to every shard.
  auto ask_every_shard = [this](std::unique_ptr<Op> op) {
    const unsigned n = port_.shards();
    op->outstanding = n;
    Op& ref = *op;
    start(std::move(op), now_ms_);
    for (unsigned s = 0; s < n; ++s) send(ref, s, ref.base);
  };
  // Starts `op` with its request sent to the shard that owns client key `k`.
  auto ask_client_shard = [this](std::unique_ptr<Op> op, const engine::ClientKey& k) {
    op->outstanding = 1;
    Op& ref = *op;
    start(std::move(op), now_ms_);
    send(ref, engine::shard_for_hash(k.hash, port_.shards()), ref.base);
  };

  t.add("lease4-get", "a lease by ip-address, or by identifier-type (hw-address|client-id) + identifier + subnet-id",
        [=](const Request& r, Reply done) {
          Args a(r.arguments);
          const Ident id = read_ident(a);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::get_one, r, std::move(done));
          op->done = one_lease_answer;
          if (id.subnet_id) {
            op->base.filter |= engine::kAdminBySubnet;
            op->base.subnet_id = *id.subnet_id;
          }
          if (id.by_address) {
            op->base.op = AdminOp::find_address;
            op->base.address = id.address;
            ask_every_shard(std::move(op));
          } else if (id.by_hw) {
            // Clients that send a client-id are keyed by it: find them by chaddr.
            op->kind = Op::Kind::get_many;
            op->base.op = AdminOp::scan;
            op->base.limit = engine::kMaxAdminLeases;
            op->base.filter |= engine::kAdminByChaddr;
            op->base.lease.chaddr = id.hw;
            ask_every_shard(std::move(op));
          } else {
            const engine::ClientKey k = engine::client_key_id({id.client_id.data(), id.client_id.size()});
            op->base.op = AdminOp::find_key;
            op->base.lease = key_lease(k);
            ask_client_shard(std::move(op), k);
          }
        });

  t.add("lease4-get-by-hw-address", "every lease of a hw-address",
        [=](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto hw = a.mac("hw-address", true);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::get_many, r, std::move(done));
          op->done = many_answer;
          op->base.op = AdminOp::scan;
          op->base.limit = engine::kMaxAdminLeases;
          op->base.filter = engine::kAdminByChaddr;
          op->base.lease.chaddr = *hw;
          ask_every_shard(std::move(op));
        });

  t.add("lease4-get-by-client-id", "the lease of a client-id (hex bytes, as option 61 carries it)",
        [=](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto cid = a.hex("client-id", true, 1, engine::kMaxKeyLen - 1);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::get_one, r, std::move(done));
          op->done = many_answer;
          const engine::ClientKey k = engine::client_key_id({cid->data(), cid->size()});
          op->base.op = AdminOp::find_key;
          op->base.lease = key_lease(k);
          ask_client_shard(std::move(op), k);
        });

  // lease4-get-page and lease4-get-all: walk the slots from the start, or
  // after `after`, in every shard, until op->limit leases are found.
  auto walk_pages = [=, this](std::unique_ptr<Op> op, bool from_start, wire::Ipv4 after) {
    op->done = [this](Op& o) {
      Json list = Json::array();
      for (const auto& [l, st] : o.leases) list.push_back(lease_answer(l, st));
      Json args = Json::object();
      args["leases"] = list;
      args["count"] = o.leases.size();
      Answer ans = success(plural_leases(o.leases.size()), args);
      if (o.leases.empty()) ans.result = kEmpty;
      return ans;
    };
    const std::uint32_t slot = from_start ? (config_->blocks.empty() ? kNil : 0)
                                          : first_slot_after(*config_, after);
    if (slot == kNil) {
      op->outstanding = 0;
      Op& ref = *op;
      start(std::move(op), now_ms_);
      return finish(ref.id);
    }
    op->base.op = AdminOp::scan;
    op->base.cursor = slot;
    op->base.limit = std::min<std::uint32_t>(engine::kMaxAdminLeases, op->limit);
    if (!from_start) {
      op->base.filter = engine::kAdminAfter;
      op->base.address = after;
    }
    ask_every_shard(std::move(op));
  };
  t.add("lease4-get-all", "every lease, in address order (walked from the shards in pages, as lease4-get-page)",
        [=](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::page, r, std::move(done));
          op->limit = 0xffffffffu;
          walk_pages(std::move(op), true, 0);
        });
  t.add("lease4-get-page", "leases in address order: from (\"start\" or the last address of the previous page), limit",
        [=, this](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto from = a.string("from", true);
          const auto limit = a.integer("limit", true, 1, options_.max_leases);
          if (!a.finish()) return done(error_answer(a.error()));
          wire::Ipv4 after = 0;
          bool from_start = *from == "start";
          if (!from_start) {
            const auto ip = parse_ipv4(*from);
            if (!ip) return done(error_answer("'from' must be \"start\" or an IPv4 address, got \"" + *from + "\""));
            after = *ip;
          }
          auto op = make(Op::Kind::page, r, std::move(done));
          op->limit = static_cast<std::uint32_t>(*limit);
          walk_pages(std::move(op), from_start, after);
        });

  // add and update share the argument reading.
  auto put = [=, this](bool update) {
    return [=, this](const Request& r, Reply done) {
      Args a(r.arguments);
      const auto ip = a.address("ip-address", true);
      const auto hw = a.mac("hw-address", true);
      const auto cid = a.hex("client-id", false, 1, engine::kMaxKeyLen - 1);
      const auto subnet_id = a.integer("subnet-id", false, 0, 0xffffffffu);
      const auto valid = a.integer("valid-lft", false, 1, 0xfffffffeu);
      const auto expire = a.integer("expire", false, 1, engine::kTimeMax);
      const auto host = a.string("hostname", false);
      if (!a.finish()) return done(error_answer(a.error()));
      const std::uint32_t si = config_->subnet_index_of(*ip);
      if (si == kNil) return done(error_answer("address " + format_ipv4(*ip) + " is in no configured subnet"));
      const engine::CompiledSubnet& sn = config_->subnets[si];
      if (subnet_id && *subnet_id != sn.id)
        return done(error_answer("address " + format_ipv4(*ip) + " is in subnet " + std::to_string(sn.id) +
                                 ", not in subnet-id " + std::to_string(*subnet_id)));
      if (host && host->size() > engine::kMaxHostnameLen)
        return done(error_answer("'hostname' is longer than " + std::to_string(engine::kMaxHostnameLen) + " bytes"));
      const engine::Seconds now = now_();
      const std::uint64_t lft = valid ? *valid : sn.lease_time;
      engine::LeaseChange l;
      const engine::ClientKey k = cid ? engine::client_key_id({cid->data(), cid->size()})
                                      : engine::client_key_hw(1, {hw->b.data(), 6});
      l = key_lease(k);
      l.address = *ip;
      l.htype = 1;
      l.chaddr = *hw;
      l.subnet_id = sn.id;
      const std::uint64_t exp = expire ? *expire : std::min<std::uint64_t>(now + lft, engine::kTimeMax);
      if (exp <= now) return done(error_answer("the lease would end in the past (expire " + std::to_string(exp) + ")"));
      l.expires = static_cast<engine::Seconds>(exp);
      l.start = expire && valid && exp > lft ? static_cast<engine::Seconds>(exp - lft) : now;
      if (host) {
        l.hostname_len = static_cast<std::uint8_t>(host->size());
        std::memcpy(l.hostname.data(), host->data(), host->size());
      }
      auto op = make(Op::Kind::put, r, std::move(done));
      op->base.op = update ? AdminOp::update : AdminOp::add;
      op->base.lease = l;
      const std::string addr = format_ipv4(*ip);
      const std::uint32_t sid = sn.id;
      op->done = [update, addr, sid](Op& o) {
        if (o.status == AdminStatus::ok)
          return update ? success("IPv4 lease updated.")
                        : success("Lease for address " + addr + ", subnet-id " + std::to_string(sid) + " added.");
        if (update && o.status == AdminStatus::not_found)
          return error_answer("failed to update the lease with address " + addr + " - no such lease");
        return error_answer(std::string(update ? "failed to update" : "failed to add") + " the lease for " +
                            addr + ": " + status_text(o.status));
      };
      op->client_shard = engine::shard_for_hash(k.hash, port_.shards());
      ask_client_shard(std::move(op), k);
    };
  };
  t.add("lease4-add", "add a lease: ip-address, hw-address, [client-id, subnet-id, valid-lft, expire, hostname]", put(false));
  t.add("lease4-update", "replace the lease on ip-address: same arguments as lease4-add", put(true));

  t.add("lease4-del", "delete a lease by ip-address, or by identifier-type + identifier + subnet-id",
        [=](const Request& r, Reply done) {
          Args a(r.arguments);
          const Ident id = read_ident(a);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::del, r, std::move(done));
          op->done = [](Op& o) {
            return o.count != 0 ? success("IPv4 lease deleted.") : Answer{kEmpty, "IPv4 lease not found.", std::nullopt};
          };
          if (id.subnet_id) {
            op->base.filter |= engine::kAdminBySubnet;
            op->base.subnet_id = *id.subnet_id;
          }
          if (id.by_address || id.by_hw) {
            // By hw-address: the client's key may be its client-id, so its
            // leases are found by the chaddr walk (as lease4-get does), then
            // deleted by address on the shard that holds each.
            if (id.by_hw) {
              op->kind = Op::Kind::get_many;
              op->then_delete = true;
              op->base.op = AdminOp::scan;
              op->base.limit = engine::kMaxAdminLeases;
              op->base.filter |= engine::kAdminByChaddr;
              op->base.lease.chaddr = id.hw;
              return ask_every_shard(std::move(op));
            }
            op->base.op = AdminOp::del_address;
            op->base.address = id.address;
            ask_every_shard(std::move(op));
            return;
          }
          const engine::ClientKey k = engine::client_key_id({id.client_id.data(), id.client_id.size()});
          op->base.op = AdminOp::del_key;
          op->base.lease = key_lease(k);
          ask_client_shard(std::move(op), k);
        });

  t.add("lease4-wipe", "delete every lease, or those of subnet-id", [=, this](const Request& r, Reply done) {
    Args a(r.arguments);
    const auto subnet = a.integer("subnet-id", false, 0, 0xffffffffu);
    if (!a.finish()) return done(error_answer(a.error()));
    if (subnet) {
      bool known = false;
      for (const auto& s : config_->subnets) known |= s.id == *subnet;
      if (!known) return done(error_answer("no subnet with subnet-id " + std::to_string(*subnet)));
    }
    auto op = make(Op::Kind::wipe, r, std::move(done));
    std::string which = "all subnets";
    if (subnet) which = "subnet(s) " + std::to_string(*subnet);
    op->done = [which](Op& o) {
      Answer ans = success("Deleted " + std::to_string(o.count) + " IPv4 lease(s) from " + which + ".");
      if (o.count == 0) ans.result = kEmpty;
      return ans;
    };
    op->base.op = AdminOp::wipe;
    if (subnet) {
      op->base.filter = engine::kAdminBySubnet;
      op->base.subnet_id = static_cast<std::uint32_t>(*subnet);
    }
    ask_every_shard(std::move(op));
  });

  t.add("leases-reclaim", "expire every lease past its end now; remove: also delete expired and released leases",
        [=, this](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto remove = a.boolean("remove", true);
          if (!a.finish()) return done(error_answer(a.error()));
          auto op = make(Op::Kind::reclaim, r, std::move(done));
          op->remove = *remove;
          op->phase.assign(port_.shards(), 0);
          op->base.op = AdminOp::reclaim;
          op->done = [](Op& o) {
            Json args = Json::object();
            args["reclaimed"] = o.count;
            return success("Reclamation of expired leases is complete.", args);
          };
          ask_every_shard(std::move(op));
        });
}

}  // namespace dorado::api
