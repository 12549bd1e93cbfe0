// The HA state machine of one server of a pair (docs/ha.md "States"): pure
// logic over what the control thread observes (the link, the partner's
// heartbeats, clients seen retrying for the partner, the sync), no I/O and
// no clock of its own, so every transition is unit-tested
// (tests/ha/ha_state_test.cpp).
//
// States (Kea's names):
//   waiting        just started, or the link came back after a partner-down
//                  of the partner: answers nobody; leaves for syncing once
//                  the partner is heard, or for partner-down when nothing is
//                  heard for max_response_delay_ms (the partner is gone).
//   syncing        pulling the partner's journal tail (or a full transfer):
//                  answers nobody; ready once caught up, waiting if the link
//                  drops.
//   ready          in sync; waits for the partner to be ready or serving.
//   hot-standby / load-balancing   normal operation. With the link lost for
//                  max_response_delay_ms ("unresponsive"):
//                    load-balancing -> communication-recovery;
//                    hot-standby: stays (the primary keeps answering
//                    everyone, the standby nobody), updates queue up;
//                  then partner-down once max_unacked_clients distinct
//                  clients of the partner were seen retrying (secs above
//                  max_ack_delay_ms), or at once when max_unacked_clients
//                  is 0. A hot-standby primary answers every client, so it
//                  sees no one retrying: it goes partner-down only with 0.
//   communication-recovery   load balancing with the link down: own
//                  buckets answered, updates queued for the partner; back to
//                  load-balancing when the link returns (the queue is
//                  replayed), partner-down as above.
//   partner-down   answers every client; allocates in its own blocks, and
//                  in the partner's too once it has been in partner-down
//                  for mclt seconds. Each entry takes a new epoch. Back to
//                  the normal state when the partner reports ready and this
//                  server has caught up the partner's journal; if both
//                  went partner-down (a partition), the secondary/standby
//                  steps back to waiting and resyncs while the primary serves.
//   in-maintenance / partner-in-maintenance   ha-maintenance-start: the
//                  server it was sent to answers nobody, its partner
//                  everyone (partner-down's service without its
//                  allocation); ha-maintenance-cancel returns both.
//
// Threads: control thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ha.hpp"
#include "ha/protocol.hpp"

namespace dorado::ha {

enum class Mode : std::uint8_t { hot_standby, load_balancing };
enum class Role : std::uint8_t { primary, secondary, standby };

struct MachineSettings {
  Mode mode = Mode::hot_standby;
  Role role = Role::primary;
  std::uint32_t max_response_delay_ms = 5000;
  std::uint32_t max_unacked_clients = 10;
  std::uint32_t mclt_s = 3600;
};

// What the control thread saw since the last step().
struct Observation {
  std::uint64_t now_ms = 0;                 // monotonic
  bool connected = false;                   // the link is open and the partner said hello
  std::uint64_t last_heard_ms = 0;          // last message from the partner (monotonic); 0 never
  HaState partner_state = HaState::waiting; // from its last hello/heartbeat (valid when heard)
  bool synced = false;                      // syncing: caught up to the partner's last seq
  std::uint32_t unacked_clients = 0;        // distinct partner clients seen retrying while unresponsive
};

class StateMachine {
 public:
  explicit StateMachine(const MachineSettings& settings, std::uint64_t epoch = 0);

  // Advances with what was observed; returns true when the state changed
  // (transitions() says from what, to what and why).
  bool step(const Observation& o);

  HaState state() const noexcept { return state_; }
  std::uint64_t epoch() const noexcept { return epoch_; }
  std::uint64_t state_since_ms() const noexcept { return since_ms_; }
  // Whether the partner is unresponsive (nothing heard for max_response_delay_ms).
  bool unresponsive() const noexcept { return unresponsive_; }

  // What the shards answer in the current state.
  engine::HaServe serve() const noexcept;
  // Whether ACKs wait for the partner's acknowledgement (ack = "partner"):
  // only in a normal state with the partner responsive.
  bool partner_ack_possible() const noexcept;
  // partner-down for at least mclt seconds: allocate in the partner's blocks.
  bool partner_blocks(std::uint64_t now_ms) const noexcept;
  // Whether the server should count clients retrying for the partner.
  bool counting_unacked() const noexcept { return unresponsive_; }

  // Control API.
  std::string maintenance_start(std::uint64_t now_ms);    // empty, or why not
  std::string maintenance_cancel(std::uint64_t now_ms);
  void partner_maintenance(bool on, std::uint64_t now_ms);  // the partner starts/ends maintenance
  void resync(std::uint64_t now_ms);   // ha-sync: back to waiting, then a sync from the partner

  struct Transition {
    std::uint64_t at_ms;
    HaState from, to;
    std::string why;
  };
  // The transitions so far (the caller logs and clears them).
  std::vector<Transition>& transitions() noexcept { return log_; }

 private:
  void go(HaState to, std::uint64_t now_ms, std::string why);
  HaState normal_state() const noexcept {
    return settings_.mode == Mode::hot_standby ? HaState::hot_standby : HaState::load_balancing;
  }
  bool answers_everyone_normally() const noexcept {
    return settings_.mode == Mode::hot_standby && settings_.role == Role::primary;
  }

  MachineSettings settings_;
  HaState state_ = HaState::waiting;
  std::uint64_t epoch_ = 0;
  std::uint64_t since_ms_ = 0;
  std::uint64_t started_ms_ = 0;
  bool started_ = false;
  bool unresponsive_ = false;
  std::vector<Transition> log_;
};

}  // namespace dorado::ha
