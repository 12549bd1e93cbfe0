#include "ha/service.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "engine/engine.hpp"
#include "store/format.hpp"

namespace dorado::ha {
namespace {

constexpr std::size_t kBatchBytes = 256 * 1024;        // records per updates message, about
constexpr std::size_t kMaxOutput = 4u << 20;           // stop sending while this much is unsent
constexpr std::size_t kChunkBytes = 1u << 20;          // backlog chunk size
constexpr std::size_t kMaxQueued = 65536;              // partner records waiting for a shard
constexpr std::size_t kMaxInFlight = 4096;             // replicate requests in the admin rings
constexpr std::size_t kMaxScan = 16384;                // queued records looked at per tick
constexpr std::uint64_t kStateWriteMs = 1000;          // ha-state at most this often
constexpr const char* kStateFile = "ha-state";

std::uint64_t read_u64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// A journal record's size and seq from its header (format.hpp); the bytes
// were checked when they were made (the tap) or read (read_journal).
std::size_t record_bytes(const std::uint8_t* p) noexcept {
  return store::kRecordHeaderSize + (std::size_t{p[4]} | std::size_t{p[5]} << 8);
}
std::uint64_t record_seq(const std::uint8_t* p) noexcept { return read_u64(p + 8); }

bool serial_ge(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) >= 0; }

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// This server's records not yet known to the partner, encoded as the journal
// holds them, in seq order. Every record of ours with seq > floor() is here.
class Backlog {
 public:
  explicit Backlog(std::uint64_t floor) : floor_(floor) {}

  void append(std::uint64_t seq, std::span<const std::uint8_t> record, std::uint64_t now_ms) {
    if (chunks_.empty() || chunks_.back().bytes.size() + record.size() > kChunkBytes) {
      chunks_.push_back({});
      chunks_.back().bytes.reserve(kChunkBytes);
      chunks_.back().first_seq = seq;
      chunks_.back().created_ms = now_ms;
    }
    Chunk& c = chunks_.back();
    c.bytes.insert(c.bytes.end(), record.begin(), record.end());
    c.last_seq = seq;
    ++c.count;
    bytes_ += record.size();
    records_ += 1;
  }

  // Drops what the partner has (<= acked), then the oldest past `cap` bytes.
  // Returns how many unacknowledged records were dropped.
  std::uint64_t trim(std::uint64_t acked, std::uint64_t cap) {
    std::uint64_t dropped = 0;
    while (!chunks_.empty() && (chunks_.front().last_seq <= acked || bytes_ > cap)) {
      const Chunk& c = chunks_.front();
      if (c.last_seq > acked) dropped += c.count;
      floor_ = std::max(floor_, c.last_seq);
      bytes_ -= c.bytes.size();
      records_ -= c.count;
      chunks_.pop_front();
    }
    return dropped;
  }

  bool covers(std::uint64_t after) const noexcept { return after >= floor_; }

  // Appends records with seq > after, up to about max_bytes; last = the seq
  // of the last one. Returns whether any was appended.
  bool read(std::uint64_t after, std::size_t max_bytes, std::vector<std::uint8_t>& out,
            std::uint64_t& last) const {
    const std::size_t start = out.size();
    for (const Chunk& c : chunks_) {
      if (c.last_seq <= after) continue;
      std::size_t off = 0;
      while (off < c.bytes.size() && out.size() - start < max_bytes) {
        const std::uint8_t* p = c.bytes.data() + off;
        const std::size_t n = record_bytes(p);
        if (record_seq(p) > after) {
          out.insert(out.end(), p, p + n);
          last = record_seq(p);
        }
        off += n;
      }
      if (out.size() - start >= max_bytes) break;
    }
    return out.size() > start;
  }

  // Records with seq > acked (those of a partly acknowledged chunk counted
  // whole), and when the oldest of them was made.
  std::uint64_t unacked(std::uint64_t acked, std::uint64_t* oldest_ms) const {
    std::uint64_t n = 0;
    bool first = true;
    for (const Chunk& c : chunks_) {
      if (c.last_seq <= acked) continue;
      n += c.count;
      if (first && oldest_ms) *oldest_ms = c.created_ms;
      first = false;
    }
    return n;
  }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  struct Chunk {
    std::vector<std::uint8_t> bytes;
    std::uint64_t first_seq = 0, last_seq = 0, created_ms = 0;
    std::uint32_t count = 0;
  };
  std::deque<Chunk> chunks_;
  std::uint64_t floor_;
  std::uint64_t bytes_ = 0;
  std::uint64_t records_ = 0;
};

// What ha-state keeps: the partner's journal and how far this server has
// applied it, and this server's epoch.
struct Persisted {
  std::uint64_t applied_journal_id = 0;
  std::uint64_t applied_seq = 0;
  std::uint64_t epoch = 0;
};

Persisted read_state(const std::string& dir) {
  Persisted p;
  std::ifstream in(dir + "/" + kStateFile);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    const std::uint64_t n = std::strtoull(v.c_str(), nullptr, k == "applied_journal_id" ? 16 : 10);
    if (k == "applied_journal_id") p.applied_journal_id = n;
    else if (k == "applied_seq") p.applied_seq = n;
    else if (k == "epoch") p.epoch = n;
  }
  return p;
}

// Replaces ha-state (write, fdatasync, rename, fsync the directory).
std::string write_state(const std::string& dir, const Persisted& p) {
  char text[160];
  const int n = std::snprintf(text, sizeof text, "applied_journal_id=%016" PRIx64 "\napplied_seq=%" PRIu64
                              "\nepoch=%" PRIu64 "\n",
                              p.applied_journal_id, p.applied_seq, p.epoch);
  const std::string tmp = dir + "/" + kStateFile + ".tmp", dst = dir + "/" + kStateFile;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  const bool ok = ::write(fd, text, static_cast<std::size_t>(n)) == n && ::fdatasync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return tmp + ": " + std::strerror(saved);
  if (::rename(tmp.c_str(), dst.c_str()) != 0) return dst + ": " + std::strerror(errno);
  if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return {};
}

}  // namespace

struct Service::Impl {
  ServiceSettings s;
  store::Store& store;
  Host& host;
  std::optional<TlsContext> tls;
  std::optional<Listener> listener;
  StateMachine machine;
  Persisted persisted;
  Persisted written;               // what ha-state holds
  std::uint64_t state_written_ms = 0;
  ServiceCounters counters;

  // ---- the link ----
  std::unique_ptr<Connection> conn;
  bool hello_sent = false;
  bool hello_received = false;
  Hello partner_hello;
  std::uint64_t next_dial_ms = 0;
  std::string last_link_error;     // rate limit for repeated connect failures
  std::uint64_t last_link_error_ms = 0;
  std::uint64_t last_heard_ms = 0;
  std::uint64_t next_heartbeat_ms = 0;
  HaState partner_state = HaState::waiting;
  bool partner_known = false;
  std::uint64_t partner_last_seq = 0;
  std::vector<std::uint8_t> out;   // scratch for encoding

  // ---- outgoing ----
  Backlog backlog;
  std::uint64_t tapped_seq = 0;         // last seq the store stamped (any record)
  std::uint64_t partner_acked = 0;      // our seqs the partner has applied (this journal)
  std::uint64_t out_pos = 0;            // sent up to here on this connection
  std::uint64_t sync_to = 0;            // the partner's sync ends when out_pos reaches it
  bool sync_end_pending = false;
  std::vector<std::uint8_t> full;       // a full transfer's records, being sent
  std::size_t full_off = 0;
  std::uint64_t full_to = 0;
  struct Gate {
    std::deque<std::pair<std::uint64_t, std::uint32_t>> waiting;   // (seq, shard seq) awaiting the partner
    std::uint32_t last_shard_seq = 0;
  };
  std::vector<Gate> gates;
  bool gating = false;

  // ---- incoming ----
  // Records journaled here as they arrived (Store::take_replicated): the
  // partner's seq they bring this server to, once our journal's seq `local`
  // is durable (a full transfer's records bring nothing until its sync_end).
  struct Journaled {
    std::uint64_t partner_seq;
    std::uint64_t local;
  };
  std::deque<Journaled> journaled;
  std::vector<engine::LeaseChange> batch;   // scratch: one updates message's records
  // Then each goes to its shard (AdminOp::replicate) for the shards' state.
  // A commit or renewal of an address outside its client's shard's blocks
  // (another worker count than the partner's) goes in two steps: the
  // block's owner holds the address (hold: asked, then answered; the
  // conflict rule decides there), then the client's shard keeps the lease
  // as a foreign one. Records are submitted out of queue order where that
  // cannot matter: one waits only while an earlier record not submitted yet
  // (a hold not answered, a ring full) names its client or one of its
  // addresses, or while a reply that moves its client's hold or its
  // address's is outstanding (pending_*); the others go on, so one slow
  // shard does not hold up the stream (submit_queued). Each shard's ring
  // keeps the order of what it is given.
  enum class Hold : std::uint8_t { none, asked, answered };
  struct Queued {
    engine::LeaseChange change;
    std::uint64_t qid = 0;       // its place in the queue (on_reply finds it by this)
    Hold hold = Hold::none;
    engine::AdminStatus hold_status = engine::AdminStatus::ok;
    std::uint32_t hold_count = 0;   // ok: 1 made, 2 extended or taken over, 3 made, another client's lease lost
    unsigned hold_shard = 0;
    bool done = false;           // submitted: off the queue once all before it are
  };
  std::deque<Queued> queued;
  std::uint64_t next_qid = 1;
  enum class Step : std::uint8_t { replicate, hold, unhold, drop_foreign, batch };
  // Records for one shard that need nothing but Shard::replicate (no hold,
  // no client's hold to move): up to kMaxAdminBatch in one request
  // (AdminOp::replicate_batch), the shard writing each one's status here.
  struct Batch {
    std::vector<engine::LeaseChange> records;
    std::vector<std::uint8_t> status;
  };
  struct Applying {
    std::uint64_t id = 0;
    unsigned shard = 0;
    bool replied = false;
    Step step = Step::replicate;
    std::uint64_t qid = 0;        // hold: the queued record it is for
    bool undo_hold = false;       // replicate: drop the hold on hold_shard if it fails
    unsigned hold_shard = 0;
    std::uint32_t address = 0;
    // replicate of a record that moves its client's hold (foreign_holds):
    bool tracks = false;
    bool foreign = false;         // kept as a foreign lease on `address`, held on hold_shard
    std::uint64_t key_hash = 0;
    std::uint32_t moved_from = 0; // the client's previous hold: dropped once this applied
    unsigned moved_shard = 0;
    bool owner_won = false;       // on the address's block owner: a won conflict may leave a foreign loser
    engine::Seconds start = 0;    // the record's
    std::shared_ptr<Batch> batch;   // Step::batch: its records, until the reply
  };
  std::deque<Applying> applying;
  std::deque<std::pair<unsigned, std::uint32_t>> unholds;   // (shard, address) to submit
  struct Drop {
    unsigned shard;
    std::uint32_t address;
    engine::Seconds start;
  };
  std::deque<Drop> drops;   // del_address with kAdminForeign to submit (a conflict's loser)
  // The address each client's hold is on (the foreign lease kept for the
  // partner's record), by a hash of the client key: when the client's next
  // record names another address or ends its lease, that hold goes. Learnt
  // from replicated records (a restart forgets it: holds made before then
  // end with their lease).
  std::unordered_map<std::uint64_t, std::uint32_t> foreign_holds;
  std::unordered_map<std::uint64_t, std::uint32_t> pending_keys;   // such replies outstanding, per client
  std::unordered_map<std::uint32_t, std::uint32_t> pending_addrs;  // and per address
  std::unordered_set<std::uint64_t> blocked_keys;    // scratch of submit_queued
  std::unordered_set<std::uint32_t> blocked_addrs;
  std::vector<std::shared_ptr<Batch>> open_batches;   // per shard: filling, not submitted yet
  std::uint64_t next_id = 1;
  bool sync_begun = false;         // a sync_begin arrived on this connection
  std::uint64_t recv_sync_to = 0;
  std::uint64_t sync_started_ms = 0;
  bool synced = false;
  std::uint64_t ack_sent = 0;

  // ---- partner-down helpers ----
  std::set<std::uint32_t> unacked_clients;
  engine::HaServe serve_published = engine::HaServe::none;
  bool partner_blocks = false;
  std::uint64_t now_ms = 0;   // of the last tick

  Impl(const ServiceSettings& settings, store::Store& st, Host& h, const Persisted& p)
      : s(settings),
        store(st),
        host(h),
        machine({settings.mode, settings.role, settings.max_response_delay_ms,
                 settings.max_unacked_clients, settings.mclt_s},
                p.epoch),
        persisted(p),
        written(p),
        backlog(st.last_seq()),
        tapped_seq(st.last_seq()),
        gates(h.shards()) {}

  void log(const std::string& line) { host.log("ha: " + line); }

  // ---- link ----
  void drop_link(const std::string& why) {
    if (conn) {
      if (!why.empty()) log("link to " + s.partner_name + " closed: " + why);
      conn->close(why);
      conn.reset();
    }
    hello_sent = hello_received = false;
    sync_begun = false;
    synced = false;
    full.clear();
    full_off = 0;
    sync_end_pending = false;
    // Records queued for the shards stay: they are journaled already, and
    // the shards must hold what the journal says.
  }

  void adopt(std::unique_ptr<Connection> c) {
    if (conn) drop_link("replaced by a new connection from " + c->peer_address());
    conn = std::move(c);
  }

  void manage_link(std::uint64_t now_ms) {
    if (listener) {
      while (auto c = listener->accept()) adopt(std::move(c));
    }
    if (!conn && s.role == Role::primary && now_ms >= next_dial_ms) {
      LinkOptions o;
      o.expected_peer_name = tls && !tls->insecure() ? s.partner_name : "";
      o.bind_address = s.listen.host;
      conn = connect(s.partner, tls ? &*tls : nullptr, o);
      next_dial_ms = now_ms + s.heartbeat_ms;
    }
    if (!conn) return;
    conn->poll();
    if (conn->is_closed()) {
      ++counters.connection_failures;
      if (conn->auth_failed()) ++counters.auth_failures;
      const std::string e = conn->error();
      conn.reset();
      drop_link("");
      // The same failure every heartbeat while the partner is down: logged
      // once, then once a minute.
      if (!e.empty() && (e != last_link_error || now_ms - last_link_error_ms >= 60000)) {
        log(e == last_link_error ? e + " (still)" : e);
        last_link_error = e;
        last_link_error_ms = now_ms;
      }
      return;
    }
    if (!conn->is_open()) return;
    if (!hello_sent) {
      Hello h;
      h.name.assign(s.this_name);
      h.config_digest = s.config_digest;
      h.journal_id = store.journal_id();
      h.last_seq = store.last_seq();
      h.epoch = machine.epoch();
      h.state = machine.state();
      h.applied_journal_id = persisted.applied_journal_id;
      h.applied_seq = persisted.applied_seq;
      out.clear();
      encode_hello(h, out);
      conn->send(out);
      hello_sent = true;
    }
  }

  void send_error(ErrorCode code, const std::string& text) {
    ErrorMsg e;
    e.code = static_cast<std::uint16_t>(code);
    e.text.assign(text);
    out.clear();
    encode_error(e, out);
    if (conn) {
      conn->send(out);
      conn->flush();
    }
  }

  // The partner's hello: check it, then plan what it needs from us.
  bool on_hello(const Hello& h, std::uint64_t now_ms) {
    if (h.name.view() != s.partner_name) {
      ++counters.auth_failures;
      send_error(ErrorCode::unknown_server, "this server's partner is " + s.partner_name);
      drop_link("peer calls itself \"" + std::string(h.name.view()) + "\", not " + s.partner_name);
      return false;
    }
    if (h.config_digest != s.config_digest) {
      send_error(ErrorCode::config_mismatch, "config digest differs");
      drop_link("the partner's config differs from ours (pools, subnets, reservations or [ha] must match)");
      ++counters.connection_failures;
      return false;
    }
    hello_received = true;
    partner_hello = h;
    partner_state = h.state;
    partner_known = true;
    partner_last_seq = h.last_seq;
    last_heard_ms = now_ms;
    ++counters.connections;
    last_link_error.clear();
    if (h.journal_id != persisted.applied_journal_id) {
      // A journal we have applied nothing of (first contact, or its store
      // was replaced): everything of it comes again.
      persisted.applied_journal_id = h.journal_id;
      persisted.applied_seq = 0;
      journaled.clear();
    }
    log("link to " + s.partner_name + " (" + conn->peer_address() + ") up; partner is " +
        ha_state_name(h.state) + ", has our records to " + std::to_string(h.applied_seq));
    // What the partner needs from us.
    std::uint64_t from = h.applied_journal_id == store.journal_id() ? h.applied_seq : 0;
    from = std::min(from, store.last_seq());
    partner_acked = from;   // what it has now (less than before if it lost its store)
    for (Gate& g : gates)
      while (!g.waiting.empty() && g.waiting.front().first <= from) g.waiting.pop_front();
    out_pos = from;
    sync_to = store.last_seq();
    SyncBegin b;
    b.kind = SyncKind::journal_tail;
    b.from_seq = from;
    b.to_seq = sync_to;
    if (!backlog.covers(from)) {
      std::vector<std::uint8_t> probe;
      std::uint64_t last = 0;
      if (store.read_journal(from, 1, probe, last) == store::Store::TailStatus::gone) start_full(b);
    }
    out.clear();
    encode_sync_begin(b, out);
    conn->send(out);
    sync_end_pending = true;
    return true;
  }

  // Every lease of the store as records of seq 0, then the position they cover.
  void start_full(SyncBegin& b) {
    full.clear();
    full_off = 0;
    std::uint64_t n = 0;
    std::uint8_t rec[store::kMaxRecordSize];
    store.for_each_lease([&](const store::StoredLease& l) {
      const std::size_t k = store::encode_record(0, l, rec);
      full.insert(full.end(), rec, rec + k);
      ++n;
    });
    full_to = store.last_seq();
    b.kind = SyncKind::full;
    b.to_seq = sync_to = full_to;
    b.leases = n;
    ++counters.full_transfers_sent;
    log("sending a full transfer of " + std::to_string(n) + " leases to " + s.partner_name +
        " (our journal after its position is gone)");
  }

  void read_input(std::uint64_t now_ms) {
    while (conn && conn->is_open() && queued.size() < kMaxQueued) {
      const Frame f = next_frame(conn->input());
      if (f.status == FrameStatus::need_more) return;
      if (f.status == FrameStatus::bad) {
        ++counters.connection_failures;
        drop_link(std::string("bad frame from the partner: ") + proto_error_name(f.error));
        return;
      }
      counters.bytes_received += f.consumed;
      const bool ok = dispatch(f, now_ms);
      if (!conn) return;
      conn->consume(f.consumed);
      if (!ok) {
        ++counters.connection_failures;
        drop_link(std::string("bad ") + message_type_name(f.type) + " message from the partner");
        return;
      }
    }
  }

  bool dispatch(const Frame& f, std::uint64_t now_ms) {
    if (f.type != MessageType::hello && !hello_received) return f.type == MessageType::error;
    if (f.type != MessageType::hello) last_heard_ms = now_ms;   // a hello counts once accepted (on_hello)
    switch (f.type) {
      case MessageType::hello: {
        const auto d = decode_hello(f.payload);
        if (!d.ok()) return false;
        on_hello(d.value, now_ms);
        return true;
      }
      case MessageType::heartbeat: {
        const auto d = decode_heartbeat(f.payload);
        if (!d.ok()) return false;
        partner_state = d.value.state;
        partner_last_seq = d.value.last_seq;
        on_ack(d.value.applied_seq);
        return true;
      }
      case MessageType::updates: {
        auto d = decode_updates(f.payload);
        if (!d.ok() || d.value.validate() != ProtoError::none) return false;
        store::DecodedRecord r;
        std::uint64_t highest = 0;
        batch.clear();
        while (d.value.next(r)) {
          batch.push_back(r.change);
          Queued q;
          q.change = r.change;
          q.qid = next_qid++;
          queued.push_back(q);
          highest = std::max(highest, r.seq);
          ++counters.records_received;
        }
        if (!batch.empty()) journaled.push_back({highest, store.take_replicated(batch)});
        return true;
      }
      case MessageType::ack: {
        const auto d = decode_ack(f.payload);
        if (!d.ok()) return false;
        on_ack(d.value.applied_seq);
        return true;
      }
      case MessageType::sync_begin: {
        const auto d = decode_sync_begin(f.payload);
        if (!d.ok()) return false;
        sync_begun = true;
        synced = false;
        recv_sync_to = d.value.to_seq;
        sync_started_ms = now_ms;
        if (d.value.kind == SyncKind::full) {
          log("receiving a full transfer of " + std::to_string(d.value.leases) + " leases from " + s.partner_name);
          persisted.applied_seq = 0;   // until its sync_end is applied
        }
        return true;
      }
      case MessageType::sync_end: {
        const auto d = decode_sync_end(f.payload);
        if (!d.ok()) return false;
        // Applied once every record before it is durable here.
        journaled.push_back({d.value.to_seq, store.last_seq()});
        return true;
      }
      case MessageType::command: {
        const auto d = decode_command(f.payload);
        if (!d.ok()) return false;
        machine.partner_maintenance(d.value.code == CommandCode::maintenance_start, now_ms);
        return true;
      }
      case MessageType::error: {
        const auto d = decode_error(f.payload);
        log("partner refused the link: " + std::string(d.ok() ? d.value.text.view() : "(unreadable error)"));
        drop_link("");
        return true;
      }
      case MessageType::sync_request: {
        const auto d = decode_sync_request(f.payload);
        return d.ok();   // the hello carries the position; kept for compatibility
      }
    }
    return false;
  }

  void on_ack(std::uint64_t applied) {
    if (applied <= partner_acked) return;
    partner_acked = applied;
    for (Gate& g : gates)
      while (!g.waiting.empty() && g.waiting.front().first <= applied) g.waiting.pop_front();
  }

  // ---- applying the partner's records ----
  // Whether a record is a binding its client's shard may keep only as a
  // foreign lease (its address's block has another owner): hold it there first.
  bool needs_hold(const engine::LeaseChange& c) const {
    return host.shards() > 1 && c.key_len != 0 &&
           (c.op == engine::LeaseOp::commit || c.op == engine::LeaseOp::renew);
  }

  bool submit_step(Applying a, const engine::AdminRequest& base) {
    // What the shard's open batch holds went before: it goes first.
    if (a.step != Step::batch && !flush_batch(a.shard)) return false;
    engine::AdminRequest r = base;
    a.id = kHaAdminId | next_id;   // ids follow the queue's order (on_reply indexes by them)
    r.id = a.id;
    if (!host.submit(a.shard, r)) return false;   // ring full: next tick
    ++next_id;
    applying.push_back(a);
    return true;
  }

  static std::uint64_t key_hash(const engine::LeaseChange& c) noexcept {
    std::uint64_t h = 1469598103934665603ull;   // FNV-1a
    for (std::size_t i = 0; i < c.key_len && i < c.key.size(); ++i) h = (h ^ c.key[i]) * 1099511628211ull;
    return h;
  }

  // The client's hold (foreign_holds) that this record of it leaves behind:
  // a binding of another address, or its lease ended (not a decline: the
  // probation keeps the address).
  std::uint32_t moved_from(const engine::LeaseChange& c, std::uint64_t kh) const {
    if (c.key_len == 0 || c.op == engine::LeaseOp::decline) return 0;
    const auto it = foreign_holds.find(kh);
    if (it == foreign_holds.end()) return 0;
    const bool binding = c.op == engine::LeaseOp::commit || c.op == engine::LeaseOp::renew;
    return binding && it->second == c.address ? 0 : it->second;
  }

  template <class M, class K>
  static void release_pending(M& m, K k) {
    if (const auto it = m.find(k); it != m.end() && --it->second == 0) m.erase(it);
  }

  // The rule's loser may be a foreign lease on any shard but `skip_a` and
  // `skip_b` (its address's block owner keeps a hold for it): those shards
  // drop another client's foreign lease of `address` no later than `start`.
  void drop_losers(std::uint32_t address, engine::Seconds start, unsigned skip_a, unsigned skip_b) {
    for (unsigned w = 0; w < host.shards(); ++w)
      if (w != skip_a && w != skip_b) drops.push_back({w, address, start});
  }

  // Submits shard w's open batch; false: its ring is full (it stays open).
  bool flush_batch(unsigned w) {
    if (w >= open_batches.size() || !open_batches[w] || open_batches[w]->records.empty()) return true;
    Applying a;
    a.step = Step::batch;
    a.shard = w;
    a.batch = open_batches[w];
    a.batch->status.assign(a.batch->records.size(), 0);
    engine::AdminRequest r;
    r.op = engine::AdminOp::replicate_batch;
    r.limit = static_cast<std::uint32_t>(a.batch->records.size());
    r.records = a.batch->records.data();
    r.status = a.batch->status.data();
    if (!submit_step(a, r)) return false;
    open_batches[w].reset();
    return true;
  }
  bool flush_batches() {
    bool all = true;
    for (unsigned w = 0; w < open_batches.size(); ++w) all = flush_batch(w) && all;
    return all;
  }
  bool batches_open() const {
    for (const auto& b : open_batches)
      if (b && !b->records.empty()) return true;
    return false;
  }

  void submit_queued() {
    if (open_batches.size() != host.shards()) open_batches.resize(host.shards());
    flush_batches();   // those a full ring kept last time
    while (!unholds.empty() && applying.size() < kMaxInFlight) {
      Applying a;
      a.step = Step::unhold;
      a.shard = unholds.front().first;
      engine::AdminRequest r;
      r.op = engine::AdminOp::unhold;
      r.address = unholds.front().second;
      if (!submit_step(a, r)) return;
      unholds.pop_front();
    }
    while (!drops.empty() && applying.size() < kMaxInFlight) {
      Applying a;
      a.step = Step::drop_foreign;
      a.shard = drops.front().shard;
      engine::AdminRequest r;
      r.op = engine::AdminOp::del_address;
      r.filter = engine::kAdminForeign;
      r.address = drops.front().address;
      r.lease.address = drops.front().address;
      r.lease.start = drops.front().start;
      if (!submit_step(a, r)) return;
      drops.pop_front();
    }
    // In queue order, each record not submitted yet goes unless an earlier
    // one still waiting names its client or one of its addresses (then it
    // waits too, and so do the later ones naming its own).
    blocked_keys.clear();
    blocked_addrs.clear();
    std::size_t scanned = 0;
    for (Queued& q : queued) {
      if (applying.size() >= kMaxInFlight || scanned++ >= kMaxScan) break;
      if (q.done) continue;
      const bool keyed = q.change.key_len != 0;
      const std::uint64_t kh = keyed ? key_hash(q.change) : 0;
      const std::uint32_t addr = q.change.address;
      const bool blocked = q.hold == Hold::asked || (keyed && (blocked_keys.count(kh) || pending_keys.count(kh))) ||
                           blocked_addrs.count(addr) || pending_addrs.count(addr);
      if (blocked || !submit_record(q, kh)) {
        if (keyed) {
          blocked_keys.insert(kh);
          if (const auto it = foreign_holds.find(kh); it != foreign_holds.end()) blocked_addrs.insert(it->second);
        }
        blocked_addrs.insert(addr);
      }
    }
    flush_batches();
    while (!queued.empty() && queued.front().done) queued.pop_front();
  }

  // The next step of one record: its hold asked of the block's owner
  // (false: it waits for the answer), or its replicate submitted (true).
  bool submit_record(Queued& q, std::uint64_t kh) {
    const unsigned client = host.shard_of(q.change);
    if (q.hold == Hold::none && needs_hold(q.change)) {
      const unsigned owner = host.block_shard_of(q.change);
      if (owner != client) {
        Applying a;
        a.step = Step::hold;
        a.shard = owner;
        a.qid = q.qid;
        engine::AdminRequest r;
        r.op = engine::AdminOp::hold;
        // The partner's record: the conflict rule decides (kAdminForeign);
        // its renewal extends the lease's own hold (kAdminExtend).
        r.filter = engine::kAdminExtend | engine::kAdminForeign;
        r.lease = q.change;
        if (submit_step(a, r)) {
          q.hold = Hold::asked;
          q.hold_shard = owner;
        }
        return false;
      }
    }
    Applying a;
    a.shard = client;
    a.address = q.change.address;
    a.start = q.change.start;
    a.key_hash = kh;
    engine::AdminRequest r;
    r.op = engine::AdminOp::replicate;
    r.lease = q.change;
    if (q.hold == Hold::answered) {
      switch (q.hold_status) {
        case engine::AdminStatus::ok:   // held: the client's shard keeps it as a foreign lease
          r.filter = engine::kAdminForeign;
          a.undo_hold = q.hold_count != 2;   // a hold made for it (not one it extended)
          a.hold_shard = q.hold_shard;
          a.foreign = true;
          break;
        case engine::AdminStatus::exists:   // a later record holds the address there: the record loses
          r.filter = engine::kAdminForeign | engine::kAdminHoldRefused;
          break;
        default: break;   // not a pool address, an expired record...: the client's shard decides
      }
    } else {
      a.owner_won = host.shards() > 1 && needs_hold(q.change);   // on the block's owner itself
    }
    if (const std::uint32_t from = moved_from(q.change, kh); from != 0) {
      engine::LeaseChange at = q.change;
      at.address = from;
      a.moved_from = from;
      a.moved_shard = host.block_shard_of(at);
    }
    a.tracks = a.foreign || a.moved_from != 0;
    if (!a.tracks && r.filter == 0) {   // Shard::replicate alone: into the shard's batch
      std::shared_ptr<Batch>& b = open_batches[client];
      if (b && b->records.size() >= engine::kMaxAdminBatch && !flush_batch(client)) return false;
      if (!b) {
        b = std::make_shared<Batch>();
        b->records.reserve(engine::kMaxAdminBatch);
      }
      b->records.push_back(q.change);
      q.done = true;
      return true;
    }
    if (!submit_step(a, r)) return false;
    if (a.tracks) {
      ++pending_keys[kh];
      ++pending_addrs[a.address];
      if (a.moved_from != 0) ++pending_addrs[a.moved_from];
    }
    q.done = true;
    return true;
  }

  void on_reply(unsigned shard, const engine::AdminReply& r) {
    if (applying.empty() || r.id < applying.front().id) return;   // from a dropped link's era: gone
    const std::uint64_t i = r.id - applying.front().id;
    if (i >= applying.size() || applying[i].id != r.id) return;
    Applying& a = applying[i];
    if (r.last) a.replied = true;
    a.shard = shard;
    switch (a.step) {
      case Step::unhold: return;
      case Step::drop_foreign:
        if (r.has_lease) {   // the loser: a foreign lease of another client
          ++counters.conflicts_won;
          log("conflict: an address was given to two clients; the partner's later lease wins, "
              "the other client's lease (kept by another worker) is dropped");
          const auto it = foreign_holds.find(key_hash(r.lease));
          if (it != foreign_holds.end() && it->second == r.lease.address) foreign_holds.erase(it);
        }
        return;
      case Step::hold: {
        if (queued.empty() || a.qid < queued.front().qid || a.qid - queued.front().qid >= queued.size()) return;
        Queued& q = queued[a.qid - queued.front().qid];
        q.hold = Hold::answered;
        q.hold_status = r.status;
        q.hold_count = r.status == engine::AdminStatus::ok ? r.count : 0;
        if (r.status != engine::AdminStatus::ok) return;
        if (r.count == 3) {
          ++counters.conflicts_won;
          log("conflict: an address was given to two clients; the partner's later lease wins over the "
              "lease on the address's worker");
        } else if (r.count == 2 && host.shards() > 2) {
          // A hold taken over that may be another client's: its foreign
          // lease on a third shard loses.
          const auto it = foreign_holds.find(key_hash(q.change));
          if (it == foreign_holds.end() || it->second != q.change.address)
            drop_losers(q.change.address, q.change.start, shard, host.shard_of(q.change));
        }
        return;
      }
      case Step::batch: {
        if (!r.last || !a.batch) return;
        const std::size_t n = r.status == engine::AdminStatus::ok ? std::min<std::size_t>(r.count, a.batch->records.size()) : 0;
        for (std::size_t k = 0; k < n; ++k) {
          const engine::LeaseChange& c = a.batch->records[k];
          count_status(static_cast<engine::ReplicateStatus>(a.batch->status[k]), shard,
                       host.shards() > 1 && needs_hold(c), c.address, c.start);
        }
        counters.records_rejected += a.batch->records.size() - n;   // refused whole (cannot happen)
        a.batch.reset();
        return;
      }
      case Step::replicate: break;
    }
    const auto st = static_cast<engine::ReplicateStatus>(r.count);
    const bool ok = count_status(st, shard, a.owner_won, a.address, a.start);
    if (a.undo_hold && !ok) unholds.emplace_back(a.hold_shard, a.address);   // the hold made for it goes again
    if (a.tracks) {
      release_pending(pending_keys, a.key_hash);
      release_pending(pending_addrs, a.address);
      if (a.moved_from != 0) release_pending(pending_addrs, a.moved_from);
      if (ok && a.moved_from != 0) {   // the client left that address: its hold goes
        unholds.emplace_back(a.moved_shard, a.moved_from);
        foreign_holds.erase(a.key_hash);
      }
      if (ok && a.foreign) foreign_holds[a.key_hash] = a.address;
    }
  }

  // Counts one record's ReplicateStatus; whether the shard took it.
  bool count_status(engine::ReplicateStatus st, unsigned shard, bool owner_won, std::uint32_t address,
                    engine::Seconds start) {
    switch (st) {
      case engine::ReplicateStatus::applied: ++counters.records_applied; break;
      case engine::ReplicateStatus::unchanged: ++counters.records_unchanged; break;
      case engine::ReplicateStatus::conflict_won:
        ++counters.records_applied;
        ++counters.conflicts_won;
        log("conflict: an address was given to two clients; the partner's later lease wins here");
        // It may have taken a hold for another worker's foreign lease.
        if (owner_won) drop_losers(address, start, shard, shard);
        break;
      default: ++counters.records_rejected; break;
    }
    return st == engine::ReplicateStatus::applied || st == engine::ReplicateStatus::unchanged ||
           st == engine::ReplicateStatus::conflict_won;
  }

  void advance_applied(std::uint64_t now_ms) {
    while (!applying.empty() && applying.front().replied) applying.pop_front();
    const std::uint64_t durable = store.durable_seq();
    while (!journaled.empty() && journaled.front().local <= durable) {
      persisted.applied_seq = std::max(persisted.applied_seq, journaled.front().partner_seq);
      journaled.pop_front();
    }
    if (sync_begun && !synced && persisted.applied_seq >= recv_sync_to && applying.empty() && queued.empty() &&
        !batches_open()) {
      synced = true;
      ++counters.resyncs;
      counters.last_resync_seconds = static_cast<double>(now_ms - sync_started_ms) / 1000.0;
      log("in sync with " + s.partner_name + " at its seq " + std::to_string(persisted.applied_seq) + " (" +
          std::to_string(counters.last_resync_seconds) + " s)");
    }
    if (conn && hello_received && persisted.applied_seq != ack_sent) {
      out.clear();
      encode_ack({persisted.applied_seq}, out);
      conn->send(out);
      ack_sent = persisted.applied_seq;
    }
    if (now_ms - state_written_ms >= kStateWriteMs &&
        (persisted.applied_seq != written.applied_seq || persisted.applied_journal_id != written.applied_journal_id ||
         machine.epoch() != written.epoch)) {
      persisted.epoch = machine.epoch();
      if (std::string e = write_state(s.state_dir, persisted); !e.empty()) log("cannot write ha-state: " + e);
      else written = persisted;
      state_written_ms = now_ms;
    }
  }

  // ---- sending ours ----
  void pump() {
    if (!conn || !conn->is_open() || !hello_received) return;
    while (conn->pending_output() < kMaxOutput) {
      std::vector<std::uint8_t> batch;
      std::uint64_t last = out_pos;
      if (full_off < full.size()) {
        const std::size_t end = std::min(full.size(), full_off + kBatchBytes);
        std::size_t off = full_off;
        while (off < end) off += record_bytes(full.data() + off);
        batch.assign(full.begin() + static_cast<std::ptrdiff_t>(full_off),
                     full.begin() + static_cast<std::ptrdiff_t>(off));
        full_off = off;
        if (full_off >= full.size()) {
          last = full_to;
          full.clear();
          full_off = 0;
        }
      } else if (backlog.covers(out_pos)) {
        if (!backlog.read(out_pos, kBatchBytes, batch, last)) last = std::max(out_pos, tapped_seq);
      } else {
        std::string error;
        switch (store.read_journal(out_pos, kBatchBytes, batch, last, &error)) {
          case store::Store::TailStatus::ok: break;
          case store::Store::TailStatus::end: last = std::max(out_pos, store.durable_seq()); break;
          case store::Store::TailStatus::gone: {
            SyncBegin b;
            b.from_seq = out_pos;
            sync_to = store.last_seq();
            start_full(b);
            out.clear();
            encode_sync_begin(b, out);
            conn->send(out);
            sync_end_pending = true;
            continue;
          }
          case store::Store::TailStatus::error:
            log("cannot read the journal for the partner: " + error);
            return;
        }
      }
      if (!batch.empty()) send_batch(batch);
      const bool moved = last != out_pos;
      out_pos = last;
      if (sync_end_pending && out_pos >= sync_to && full.empty()) {
        out.clear();
        encode_sync_end({sync_to}, out);
        conn->send(out);
        sync_end_pending = false;
      }
      if (batch.empty() && !moved) break;
    }
  }

  // One or more updates messages (a batch may pass kBatchBytes by a record).
  void send_batch(const std::vector<std::uint8_t>& records) {
    std::size_t off = 0;
    while (off < records.size()) {
      out.clear();
      UpdatesWriter w(out, machine.epoch(), kBatchBytes + store::kMaxRecordSize);
      while (off < records.size()) {
        const std::size_t n = record_bytes(records.data() + off);
        if (!w.add_encoded({records.data() + off, n})) break;
        ++counters.records_sent;
        off += n;
      }
      w.finish();
      conn->send(out);
      counters.bytes_sent += out.size();
    }
  }

  void heartbeat(std::uint64_t now_ms) {
    if (!conn || !hello_received || now_ms < next_heartbeat_ms) return;
    next_heartbeat_ms = now_ms + s.heartbeat_ms;
    Heartbeat h;
    h.state = machine.state();
    h.epoch = machine.epoch();
    h.time_ms = wall_ms();
    h.unsent = backlog.unacked(partner_acked, nullptr);
    h.last_seq = store.last_seq();
    h.applied_seq = persisted.applied_seq;
    h.unacked_clients = static_cast<std::uint32_t>(unacked_clients.size());
    h.serving = machine.serve() != engine::HaServe::none;
    out.clear();
    encode_heartbeat(h, out);
    conn->send(out);
  }

  void step_machine(std::uint64_t now_ms) {
    if (machine.counting_unacked()) {
      host.unacked([this](std::uint32_t h) { unacked_clients.insert(h); });
    } else {
      host.unacked([](std::uint32_t) {});
      unacked_clients.clear();
    }
    Observation o;
    o.now_ms = now_ms;
    o.connected = conn && conn->is_open() && hello_received;
    o.last_heard_ms = last_heard_ms;
    o.partner_state = partner_state;
    o.synced = synced;
    o.unacked_clients = static_cast<std::uint32_t>(unacked_clients.size());
    const HaState before = machine.state();
    machine.step(o);
    for (const StateMachine::Transition& t : machine.transitions())
      log(std::string("state ") + ha_state_name(t.from) + " -> " + ha_state_name(t.to) + ": " + t.why);
    machine.transitions().clear();
    if (machine.state() != before) {
      next_heartbeat_ms = 0;   // tell the partner at once
      if (machine.state() == HaState::waiting && conn) drop_link("resyncing");
    }
    const engine::HaServe serve = machine.serve();
    if (serve != serve_published) {
      host.set_serve(serve);
      serve_published = serve;
    }
    const bool blocks = machine.partner_blocks(now_ms);
    if (blocks != partner_blocks) {
      log(blocks ? "partner-down for mclt seconds: allocating in the partner's blocks too"
                 : "allocating in this server's blocks only");
      host.set_partner_blocks(blocks);
      partner_blocks = blocks;
    }
    const bool gate = s.ack_partner && machine.partner_ack_possible();
    if (!gate && gating)
      for (Gate& g : gates) g.waiting.clear();   // those ACKs go on local durability
    gating = gate;
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), settings_(impl_->s) {}
Service::~Service() { close(); }

Service::Created Service::create(const ServiceSettings& settings, store::Store& store, Host& host,
                                 std::uint64_t now_ms) {
  Created c;
  if (settings.state_dir.empty()) {   // ha-state would land in the current (or root) directory
    c.error = "ha: no state directory (the store directory keeps ha-state)";
    return c;
  }
  const Persisted p = read_state(settings.state_dir);
  auto impl = std::make_unique<Impl>(settings, store, host, p);
  if (!settings.tls.insecure) {
    auto t = TlsContext::create(settings.tls);
    if (!t.ok()) {
      c.error = t.error;
      return c;
    }
    impl->tls = std::move(t.value);
  }
  LinkOptions o;
  o.expected_peer_name = settings.tls.insecure ? "" : settings.partner_name;
  auto l = Listener::open(settings.listen, impl->tls ? &*impl->tls : nullptr, o);
  if (!l.ok()) {
    c.error = l.error;
    return c;
  }
  impl->listener = std::move(l.value);
  Impl* raw = impl.get();
  store.set_tap([raw](unsigned worker, std::uint64_t seq, const engine::LeaseChange& ch,
                      std::span<const std::uint8_t> record) {
    raw->tapped_seq = seq;
    if (worker < raw->gates.size()) raw->gates[worker].last_shard_seq = ch.seq;
    if (ch.shard & engine::kChangeFromPartner) return;   // the partner's own, applied here
    raw->backlog.append(seq, record, raw->now_ms);
    if (raw->gating && worker < raw->gates.size()) raw->gates[worker].waiting.emplace_back(seq, ch.seq);
  });
  impl->machine.step({now_ms, false, 0, HaState::waiting, false, 0});
  host.set_serve(engine::HaServe::none);
  c.service.reset(new Service(std::move(impl)));
  return c;
}

void Service::tick(std::uint64_t now_ms) {
  Impl& m = *impl_;
  m.now_ms = now_ms;
  m.manage_link(now_ms);
  m.read_input(now_ms);
  m.submit_queued();
  m.advance_applied(now_ms);
  m.step_machine(now_ms);
  m.pump();
  m.heartbeat(now_ms);
  if (m.conn) m.conn->flush();
  if (const std::uint64_t lost = m.backlog.trim(m.partner_acked, m.s.backlog_bytes); lost != 0) {
    m.counters.backlog_dropped += lost;
  }
}

void Service::on_admin_reply(unsigned shard, const engine::AdminReply& reply) { impl_->on_reply(shard, reply); }

std::uint32_t Service::durable_limit(unsigned w, std::uint32_t local) const noexcept {
  const Impl& m = *impl_;
  if (!m.gating || w >= m.gates.size()) return local;
  const Impl::Gate& g = m.gates[w];
  const std::uint32_t partner = g.waiting.empty() ? g.last_shard_seq : g.waiting.front().second - 1;
  return serial_ge(local, partner) ? partner : local;
}

ServiceStatus Service::status(std::uint64_t now_ms) const {
  const Impl& m = *impl_;
  ServiceStatus st;
  st.state = m.machine.state();
  st.partner_state = m.partner_state;
  st.partner_known = m.partner_known;
  st.connected = m.conn && m.conn->is_open() && m.hello_received;
  st.epoch = m.machine.epoch();
  st.last_seq = m.store.last_seq();
  st.partner_acked_seq = m.partner_acked;
  st.applied_seq = m.persisted.applied_seq;
  st.partner_last_seq = m.partner_last_seq;
  std::uint64_t oldest = 0;
  st.unsent = m.backlog.unacked(m.partner_acked, &oldest);
  st.lag_seconds = st.unsent != 0 && oldest != 0 && now_ms > oldest ? static_cast<double>(now_ms - oldest) / 1000.0 : 0;
  st.unacked_clients = static_cast<std::uint32_t>(m.unacked_clients.size());
  st.state_age_ms = now_ms - m.machine.state_since_ms();
  st.counters = m.counters;
  return st;
}

std::string Service::maintenance_start(std::uint64_t now_ms) {
  Impl& m = *impl_;
  if (!m.conn || !m.hello_received) return "the partner is not connected";
  if (std::string e = m.machine.maintenance_start(now_ms); !e.empty()) return e;
  m.out.clear();
  encode_command({CommandCode::maintenance_start}, m.out);
  m.conn->send(m.out);
  return {};
}

std::string Service::maintenance_cancel(std::uint64_t now_ms) {
  Impl& m = *impl_;
  if (std::string e = m.machine.maintenance_cancel(now_ms); !e.empty()) return e;
  if (m.conn && m.hello_received) {
    m.out.clear();
    encode_command({CommandCode::maintenance_cancel}, m.out);
    m.conn->send(m.out);
  }
  return {};
}

std::string Service::sync(std::uint64_t now_ms) {
  Impl& m = *impl_;
  m.persisted.applied_journal_id = 0;   // the partner sends everything again
  m.persisted.applied_seq = 0;
  m.machine.resync(now_ms);
  m.drop_link("ha-sync: resyncing from the partner");
  return {};
}

void Service::close() {
  if (!impl_) return;
  Impl& m = *impl_;
  m.store.set_tap({});
  if (m.persisted.applied_seq != m.written.applied_seq || m.persisted.applied_journal_id != m.written.applied_journal_id ||
      m.machine.epoch() != m.written.epoch) {
    m.persisted.epoch = m.machine.epoch();
    if (write_state(m.s.state_dir, m.persisted).empty()) m.written = m.persisted;
  }
  m.drop_link("");
}

}  // namespace dorado::ha
