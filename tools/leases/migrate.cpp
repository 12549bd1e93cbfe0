#include "leases/migrate.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "wire/text.hpp"

namespace dorado::leases {

namespace {

using engine::LeaseOp;

constexpr std::size_t kChaddrLen = 6;
constexpr std::size_t kMaxHwaddrLen = 16;   // DHCP chaddr

bool chaddr_set(const StoredLease& l) noexcept {
  return std::any_of(l.chaddr.b.begin(), l.chaddr.b.end(), [](std::uint8_t b) { return b != 0; });
}

std::string_view key_view(const StoredLease& l) noexcept {
  return {reinterpret_cast<const char*>(l.key.data()), l.key_len};
}

std::string hw_text(const StoredLease& l) {
  if (l.key_len >= 2 && l.key[0] == engine::kKeyKindHw)
    return format_hex_colon(l.key.data() + 2, l.key_len - 2u);
  if (chaddr_set(l)) return wire::format_mac(l.chaddr);
  return {};
}

std::string client_id_text(const StoredLease& l) {
  if (l.key_len >= 1 && l.key[0] == engine::kKeyKindClientId)
    return format_hex_colon(l.key.data() + 1, l.key_len - 1u);
  return {};
}

}  // namespace

ToStored kea_to_stored(const KeaRow& row, MapNotes& notes) {
  ToStored r;
  StoredLease& l = r.lease;
  l.address = row.address;
  l.subnet_id = row.subnet_id;
  l.htype = 1;   // Kea's lease4 file has no hardware type: Ethernet

  if (row.expire < row.valid_lifetime) {
    r.error = "expire " + std::to_string(row.expire) + " is before valid_lifetime " +
              std::to_string(row.valid_lifetime) + " (cltt before 1970)";
    return r;
  }
  const std::uint64_t cltt = row.expire - row.valid_lifetime;
  if (cltt > engine::kTimeMax || (row.valid_lifetime != kKeaInfiniteLifetime && row.expire > engine::kTimeMax)) {
    r.error = "expire " + std::to_string(row.expire) + " is past 2106 (dorado keeps 32-bit times)";
    return r;
  }
  l.start = static_cast<engine::Seconds>(cltt);
  l.expires = row.valid_lifetime == kKeaInfiniteLifetime ? engine::kTimeMax
                                                         : static_cast<engine::Seconds>(row.expire);

  if (row.hwaddr.size() > kMaxHwaddrLen) {
    r.error = "hwaddr of " + std::to_string(row.hwaddr.size()) + " bytes (DHCP carries at most 16)";
    return r;
  }
  if (row.client_id.size() > engine::kMaxKeyLen - 1) {
    r.error = "client_id of " + std::to_string(row.client_id.size()) + " bytes (dorado keeps at most " +
              std::to_string(engine::kMaxKeyLen - 1) + ")";
    return r;
  }
  if (row.hwaddr.size() == kChaddrLen) std::memcpy(l.chaddr.b.data(), row.hwaddr.data(), kChaddrLen);

  if (row.state == KeaState::declined) {
    l.op = LeaseOp::decline;   // key_len 0: the address is in probation, no client
    if (!row.hostname.empty()) ++notes.hostname_dropped;
    return r;
  }
  if (!row.client_id.empty()) {
    l.key[0] = engine::kKeyKindClientId;
    std::memcpy(l.key.data() + 1, row.client_id.data(), row.client_id.size());
    l.key_len = static_cast<std::uint8_t>(1 + row.client_id.size());
    if (!row.hwaddr.empty() && row.hwaddr.size() != kChaddrLen) ++notes.hwaddr_dropped;
  } else if (!row.hwaddr.empty()) {
    l.key[0] = engine::kKeyKindHw;
    l.key[1] = l.htype;
    std::memcpy(l.key.data() + 2, row.hwaddr.data(), row.hwaddr.size());
    l.key_len = static_cast<std::uint8_t>(2 + row.hwaddr.size());
    std::memcpy(l.chaddr.b.data(), row.hwaddr.data(), std::min(row.hwaddr.size(), kChaddrLen));
  } else {
    r.error = "no hwaddr and no client_id: no client to key the lease on (only declined rows may have none)";
    return r;
  }
  if (row.state == KeaState::expired_reclaimed) {
    l.op = LeaseOp::expire;
    if (!row.hostname.empty()) ++notes.hostname_dropped;
    return r;
  }
  l.op = LeaseOp::commit;
  std::size_t n = row.hostname.size();
  if (n > engine::kMaxHostnameLen) {
    n = engine::kMaxHostnameLen;
    ++notes.hostname_truncated;
  }
  std::memcpy(l.hostname.data(), row.hostname.data(), n);
  l.hostname_len = static_cast<std::uint8_t>(n);
  return r;
}

std::optional<KeaRow> stored_to_kea(const StoredLease& l) {
  KeaRow row;
  switch (l.op) {
    case LeaseOp::commit:
    case LeaseOp::renew: row.state = KeaState::normal; break;
    case LeaseOp::release: row.state = KeaState::expired_reclaimed; break;
    case LeaseOp::expire:
      if (l.key_len == 0) return std::nullopt;   // probation over: the address is simply free
      row.state = KeaState::expired_reclaimed;
      break;
    case LeaseOp::decline: row.state = KeaState::declined; break;
    case LeaseOp::reclaim:
    default: return std::nullopt;
  }
  row.address = l.address;
  row.subnet_id = l.subnet_id;
  if (l.expires == engine::kTimeMax) {
    row.valid_lifetime = kKeaInfiniteLifetime;
    row.expire = std::uint64_t{l.start} + kKeaInfiniteLifetime;
  } else if (l.expires > l.start) {
    row.valid_lifetime = l.expires - l.start;
    row.expire = l.expires;
  } else {
    // valid_lifetime 0 would read as a deletion: a lease that ended the
    // second it started (a quick RELEASE) gets a one-second lifetime.
    row.valid_lifetime = 1;
    row.expire = std::max<std::uint64_t>(l.expires, 1);
  }
  const std::string hw = hw_text(l);
  if (!hw.empty()) row.hwaddr = *parse_hex_colon(hw);
  if (l.key_len >= 1 && l.key[0] == engine::kKeyKindClientId)
    row.client_id.assign(l.key.begin() + 1, l.key.begin() + l.key_len);
  if (row.state == KeaState::normal) {
    const std::size_t n = std::min<std::size_t>(l.hostname_len, engine::kMaxHostnameLen);
    row.hostname.assign(l.hostname.data(), n);
  }
  return row;
}

bool is_active(const StoredLease& l, std::uint32_t now) noexcept {
  return (l.op == LeaseOp::commit || l.op == LeaseOp::renew) && l.key_len != 0 && l.expires > now;
}

std::string describe_client(const StoredLease& l) {
  if (const std::string id = client_id_text(l); !id.empty()) return "client-id " + id;
  if (l.key_len >= 2 && l.key[0] == engine::kKeyKindHw) return "hwaddr " + hw_text(l);
  return "no client";
}

ImportResult build_import(const std::vector<LocatedRow>& rows,
                          const std::vector<StoredLease>* existing, std::uint32_t now) {
  ImportResult r;
  std::map<wire::Ipv4, ImportLease> by_address;
  for (const LocatedRow& lr : rows) {
    ++r.rows;
    if (lr.row.deleted()) {
      r.deleted += by_address.erase(lr.row.address);
      continue;
    }
    ToStored t = kea_to_stored(lr.row, r.notes);
    if (!t.error.empty()) {
      r.errors.push_back({lr.at, std::move(t.error)});
      continue;
    }
    const auto [it, inserted] = by_address.insert_or_assign(lr.row.address, ImportLease{t.lease, {false, lr.at}});
    if (!inserted) ++r.replaced;
  }

  if (existing != nullptr) {
    for (const StoredLease& s : *existing) {
      const Origin store_origin{true, {}};
      const auto it = by_address.find(s.address);
      if (it == by_address.end()) {
        by_address.emplace(s.address, ImportLease{s, store_origin});
        ++r.kept_from_store;
        continue;
      }
      const StoredLease& imp = it->second.lease;
      if (is_active(s, now) && is_active(imp, now) && key_view(s) != key_view(imp)) {
        r.conflicts.push_back({store_origin, it->second.origin,
                               "address " + wire::format_ipv4(s.address) + " is active for " + describe_client(s) +
                                   " in the store and for " + describe_client(imp) + " in the file"});
      }
      ++r.replaced_in_store;
    }
  }

  // One record per client: group by key.
  std::unordered_map<std::string_view, std::vector<const ImportLease*>> by_key;
  for (const auto& [address, il] : by_address)
    if (il.lease.key_len != 0) by_key[key_view(il.lease)].push_back(&il);
  std::vector<wire::Ipv4> drop;
  for (const auto& [key, group] : by_key) {
    if (group.size() < 2) continue;
    std::vector<const ImportLease*> active;
    for (const ImportLease* il : group)
      if (is_active(il->lease, now)) active.push_back(il);
    if (active.size() > 1) {
      for (std::size_t i = 1; i < active.size(); ++i) {
        r.conflicts.push_back({active[0]->origin, active[i]->origin,
                               describe_client(active[0]->lease) + " is active on both " +
                                   wire::format_ipv4(active[0]->lease.address) + " and " +
                                   wire::format_ipv4(active[i]->lease.address) +
                                   " (dorado holds one lease per client)"});
      }
      continue;
    }
    // The active one, else the latest expiry; on a tie a file row over the
    // store, a later row over an earlier one.
    auto rank = [](const ImportLease* il) {
      return std::make_tuple(il->lease.expires, !il->origin.from_store, il->origin.at.file, il->origin.at.line);
    };
    const ImportLease* keep = active.empty() ? nullptr : active[0];
    if (keep == nullptr)
      keep = *std::max_element(group.begin(), group.end(),
                               [&](const ImportLease* a, const ImportLease* b) { return rank(a) < rank(b); });
    for (const ImportLease* il : group)
      if (il != keep) drop.push_back(il->lease.address);
  }
  for (const wire::Ipv4 a : drop) r.stale_dropped += by_address.erase(a);

  r.leases.reserve(by_address.size());
  for (const auto& [address, il] : by_address) r.leases.push_back(il.lease);
  return r;
}

std::vector<KeaRow> export_rows(std::vector<StoredLease> leases) {
  std::sort(leases.begin(), leases.end(),
            [](const StoredLease& a, const StoredLease& b) { return a.address < b.address; });
  std::vector<KeaRow> rows;
  rows.reserve(leases.size());
  for (const StoredLease& l : leases)
    if (auto row = stored_to_kea(l)) rows.push_back(std::move(*row));
  return rows;
}

std::string iso_time(std::uint32_t unix_seconds) {
  if (unix_seconds >= engine::kTimeMax) return "never";
  const std::time_t t = unix_seconds;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string state_name(const StoredLease& l, std::uint32_t now) {
  switch (l.op) {
    case LeaseOp::commit:
    case LeaseOp::renew: return l.expires > now ? "active" : "expired";
    case LeaseOp::release: return "released";
    case LeaseOp::expire: return l.key_len == 0 ? "probation-ended" : "expired";
    case LeaseOp::decline: return l.expires > now ? "declined" : "probation-ended";
    case LeaseOp::reclaim: return "reclaimed";
  }
  return "unknown";
}

std::string format_table(std::vector<StoredLease> leases, std::uint32_t now) {
  std::sort(leases.begin(), leases.end(),
            [](const StoredLease& a, const StoredLease& b) { return a.address < b.address; });
  using Row = std::array<std::string, 6>;
  std::vector<Row> table;
  table.reserve(leases.size() + 1);
  table.push_back({"ADDRESS", "HW ADDRESS", "CLIENT-ID", "STATE", "EXPIRES", "HOSTNAME"});
  auto or_dash = [](std::string s) { return s.empty() ? std::string("-") : s; };
  for (const StoredLease& l : leases) {
    std::string host(l.hostname.data(), std::min<std::size_t>(l.hostname_len, engine::kMaxHostnameLen));
    table.push_back({wire::format_ipv4(l.address), or_dash(hw_text(l)), or_dash(client_id_text(l)),
                     state_name(l, now), iso_time(l.expires), or_dash(std::move(host))});
  }
  std::array<std::size_t, 6> width{};
  for (const Row& row : table)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const Row& row : table) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace dorado::leases
