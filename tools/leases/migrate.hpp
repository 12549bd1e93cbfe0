// Kea lease4 rows <-> dorado's stored leases (store::StoredLease, which is
// engine::LeaseChange), and the import rules: replaying Kea's append log,
// merging with a store's leases, and the checks that keep the result
// loadable by dorado (one lease per address, one lease per client).
//
// Mapping (Kea -> dorado; export is the reverse):
//   key        client_id when non-empty: kind 2 + bytes; else hwaddr: kind 1 +
//              htype 1 + bytes (dorado keys clients the same way); none for
//              a declined address
//   chaddr     the first 6 bytes of hwaddr (a 6-byte hwaddr); htype 1
//   start      expire - valid_lifetime (Kea's cltt)
//   expires    expire; an infinite lease (valid_lifetime 4294967295) expires
//              at engine::kTimeMax
//   subnet_id  Kea's subnet_id (dorado re-derives the subnet from the address)
//   hostname   bound leases only, truncated to 63 bytes
//   op         state 0 -> commit (dorado turns expired ones into history at
//              start-up), 2 -> expire, 1 -> decline with no key (probation)
// Export: commit/renew -> state 0, release/expire -> state 2, decline -> 1,
// reclaim (no client record) -> not exported; fqdn_fwd/fqdn_rev 0,
// user_context empty.
//
// Contract: pure functions; `now` is passed in (Unix seconds); any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/lease.hpp"
#include "leases/kea_csv.hpp"

namespace dorado::leases {

using StoredLease = engine::LeaseChange;   // = store::StoredLease

// What was adapted (not refused) while mapping rows.
struct MapNotes {
  std::uint64_t hostname_truncated = 0;   // longer than 63 bytes
  std::uint64_t hostname_dropped = 0;     // on declined/reclaimed rows (dorado keeps none there)
  std::uint64_t hwaddr_dropped = 0;       // hwaddr not 6 bytes on a client-id lease
};

struct ToStored {
  StoredLease lease;
  std::string error;   // why the row cannot be a dorado lease; empty if it can
};
// A non-deleted row -> a lease. Errors: no client (no hwaddr, no client_id)
// on a non-declined row, hwaddr over 16 bytes, client_id over 159 bytes,
// expire < valid_lifetime, expire past 2106.
ToStored kea_to_stored(const KeaRow& row, MapNotes& notes);

// A lease -> the row Kea would hold for it; nullopt for op reclaim.
std::optional<KeaRow> stored_to_kea(const StoredLease& lease);

// Bound (commit/renew) and not expired at `now`.
bool is_active(const StoredLease& lease, std::uint32_t now) noexcept;

// A stored lease's client key as text for messages: "client-id 01:02:..",
// "hwaddr 02:00:..", or "no client".
std::string describe_client(const StoredLease& lease);

// ---- import --------------------------------------------------------------------

// Where a lease came from: a file row, or (merge) the store.
struct Origin {
  bool from_store = false;
  Located at;   // when !from_store
};

struct ImportLease {
  StoredLease lease;
  Origin origin;
};

struct ImportConflict {
  Origin first, second;
  std::string message;
};

struct ImportResult {
  std::vector<StoredLease> leases;            // sorted by address
  std::vector<LocatedError> errors;           // rows that cannot be dorado leases
  std::vector<ImportConflict> conflicts;      // the import is refused when not empty
  MapNotes notes;
  std::uint64_t rows = 0;                     // rows replayed
  std::uint64_t deleted = 0;                  // deletion rows that removed a lease
  std::uint64_t replaced = 0;                 // rows replaced by a later row for the address
  std::uint64_t kept_from_store = 0;          // merge: store leases kept
  std::uint64_t replaced_in_store = 0;        // merge: store leases an imported lease replaced
  std::uint64_t stale_dropped = 0;            // older inactive leases of a client that has a newer one
};

// Replays `rows` (in order: a later row for an address wins, a deletion row
// removes it), then, when `existing` is given (--merge), lays the result over
// the store's leases (an imported lease replaces the store's lease for the
// same address). Then checks:
//  - two different clients on one address, both active at `now` (only
//    possible with a store lease under an imported one): a conflict;
//  - one client (key) with more than one lease: dorado holds one record per
//    client. Two of them active at `now` is a conflict; otherwise the active
//    one, else the one with the latest expiry, is kept (stale_dropped).
// Rows that fail kea_to_stored are errors and are left out of the replay.
ImportResult build_import(const std::vector<LocatedRow>& rows,
                          const std::vector<StoredLease>* existing, std::uint32_t now);

// Export: every lease (reclaim records left out) as Kea rows, by address.
std::vector<KeaRow> export_rows(std::vector<StoredLease> leases);

// ---- list ----------------------------------------------------------------------

// "2026-11-22T14:48:00Z" (UTC); "never" for kTimeMax.
std::string iso_time(std::uint32_t unix_seconds);
// active / expired / released / declined (probation) / probation-ended / reclaimed.
std::string state_name(const StoredLease& lease, std::uint32_t now);
// Operator table, one lease per line, sorted by address, with a header line:
// address, hw address, client-id, state, expires, hostname.
std::string format_table(std::vector<StoredLease> leases, std::uint32_t now);

}  // namespace dorado::leases
