// Client classes and pool tables: matching (per request, no allocation) and
// compiling (control thread). See engine/classes.hpp.
#include "engine/classes.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <tuple>
#include <utility>

#include "engine/allocator.hpp"
#include "engine/client_key.hpp"
#include "engine/config.hpp"
#include "wire/text.hpp"

namespace dorado::engine {

namespace {

bool bytes_equal(wire::Bytes a, const std::uint8_t* b, std::size_t n) noexcept {
  return a.size() == n && (n == 0 || std::memcmp(a.data(), b, n) == 0);
}
bool bytes_prefix(wire::Bytes a, const std::uint8_t* b, std::size_t n) noexcept {
  return a.size() >= n && (n == 0 || std::memcmp(a.data(), b, n) == 0);
}

// Option 77: the whole value equals (clients that send plain text), or one
// RFC 3004 user class (length byte, data) of a well-formed list does.
bool user_class_has(wire::Bytes v, const std::uint8_t* b, std::size_t n) noexcept {
  if (bytes_equal(v, b, n)) return true;
  std::size_t at = 0;
  while (at < v.size()) {
    const std::size_t len = v[at];
    if (len == 0 || at + 1 + len > v.size()) return false;
    if (len == n && std::memcmp(v.data() + at + 1, b, n) == 0) return true;
    at += 1 + len;
  }
  return false;
}

}  // namespace

wire::Bytes relay_sub_option(wire::Bytes rai, std::uint8_t sub) noexcept {
  std::size_t at = 0;
  while (at + 2 <= rai.size()) {
    const std::uint8_t code = rai[at];
    const std::size_t len = rai[at + 1];
    if (at + 2 + len > rai.size()) break;
    if (code == sub) return rai.subspan(at + 2, len);
    at += 2 + len;
  }
  return {};
}

namespace {

// The first min(n, 8) bytes at p as a little-endian word (zero above).
std::uint64_t head_word(const std::uint8_t* p, std::size_t n) noexcept {
  return key_hash::load_le(p, n < 8 ? n : 8);
}

}  // namespace

ClassSet CompiledClasses::linear_fails(const ClassGroup& g, wire::Bytes field, std::uint32_t number,
                                       ClassSet failed) const noexcept {
  ClassSet fail = 0;
  for (std::uint32_t i = g.begin; i < g.end; ++i) {
    const ClassCondition& c = conditions[i];
    const ClassSet bit = ClassSet{1} << c.cls;
    if ((failed | fail) & bit) continue;
    const std::uint8_t* v = bytes.data() + c.offset;
    bool ok = false;
    switch (c.op) {
      case ClassOp::present: ok = true; break;
      case ClassOp::exact: ok = bytes_equal(field, v, c.len); break;
      case ClassOp::prefix: ok = bytes_prefix(field, v, c.len); break;
      case ClassOp::user_class: ok = user_class_has(field, v, c.len); break;
      case ClassOp::contains:
        ok = std::find(field.begin(), field.end(), static_cast<std::uint8_t>(c.number)) != field.end();
        break;
      case ClassOp::equals: ok = number == c.number; break;
      case ClassOp::in_prefix: ok = (number & c.mask) == c.number; break;
    }
    if (!ok) fail |= bit;
  }
  return fail;
}

// A bucket marked `more`: its values one by one.
ClassSet CompiledClasses::bucket_hits(std::uint32_t first, wire::Bytes field, std::uint64_t head,
                                      bool exact) const noexcept {
  const std::size_t n = field.size();
  ClassSet hit = 0;
  for (std::uint32_t i = cand_first[first], end = cand_first[first + 1]; i < end; ++i) {
    const ClassCand& c = cands[i];
    const bool len_ok = exact ? c.len == n : c.len <= n;
    if ((head & c.mask) == c.word && len_ok &&
        (c.len <= 8 || std::memcmp(field.data() + 8, bytes.data() + c.offset + 8, c.len - 8u) == 0))
      hit |= c.classes;
  }
  return hit;
}

// The classes of group g that fail on the request's `field` (present);
// `failed`: those already failed (their linear conditions skipped).
[[gnu::always_inline]] inline ClassSet CompiledClasses::field_fails(const ClassGroup& g, wire::Bytes field,
                                                                   ClassSet failed) const noexcept {
  const std::size_t n = field.size();
  ClassSet fail = 0;
  if ((g.exact | g.prefix) != 0) {
    ClassSet exact_hit = 0, prefix_hit = 0;
    if (n != 0) {
      const std::uint64_t w = head_word(field.data(), n);
      if (g.exact != 0) {
        const std::uint32_t b = exact_bucket(w, n);
        const ClassSlot& s = slots[g.exact_slots + b];
        if (s.more != 0) [[unlikely]]
          exact_hit = bucket_hits(g.exact_first + b, field, w, true);
        else if (s.word == w && s.len == n)
          exact_hit = s.classes;
      }
      if (g.prefix != 0) {
        const ClassSlot& s = slots[g.prefix_slots + field[0]];
        if (s.more != 0) [[unlikely]]
          prefix_hit = bucket_hits(g.prefix_first + field[0], field, w, false);
        else if ((w & s.mask) == s.word && s.len <= n)
          prefix_hit = s.classes;
      }
    }
    fail = (g.exact & ~exact_hit) | (g.prefix & ~prefix_hit);
  }
  if (g.contains != 0) {
    ClassSet hit = 0;
    for (const std::uint8_t code : field) {
      hit |= contains_masks[contains_slot[code]];
      if ((g.contains & ~hit) == 0) break;
    }
    fail |= g.contains & ~hit;
  }
  if (g.begin != g.end) [[unlikely]]
    fail |= linear_fails(g, field, 0, failed | fail);
  return fail;
}

ClassSet CompiledClasses::match(const wire::DhcpMessage& m, std::uint8_t vlan_count,
                                const std::array<wire::VlanTag, 2>& vlans) const noexcept {
  constexpr auto kOption = static_cast<std::size_t>(ClassField::option);
  constexpr auto kRelay = static_cast<std::size_t>(ClassField::relay_sub);
  constexpr auto kMac = static_cast<std::size_t>(ClassField::mac);
  constexpr auto kOuter = static_cast<std::size_t>(ClassField::vlan_outer);
  constexpr auto kInner = static_cast<std::size_t>(ClassField::vlan_inner);
  constexpr auto kGiaddr = static_cast<std::size_t>(ClassField::giaddr);
  static_assert(kOption == 0);
  ClassSet failed = 0;
  const ClassGroup* const g0 = groups.data();
  for (const ClassGroup *g = g0, *end = g0 + field_begin[kOption + 1]; g != end; ++g) {
    if (const auto f = m.option(g->code); !f)
      failed |= g->classes;
    else
      failed |= field_fails(*g, *f, failed);
  }
  if (field_classes[kRelay] != 0) {
    if (!m.has(wire::opt::relay_agent_info)) {
      failed |= field_classes[kRelay];
    } else {
      const wire::Bytes rai = *m.option(wire::opt::relay_agent_info);
      for (const ClassGroup *g = g0 + field_begin[kRelay], *end = g0 + field_begin[kRelay + 1]; g != end; ++g) {
        const wire::Bytes f = relay_sub_option(rai, g->code);
        failed |= f.data() == nullptr ? g->classes : field_fails(*g, f, failed);
      }
    }
  }
  if (field_classes[kMac] != 0) {
    const ClassGroup& g = g0[field_begin[kMac]];
    failed |= m.hlen == 0 ? g.classes : field_fails(g, m.chaddr(), failed);
  }
  // VLAN ids and giaddr: linear conditions only (equals, in_prefix, present).
  if (field_classes[kOuter] != 0) [[unlikely]] {
    const ClassGroup& g = g0[field_begin[kOuter]];
    failed |= vlan_count < 1 ? g.classes : linear_fails(g, {}, vlans[0].vid(), failed);
  }
  if (field_classes[kInner] != 0) [[unlikely]] {
    const ClassGroup& g = g0[field_begin[kInner]];
    failed |= vlan_count < 2 ? g.classes : linear_fails(g, {}, vlans[1].vid(), failed);
  }
  if (field_classes[kGiaddr] != 0) [[unlikely]] {
    const ClassGroup& g = g0[field_begin[kGiaddr]];
    failed |= m.giaddr == 0 ? g.classes : linear_fails(g, {}, m.giaddr, failed);
  }
  return matchable & ~failed;
}

std::uint32_t CompiledClasses::lease_time(ClassSet set) const noexcept {
  set &= with_lease_time;
  return set == 0 ? 0 : list[static_cast<std::size_t>(std::countr_zero(set))].lease_time;
}

std::uint32_t CompiledClasses::index_of(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<std::uint32_t>(i);
  return kNoPool;
}

std::uint32_t CompiledConfig::pool_of(std::uint32_t subnet, Ipv4 ip) const noexcept {
  if (subnet >= subnet_pools.size()) return kNoPool;
  const SubnetPools& sp = subnet_pools[subnet];
  const PoolRange* b = pool_ranges.data() + sp.ranges_begin;
  const PoolRange* e = b + sp.ranges_count;
  const PoolRange* it = std::upper_bound(b, e, ip, [](Ipv4 v, const PoolRange& r) { return v < r.first; });
  // Table ranges overlap nothing, so the range starting last at or before
  // ip is the only table range that may hold it.
  if (it == b) return kNoPool;
  --it;
  return ip <= it->last ? it->pool : kNoPool;
}

// ---- compile (control thread) --------------------------------------------------

namespace {

// Appends `opts` sorted by code to c.options/option_bytes; fills begin,
// count and codes. Error text for a code given twice or engine-owned.
std::string append_options(CompiledConfig& c, const std::vector<OptionData>& opts, std::uint32_t& begin,
                           std::uint32_t& count, std::bitset<256>& codes) {
  std::vector<const OptionData*> sorted;
  for (const OptionData& o : opts) sorted.push_back(&o);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const OptionData* a, const OptionData* b) { return a->code < b->code; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const OptionData& o = *sorted[i];
    if (engine_owned_option(o.code))
      return "option " + std::to_string(o.code) + " is written by the engine itself";
    if (o.value.size() > kMaxOptionValue)
      return "option " + std::to_string(o.code) + " longer than " + std::to_string(kMaxOptionValue) + " bytes";
    if (i > 0 && sorted[i - 1]->code == o.code) return "option " + std::to_string(o.code) + " given twice";
  }
  begin = static_cast<std::uint32_t>(c.options.size());
  for (const OptionData* o : sorted) {
    CompiledOption co;
    co.code = o->code;
    co.always_send = o->always_send;
    co.length = static_cast<std::uint16_t>(o->value.size());
    co.offset = static_cast<std::uint32_t>(c.option_bytes.size());
    c.option_bytes.insert(c.option_bytes.end(), o->value.begin(), o->value.end());
    c.options.push_back(co);
    codes.set(o->code);
  }
  count = static_cast<std::uint32_t>(sorted.size());
  return {};
}

bool field_reads_bytes(ClassField f) noexcept {
  return f == ClassField::option || f == ClassField::relay_sub || f == ClassField::mac;
}

}  // namespace

std::string compile_classes(const EngineConfig& in, CompiledConfig& c) {
  CompiledClasses& k = c.classes;
  k = CompiledClasses{};
  if (in.classes.size() > kMaxClasses)
    return "more than " + std::to_string(kMaxClasses) + " classes";
  struct Pending {
    ClassField field;
    std::uint8_t code;
    const ClassMatch* match;
    std::uint8_t cls;
  };
  std::vector<Pending> pending;
  for (std::size_t i = 0; i < in.classes.size(); ++i) {
    const ClassConfig& cc = in.classes[i];
    const std::string who = "class \"" + cc.name + "\"";
    if (cc.name.empty()) return "class " + std::to_string(i) + " has no name";
    if (k.index_of(cc.name) != kNoPool) return who + " defined twice";
    k.names.push_back(cc.name);
    const ClassSet bit = ClassSet{1} << i;
    CompiledClass out;
    out.lease_time = cc.lease_time;
    if (std::string e = append_options(c, cc.options, out.options_begin, out.options_count, out.option_codes);
        !e.empty())
      return who + ": " + e;
    if (out.options_count != 0) k.with_options |= bit;
    if (cc.lease_time != 0) k.with_lease_time |= bit;
    if (cc.drop) k.drop |= bit;
    if (!cc.matches.empty()) k.matchable |= bit;
    for (const ClassMatch& m : cc.matches) {
      const bool bytes_op = m.op == ClassOp::exact || m.op == ClassOp::prefix || m.op == ClassOp::user_class;
      if (bytes_op && (m.value.empty() || m.value.size() > 255 || !field_reads_bytes(m.field)))
        return who + ": a value match needs 1..255 bytes of an option, a sub-option or the MAC";
      if (m.op == ClassOp::in_prefix && (m.field != ClassField::giaddr || m.prefix_len > 32))
        return who + ": an address match is for giaddr, with a prefix length 0..32";
      if (m.op == ClassOp::equals && m.field != ClassField::vlan_outer && m.field != ClassField::vlan_inner)
        return who + ": a number match is for a VLAN id";
      if (m.op == ClassOp::equals && m.number > 4095) return who + ": VLAN id above 4095";
      if (m.op == ClassOp::contains && (m.field != ClassField::option || m.code != wire::opt::parameter_request_list))
        return who + ": `contains` is for option 55";
      if ((m.field == ClassField::option && (m.code == 0 || m.code == 255)))
        return who + ": option code 0 and 255 are not options";
      const std::uint8_t code =
          m.field == ClassField::option || m.field == ClassField::relay_sub ? m.code : std::uint8_t{0};
      pending.push_back({m.field, code, &m, static_cast<std::uint8_t>(i)});
    }
    k.list.push_back(out);
  }
  std::stable_sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    return a.field != b.field ? a.field < b.field : a.code < b.code;
  });
  k.contains_masks.assign(1, 0);
  // A table (exact or prefix) of one group: its distinct values with the
  // classes naming each, in CSR form by bucket (257 offsets).
  struct Entry {
    std::uint32_t bucket;
    ClassCand cand;
  };
  auto add_table = [&k](std::vector<Entry>& entries) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.bucket < b.bucket; });
    const auto first = static_cast<std::uint32_t>(k.cand_first.size());
    const auto base = static_cast<std::uint32_t>(k.cands.size());
    std::size_t at = 0;
    for (std::uint32_t bucket = 0; bucket <= 256; ++bucket) {
      while (at < entries.size() && entries[at].bucket < bucket) ++at;
      k.cand_first.push_back(base + static_cast<std::uint32_t>(at));
    }
    for (const Entry& e : entries) k.cands.push_back(e.cand);
    const auto slot0 = static_cast<std::uint32_t>(k.slots.size());
    k.slots.resize(k.slots.size() + 256);
    for (std::uint32_t bucket = 0; bucket < 256; ++bucket) {
      const std::uint32_t b = k.cand_first[first + bucket], e = k.cand_first[first + bucket + 1];
      if (b == e) continue;
      ClassSlot& s = k.slots[slot0 + bucket];
      const ClassCand& c = k.cands[b];
      if (e - b > 1 || c.len > 8) {
        s.more = 1;
      } else {
        s.word = c.word;
        s.mask = c.mask;
        s.classes = c.classes;
        s.len = c.len;
      }
    }
    return std::pair{first, slot0};
  };
  std::size_t gbegin = 0;
  while (gbegin < pending.size()) {
    std::size_t gend = gbegin;
    while (gend < pending.size() && pending[gend].field == pending[gbegin].field &&
           pending[gend].code == pending[gbegin].code)
      ++gend;
    ClassGroup g;
    g.field = pending[gbegin].field;
    g.code = pending[gbegin].code;
    g.begin = static_cast<std::uint32_t>(k.conditions.size());
    std::vector<Entry> exact, prefix;
    for (std::size_t i = gbegin; i < gend; ++i) {
      const Pending& p = pending[i];
      const ClassMatch& m = *p.match;
      const ClassSet bit = ClassSet{1} << p.cls;
      g.classes |= bit;
      const auto offset = static_cast<std::uint32_t>(k.bytes.size());
      const auto len = static_cast<std::uint16_t>(m.value.size());
      k.bytes.insert(k.bytes.end(), m.value.begin(), m.value.end());
      // The first condition of a kind per class goes to the table, the
      // others to the linear list (a class needs all of them).
      auto indexed = [&](ClassSet& set) {
        if (set & bit) return false;
        set |= bit;
        return true;
      };
      if (m.op == ClassOp::present) continue;   // the field is there: holds
      const bool is_exact = m.op == ClassOp::exact && indexed(g.exact);
      if (is_exact || (m.op == ClassOp::prefix && indexed(g.prefix))) {
        std::vector<Entry>& table = is_exact ? exact : prefix;
        auto it = std::find_if(table.begin(), table.end(), [&](const Entry& e) {
          return e.cand.len == len && std::equal(m.value.begin(), m.value.end(), k.bytes.begin() + e.cand.offset);
        });
        if (it == table.end()) {
          Entry e;
          e.cand.word = head_word(m.value.data(), m.value.size());
          e.cand.mask = len >= 8 ? ~0ull : (std::uint64_t{1} << (8 * len)) - 1;
          e.cand.offset = offset;
          e.cand.len = len;
          e.bucket = is_exact ? exact_bucket(e.cand.word, len) : m.value[0];
          it = table.insert(table.end(), e);
        }
        it->cand.classes |= bit;
        continue;
      }
      if (m.op == ClassOp::contains && indexed(g.contains)) {
        const std::uint8_t code = static_cast<std::uint8_t>(m.number);
        if (k.contains_slot[code] == 0) {
          k.contains_slot[code] = static_cast<std::uint8_t>(k.contains_masks.size());
          k.contains_masks.push_back(0);
        }
        k.contains_masks[k.contains_slot[code]] |= bit;
        continue;
      }
      ClassCondition cond;
      cond.op = m.op;
      cond.cls = p.cls;
      cond.len = len;
      cond.offset = offset;
      cond.number = m.number;
      if (cond.op == ClassOp::in_prefix) {
        cond.mask = m.prefix_len == 0 ? 0u : ~0u << (32 - m.prefix_len);
        cond.number &= cond.mask;
      }
      k.conditions.push_back(cond);
    }
    g.end = static_cast<std::uint32_t>(k.conditions.size());
    k.field_classes[static_cast<std::size_t>(g.field)] |= g.classes;
    if (!exact.empty()) std::tie(g.exact_first, g.exact_slots) = add_table(exact);
    if (!prefix.empty()) std::tie(g.prefix_first, g.prefix_slots) = add_table(prefix);
    k.groups.push_back(g);
    gbegin = gend;
  }
  // field_begin: groups are sorted by field.
  for (std::size_t f = 0; f <= 6; ++f) {
    std::uint32_t at = 0;
    while (at < k.groups.size() && static_cast<std::size_t>(k.groups[at].field) < f) ++at;
    k.field_begin[f] = at;
  }
  k.any = !in.classes.empty();
  return {};
}

std::string compile_pools(const EngineConfig& in, const std::vector<std::uint32_t>& input_of,
                          CompiledConfig& c, std::uint32_t& fault_subnet) {
  // Classes reservations give (engine.cpp ORs them in per request) must exist.
  for (const std::string& name : c.reservation_classes)
    if (c.classes.index_of(name) == kNoPool)
      return "a reservation gives class \"" + name + "\", which is not defined";
  c.pools.clear();
  c.pool_ranges.clear();
  c.subnet_pools.clear();
  bool any = false;
  for (const SubnetConfig& s : in.subnets) any = any || !s.pool_tables.empty();
  if (!any) return {};
  c.subnet_pools.assign(c.subnets.size(), SubnetPools{});
  for (std::uint32_t ci = 0; ci < c.subnets.size(); ++ci) {
    const std::uint32_t ii = input_of[ci];
    const SubnetConfig& s = in.subnets[ii];
    fault_subnet = ii;
    SubnetPools& sp = c.subnet_pools[ci];
    sp.begin = static_cast<std::uint32_t>(c.pools.size());
    sp.ranges_begin = static_cast<std::uint32_t>(c.pool_ranges.size());
    const std::string who = "subnet " + std::to_string(s.id);
    for (std::size_t pi = 0; pi < s.pool_tables.size(); ++pi) {
      const PoolConfig& pc = s.pool_tables[pi];
      const std::string pw = who + " pool " + std::to_string(pi);
      CompiledPool p;
      p.subnet = ci;
      p.lease_time = pc.lease_time;
      if (pc.ranges.empty()) return pw + ": no range";
      auto resolve = [&](const std::vector<std::string>& names, ClassSet& set) -> std::string {
        for (const std::string& n : names) {
          const std::uint32_t x = c.classes.index_of(n);
          if (x == kNoPool) return pw + ": class \"" + n + "\" is not defined";
          set |= ClassSet{1} << x;
        }
        return {};
      };
      if (std::string e = resolve(pc.classes, p.allow); !e.empty()) return e;
      if (std::string e = resolve(pc.deny, p.deny); !e.empty()) return e;
      if (p.allow != 0 && (p.allow & ~p.deny) == 0) return pw + ": every class it allows is also denied";
      if (std::string e = append_options(c, pc.options, p.options_begin, p.options_count, p.option_codes);
          !e.empty())
        return pw + ": " + e;
      for (const AddressRange& r : pc.ranges) {
        if (r.first > r.last || !c.subnets[ci].contains(r.first) || !c.subnets[ci].contains(r.last))
          return pw + ": range " + wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last) +
                 " is empty or outside the subnet";
        for (const AddressRange& o : s.pools)
          if (r.first <= o.last && o.first <= r.last)
            return pw + ": range " + wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last) +
                   " overlaps the subnet's pools";
        c.pool_ranges.push_back(PoolRange{r.first, r.last, static_cast<std::uint32_t>(c.pools.size())});
      }
      c.pools.push_back(p);
    }
    sp.count = static_cast<std::uint32_t>(c.pools.size()) - sp.begin;
    // Table ranges must not overlap each other (nor the plain pools: above).
    std::sort(c.pool_ranges.begin() + sp.ranges_begin, c.pool_ranges.end(),
              [](const PoolRange& a, const PoolRange& b) { return a.first < b.first; });
    for (std::size_t r = sp.ranges_begin + 1; r < c.pool_ranges.size(); ++r)
      if (c.pool_ranges[r].first <= c.pool_ranges[r - 1].last)
        return who + ": pool ranges " + wire::format_ipv4(c.pool_ranges[r - 1].first) + "-" +
               wire::format_ipv4(c.pool_ranges[r - 1].last) + " and " + wire::format_ipv4(c.pool_ranges[r].first) +
               "-" + wire::format_ipv4(c.pool_ranges[r].last) + " overlap";
    // Then the plain pools (pool kNoPool), all sorted by address: pool_of()
    // searches them, Allocator::pick_pooled walks them.
    for (const AddressRange& o : s.pools) c.pool_ranges.push_back(PoolRange{o.first, o.last, kNoPool});
    std::sort(c.pool_ranges.begin() + sp.ranges_begin, c.pool_ranges.end(),
              [](const PoolRange& a, const PoolRange& b) { return a.first < b.first; });
    sp.ranges_count = static_cast<std::uint32_t>(c.pool_ranges.size()) - sp.ranges_begin;
  }
  fault_subnet = kNoPool;
  return {};
}

// ---- Allocator with pool tables -----------------------------------------------

SlotId Allocator::pick_range(std::uint32_t subnet, Ipv4 first, Ipv4 last, bool clean) noexcept {
  const CompiledSubnet& cs = config_->subnets[subnet];
  const SubnetState& st = subnets_[subnet];
  // The range's blocks are a run of the subnet's (blocks are in address
  // order); chunks without a block are skipped at both ends.
  std::uint32_t ca = (first - cs.chunk_base) >> 6, cb = (last - cs.chunk_base) >> 6;
  while (ca <= cb && config_->block_of(cs, cs.chunk_base + ca * 64) == kNil) ++ca;
  while (cb > ca && config_->block_of(cs, cs.chunk_base + cb * 64) == kNil) --cb;
  if (ca > cb) return kNil;
  const std::uint32_t lo = config_->block_of(cs, cs.chunk_base + ca * 64) - cs.first_block;
  const std::uint32_t hi = config_->block_of(cs, cs.chunk_base + cb * 64) - cs.first_block;
  const std::vector<std::uint64_t>& summary = clean ? has_clean_ : has_free_;
  for (std::uint32_t w = lo / 64; w <= hi / 64; ++w) {
    std::uint64_t word = summary[st.summary_offset + w];
    if (w == lo / 64) word &= ~0ull << (lo % 64);
    if (w == hi / 64) word &= ~0ull >> (63 - hi % 64);
    while (word != 0) {
      const std::uint32_t block = cs.first_block + w * 64 + static_cast<std::uint32_t>(std::countr_zero(word));
      word &= word - 1;
      const Bits& x = bits_[block];
      std::uint64_t candidates = clean ? x.free & ~x.sticky : x.free;
      const Ipv4 base = config_->blocks[block].base;
      if (first > base) candidates &= ~0ull << (first - base);
      if (last < base + 63) candidates &= ~0ull >> (63 - (last - base));
      if (candidates != 0) return (block << 6) | static_cast<std::uint32_t>(std::countr_zero(candidates));
    }
  }
  return kNil;
}

SlotId Allocator::pick_pooled(std::uint32_t subnet, ClassSet cls) noexcept {
  const SubnetPools& sp = config_->subnet_pools[subnet];
  const PoolRange* ranges = config_->pool_ranges.data() + sp.ranges_begin;
  // Pass 0: clean addresses of pools the client's classes name; 1: clean,
  // open pools; 2 and 3: the same with sticky addresses.
  for (int pass = 0; pass < 4; ++pass) {
    const bool clean = pass < 2, named = (pass % 2) == 0;
    if (clean ? subnets_[subnet].free <= subnets_[subnet].sticky : subnets_[subnet].free == 0) continue;
    for (std::uint32_t i = 0; i < sp.ranges_count; ++i) {
      const PoolRange& r = ranges[i];
      bool use;
      if (r.pool == kNoPool) {
        use = !named;
      } else {
        const CompiledPool& p = config_->pools[r.pool];
        use = p.allows(cls) && (named ? p.allow != 0 : p.allow == 0);
      }
      if (!use) continue;
      if (const SlotId s = pick_range(subnet, r.first, r.last, clean); s != kNil) return s;
    }
  }
  return kNil;
}

}  // namespace dorado::engine
