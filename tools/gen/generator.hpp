// dorado-gen's client logic: up to millions of emulated DHCPv4 clients, each
// with the RFC 2131 state machine, driven by a caller-given clock. Plain C++
// over dorado's wire codec, no DPDK: the DPDK driver (main.cpp) feeds
// received frames to receive(), calls poll() in its loop and sends what
// appears in tx(); unit tests do the same with a fake clock.
//
// Ownership and threads: a Generator owns all its memory (a flat client
// array, a timer wheel, the TX frame ring), allocated in the constructor;
// receive() and poll() never allocate, throw or make syscalls. One thread
// at a time.
//
// Cost: receive() ~ parse_frame + parse_dhcp + one client lookup (the
// client index is chaddr - first MAC); sending a packet ~ copy of a prebuilt
// template, a few patched fields and the IPv4/UDP checksums.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gen/timer_wheel.hpp"
#include "runtime/histogram.hpp"
#include "wire/build.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace dorado::gen {

using wire::Ipv4;
using wire::MacAddr;

enum class Mode : std::uint8_t { dora, renew, mixed, storm };

// RFC 2131 figure 5 states, plus the two ends a load generator needs.
enum class State : std::uint8_t {
  idle,         // not started yet
  init,         // about to send DISCOVER
  selecting,    // DISCOVER sent, waiting for an OFFER
  requesting,   // REQUEST sent (for an OFFER), waiting for ACK/NAK
  bound,
  renewing,     // unicast REQUEST with ciaddr to the server
  rebinding,    // broadcast REQUEST with ciaddr
  init_reboot,  // about to send a REQUEST for the address it had
  rebooting,    // that REQUEST sent
  // DISCOVER gave up: the RFC 3927 claim of a 169.254/16 address.
  ll_probing,     // ARP probes for the candidate (tries = probes sent)
  ll_announcing,  // probed without conflict: ARP announcements, address in use
  link_local,     // address claimed; DISCOVERs again every link_local_retry_s
  done,         // declined or released its lease; no further traffic
  count_,
};
const char* state_name(State s) noexcept;
constexpr std::size_t kStates = static_cast<std::size_t>(State::count_);

// RFC 3927 2.1: client `mac48`'s link-local address for its `attempt`-th
// pick, 169.254.1.0-169.254.254.255. Attempt 0 depends on the MAC alone
// (a client picks the same address each time it falls back); a client
// picks again after a conflict with another attempt number.
Ipv4 link_local_address(std::uint64_t mac48, std::uint64_t attempt) noexcept;
constexpr Ipv4 kLinkLocalFirst = 0xa9fe0100u, kLinkLocalLast = 0xa9fefeffu;   // 169.254.1.0, .254.255

struct GenConfig {
  Mode mode = Mode::dora;
  std::uint32_t clients = 1000;
  double rate = 0;                  // new operations per second; 0 = as fast as possible
  double duration_s = 10;           // bound on the measured phase (and on the warm-up)
  std::uint32_t window = 256;       // rate 0: most operations in flight at once (not storm)
  Ipv4 giaddr = 0;                  // non-zero: relay mode
  Ipv4 server_ip = 0;               // relay destination (required in relay mode)
  std::uint16_t vlan = 0;           // 1..4095: one 802.1Q tag on every frame
  bool client_id = false;           // send option 61 (01 + MAC)
  // Non-empty: client i sends its name "PREFIX-i" (i in decimal) in every
  // DISCOVER and REQUEST: option 12 (hostname_prefix) and/or option 81
  // (fqdn_prefix: flags S=1 E=1, the name as one label in canonical wire
  // encoding, not fully qualified: the server adds its suffix). A prefix is
  // 1..54 letters, digits or '-' (the name fits one 63-byte label).
  std::string hostname_prefix;
  std::string fqdn_prefix;
  std::uint64_t first_mac = 0x020000000000ull;   // client i has MAC first_mac + i
  MacAddr port_mac{};               // the port's own MAC (relay mode source)
  bool release = false;             // release each lease as soon as it is bound
  double decline_ratio = 0;         // share of ACKs answered with DECLINE
  double renew_ratio = 0.5;         // mixed: share of operations that are renewals
  bool reboot = false;              // storm: clients hold leases, all INIT-REBOOT at once
  std::uint64_t seed = 1;
  // Retransmission (RFC 2131 4.1, as Windows/dhclient do it): wait
  // retransmit_s[k] +- jitter_s after the (k+1)-th try; max_tries tries.
  std::vector<double> retransmit_s{2, 4, 6, 16};
  double jitter_s = 1;
  std::uint32_t max_tries = 4;
  // Link-local fallback (RFC 3927) after a DISCOVER's last try: a client
  // DISCOVERs again every link_local_retry_s while it holds the address;
  // link_local_scale multiplies the RFC 3927 timers (PROBE_WAIT 1 s,
  // PROBE_MIN/MAX 1-2 s, ANNOUNCE_WAIT 2 s, ANNOUNCE_INTERVAL 2 s,
  // RATE_LIMIT_INTERVAL 60 s): below 1 for tests only.
  double link_local_retry_s = 300;
  double link_local_scale = 1;
};

// Returns an empty string or what is wrong with the config.
std::string validate(const GenConfig& c);

// One emulated client: 56 bytes, in one flat array.
struct Client {
  std::uint64_t op_start_us = 0;     // start of the operation (DORA, renewal, reboot); `secs`
  std::uint64_t phase_start_us = 0;  // first DISCOVER or REQUEST of the current exchange
  // When the lease was granted (T1/T2/expiry base). After a link-local
  // fallback, until the next lease: when the client DISCOVERs again.
  std::uint64_t bound_us = 0;
  std::uint32_t xid = 0;
  Ipv4 yiaddr = 0;                   // offered, then leased address
  Ipv4 server_id = 0;
  std::uint32_t lease_s = 0, t1_s = 0, t2_s = 0;
  // The link-local address claimed (LL-PROBING) or held (LL-ANNOUNCING,
  // LINK-LOCAL, and a DHCP try from there); 0 none.
  Ipv4 ll_addr = 0;
  State state = State::idle;
  std::uint8_t tries = 0;            // transmissions in the current exchange (or ARP probes/announcements)
  std::uint8_t op = 0;               // OpKind of the running operation, 0 none
  std::uint8_t ll_conflicts = 0;     // conflicts since the last address claimed (saturates)
};

static_assert(sizeof(Client) == 56);

enum OpKind : std::uint8_t { op_none = 0, op_dora = 1, op_renew = 2, op_reboot = 3 };

struct Counters {
  std::uint64_t tx_discover = 0, tx_request = 0, tx_renew = 0, tx_rebind = 0, tx_reboot = 0,
                tx_release = 0, tx_decline = 0, tx_arp_request = 0, tx_arp_reply = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t rx_offer = 0, rx_ack = 0, rx_nak = 0, rx_arp = 0;
  std::uint64_t rx_unparsable = 0;   // frames or DHCP messages the codec refused (drops)
  std::uint64_t rx_foreign = 0;      // chaddr not one of ours
  std::uint64_t rx_stale = 0;        // xid or state does not match (late duplicate)
  std::uint64_t rx_ignored = 0;      // other traffic (our own requests echoed, ...)
  std::uint64_t tx_ring_full = 0;    // sends deferred because the TX ring was full
  std::uint64_t offered = 0;         // operations started by the load
  std::uint64_t completed = 0;       // operations that ended bound
  std::uint64_t completed_dora = 0, completed_renew = 0, completed_reboot = 0;
  std::uint64_t naks = 0;
  std::uint64_t timeouts = 0;        // exchanges that used up their tries
  std::uint64_t link_local = 0;      // fallbacks to 169.254/16
  // RFC 3927: ARP probes and announcements sent, addresses claimed (first
  // announcement), conflicts (then a new pick), DISCOVERs started from
  // LINK-LOCAL, link-local addresses given up for a lease.
  std::uint64_t tx_arp_probe = 0, tx_arp_announce = 0;
  std::uint64_t ll_claimed = 0, ll_conflicts = 0, ll_dhcp_retries = 0, ll_released = 0;
  std::uint64_t lease_expired = 0;   // leases that ran out in REBINDING
  std::uint64_t declines = 0, releases = 0;
};

struct Histograms {
  runtime::LatencyHistogram discover_offer, request_ack, dora, renew, reboot, operation;
};

// Frames waiting for the driver. Fixed slots; the driver sends from
// front() and pop()s what the port took.
class TxRing {
 public:
  static constexpr std::size_t kSlot = 640;   // 2 tags + IPv4/UDP + 576 B DHCP fits
  explicit TxRing(std::size_t capacity_pow2);
  std::size_t size() const noexcept { return tail_ - head_; }
  std::size_t room() const noexcept { return data_.size() / kSlot - size(); }
  // The i-th waiting frame (0 = oldest).
  wire::Bytes frame(std::size_t i) const noexcept {
    const std::size_t s = (head_ + i) & mask_;
    return {data_.data() + s * kSlot, len_[s]};
  }
  void pop(std::size_t n) noexcept { head_ += n; }
  // A slot to write into, committed with commit(len); nullptr-size span when full.
  wire::MutableBytes reserve() noexcept {
    if (room() == 0) return {};
    return {data_.data() + (tail_ & mask_) * kSlot, kSlot};
  }
  void commit(std::size_t len) noexcept { len_[tail_ & mask_] = static_cast<std::uint16_t>(len); ++tail_; }

 private:
  std::vector<std::uint8_t> data_;
  std::vector<std::uint16_t> len_;
  std::size_t mask_;
  std::size_t head_ = 0, tail_ = 0;
};

// A DHCP request message prebuilt with the wire codec, patched per client.
struct Template {
  std::vector<std::uint8_t> payload;   // the BOOTP/DHCP message
  std::size_t opt50 = 0, opt54 = 0, opt61 = 0, opt82 = 0;   // value offsets; 0 = absent
  // Options 12 and 81 (the client's name), adjacent, right before 82: where
  // they start (0 = absent) and their length with the widest index. A
  // shorter index shifts what follows to the left and zero-pads the end.
  std::size_t names = 0, names_len = 0;
};

struct Report;

class Generator {
 public:
  Generator(const GenConfig& config, std::uint64_t now_us);

  // One received frame. Replies the state machine calls for go into tx().
  void receive(wire::Bytes frame, std::uint64_t now_us) noexcept;
  // Timers, then new operations as the mode, rate and TX room allow.
  void poll(std::uint64_t now_us) noexcept;
  TxRing& tx() noexcept { return tx_; }

  // True when the run is over: the measured phase started every operation
  // and none is in flight, or its duration ran out.
  bool finished(std::uint64_t now_us) const noexcept;
  bool measuring() const noexcept { return measuring_; }
  std::uint64_t in_flight() const noexcept { return in_flight_; }
  bool server_mac_known() const noexcept { return server_mac_known_; }

  const Counters& counters() const noexcept { return c_; }
  const Histograms& histograms() const noexcept { return h_; }
  const Counters& warmup_counters() const noexcept { return warmup_; }
  const Client& client(std::uint32_t i) const noexcept { return clients_[i]; }
  // Clients in each State (index: the State), and those holding a
  // link-local address (LL-ANNOUNCING, LINK-LOCAL, a DHCP try from there).
  const std::array<std::uint64_t, kStates>& state_counts() const noexcept { return states_; }
  std::uint64_t state_count(State s) const noexcept { return states_[static_cast<std::size_t>(s)]; }
  std::uint64_t ll_held() const noexcept { return ll_held_; }
  MacAddr client_mac(std::uint32_t i) const noexcept;
  const GenConfig& config() const noexcept { return cfg_; }
  // The moment the measured phase began and its last completion.
  std::uint64_t measure_start_us() const noexcept { return measure_start_us_; }
  std::uint64_t last_completion_us() const noexcept { return last_completion_us_; }
  std::uint64_t timer_deadline(std::uint32_t i) const noexcept {
    return wheel_.armed(i) ? wheel_.deadline(i) : 0;
  }

  // The summary as one JSON object (no newline).
  std::string json_report(std::uint64_t now_us) const;

 private:
  enum class Kind : std::uint8_t { discover, request_select, request_ciaddr, request_rebind,
                                   request_reboot, decline, release, count_ };
  void fire(std::uint32_t i, std::uint64_t now) noexcept;
  bool start_operation(std::uint32_t i, std::uint64_t now) noexcept;
  void start_dora(std::uint32_t i, std::uint64_t now) noexcept;
  void begin_exchange(std::uint32_t i, State s, std::uint64_t now) noexcept;
  void try_send(std::uint32_t i, std::uint64_t now) noexcept;
  bool send(std::uint32_t i, Kind k, std::uint64_t now) noexcept;
  void bind(std::uint32_t i, const wire::DhcpMessage& m, std::uint64_t now) noexcept;
  void end_operation(std::uint32_t i, bool ok, std::uint64_t now) noexcept;
  std::uint64_t retransmit_delay_us(std::uint32_t tries) noexcept;
  void handle_dhcp(const wire::DhcpMessage& m, const wire::Frame& f, std::uint64_t now) noexcept;
  void handle_arp(wire::Bytes frame, const wire::Frame& f, std::uint64_t now) noexcept;
  void send_arp_request() noexcept;
  bool send_arp(const MacAddr& sha, std::uint16_t op, Ipv4 spa, Ipv4 tpa) noexcept;
  void set_state(Client& c, State s) noexcept;
  void set_ll_addr(Client& c, Ipv4 a) noexcept;
  void fall_back(std::uint32_t i, std::uint64_t now) noexcept;
  void start_claim(std::uint32_t i, std::uint64_t now) noexcept;
  void ll_fire(std::uint32_t i, std::uint64_t now) noexcept;
  bool ll_loopback(std::uint32_t i, Ipv4 spa, Ipv4 tpa) noexcept;
  void ll_conflict(std::uint32_t i, std::uint64_t now) noexcept;
  bool ll_holds(const Client& c) const noexcept;
  std::uint64_t ll_us(double rfc_s) const noexcept;
  std::uint64_t ll_uniform_us(double lo_s, double hi_s) noexcept;
  std::uint32_t valid_owner(Ipv4 ip) const noexcept;
  void learn_address(Ipv4 ip, std::uint32_t i) noexcept;
  std::uint32_t lookup_address(Ipv4 ip) const noexcept;
  void start_measuring(std::uint64_t now) noexcept;
  void start_new_operations(std::uint64_t now) noexcept;
  std::uint64_t rand() noexcept;
  std::size_t write_names(std::uint8_t* out, std::uint32_t i) const noexcept;

  GenConfig cfg_;
  std::vector<Client> clients_;
  TimerWheel wheel_;
  TxRing tx_;
  std::array<Template, static_cast<std::size_t>(Kind::count_)> templates_;
  // Address -> client (ARP answers for bound clients); open addressing,
  // overwritten in place, validated on lookup.
  std::vector<Ipv4> addr_keys_;
  std::vector<std::uint32_t> addr_vals_;
  std::size_t addr_used_ = 0;
  std::array<std::uint64_t, kStates> states_{};
  std::uint64_t ll_held_ = 0;
  // Conflicts a client's ARP caused for another client while timers fire
  // (the wheel lets a callback re-arm only its own timer): (client,
  // address) pairs handled after the walk. Capacity fixed at construction.
  std::vector<std::pair<std::uint32_t, Ipv4>> pending_conflicts_;
  Counters c_{};
  Counters warmup_{};
  Histograms h_{};
  std::uint64_t rng_;
  std::uint64_t start_us_;
  std::uint64_t measure_start_us_ = 0;
  std::uint64_t last_completion_us_ = 0;
  std::uint64_t next_arp_us_ = 0;
  bool measuring_ = false;
  bool server_mac_known_ = false;
  MacAddr server_mac_{};
  std::uint32_t next_new_ = 0;      // next client never started
  std::uint32_t next_op_ = 0;       // measured phase: next client for renew/reboot
  std::uint64_t ops_started_ = 0;   // measured phase, for the rate
  std::uint64_t in_flight_ = 0;
  std::uint16_t ip_id_ = 0;
  wire::DhcpMessage msg_;           // parse scratch (3 KiB), reused per packet
};

}  // namespace dorado::gen
