#include "ha/state.hpp"

#include <utility>

namespace dorado::ha {
namespace {

bool is_normal(HaState s) noexcept { return s == HaState::hot_standby || s == HaState::load_balancing; }

// The partner is up and in sync or serving: a ready server may join it.
bool partner_joinable(HaState s) noexcept {
  return s == HaState::ready || is_normal(s) || s == HaState::communication_recovery;
}

}  // namespace

StateMachine::StateMachine(const MachineSettings& settings, std::uint64_t epoch)
    : settings_(settings), epoch_(epoch) {}

void StateMachine::go(HaState to, std::uint64_t now_ms, std::string why) {
  if (to == state_) return;
  if (to == HaState::partner_down) ++epoch_;
  log_.push_back({now_ms, state_, to, std::move(why)});
  state_ = to;
  since_ms_ = now_ms;
}

bool StateMachine::step(const Observation& o) {
  if (!started_) {
    started_ = true;
    started_ms_ = since_ms_ = o.now_ms;
  }
  const HaState before = state_;
  const std::uint64_t silent_ms = o.last_heard_ms != 0 ? o.now_ms - o.last_heard_ms : o.now_ms - started_ms_;
  unresponsive_ = silent_ms >= settings_.max_response_delay_ms;
  const bool live = o.connected && !unresponsive_;
  const bool may_go_down = settings_.max_unacked_clients == 0 ||
                           (!answers_everyone_normally() && o.unacked_clients >= settings_.max_unacked_clients);
  const std::string unacked_why =
      settings_.max_unacked_clients == 0
          ? "partner unresponsive, max_unacked_clients = 0"
          : "partner unresponsive and " + std::to_string(o.unacked_clients) + " clients unanswered";

  switch (state_) {
    case HaState::waiting:
      if (live) go(HaState::syncing, o.now_ms, "partner connected: catching up its journal");
      else if (unresponsive_) go(HaState::partner_down, o.now_ms, "partner not heard since start");
      break;
    case HaState::syncing:
      if (!o.connected) go(HaState::waiting, o.now_ms, "link lost while syncing");
      else if (o.synced) go(HaState::ready, o.now_ms, "in sync with the partner");
      break;
    case HaState::ready:
      if (!o.connected) go(HaState::waiting, o.now_ms, "link lost while ready");
      else if (live && partner_joinable(o.partner_state))
        go(normal_state(), o.now_ms, std::string("partner is ") + ha_state_name(o.partner_state));
      break;
    case HaState::hot_standby:
    case HaState::load_balancing:
      if (live) {
        if (o.partner_state == HaState::partner_down)
          go(HaState::waiting, o.now_ms, "partner is in partner-down: resync from it");
        else if (o.partner_state == HaState::in_maintenance)
          go(HaState::partner_in_maintenance, o.now_ms, "partner is in maintenance");
      } else if (unresponsive_) {
        if (may_go_down) go(HaState::partner_down, o.now_ms, unacked_why);
        else if (settings_.mode == Mode::load_balancing)
          go(HaState::communication_recovery, o.now_ms, "partner unresponsive: queueing its updates");
      }
      break;
    case HaState::communication_recovery:
      if (live) go(HaState::load_balancing, o.now_ms, "partner responsive again: replaying queued updates");
      else if (unresponsive_ && may_go_down) go(HaState::partner_down, o.now_ms, unacked_why);
      break;
    case HaState::partner_down:
      if (live) {
        // Back to normal once the partner is in sync with us and we with
        // it: a server that went partner-down without ever being in sync
        // (started alone) must first get the partner's leases.
        if (o.partner_state == HaState::ready && o.synced)
          go(normal_state(), o.now_ms, "partner is back and in sync");
        else if (o.partner_state == HaState::partner_down && settings_.role != Role::primary)
          go(HaState::waiting, o.now_ms, "both servers in partner-down: the primary serves, this one resyncs");
      }
      break;
    case HaState::partner_in_maintenance:
      if (live && partner_joinable(o.partner_state) && o.partner_state != HaState::communication_recovery)
        go(normal_state(), o.now_ms, "partner left maintenance");
      else if (unresponsive_)
        go(HaState::partner_down, o.now_ms, "partner in maintenance went away");
      break;
    case HaState::in_maintenance:
    case HaState::terminated:
      break;
  }
  return state_ != before;
}

engine::HaServe StateMachine::serve() const noexcept {
  switch (state_) {
    case HaState::hot_standby:
      return settings_.role == Role::primary ? engine::HaServe::all : engine::HaServe::buckets;
    case HaState::load_balancing:
    case HaState::communication_recovery: return engine::HaServe::buckets;
    case HaState::partner_down:
    case HaState::partner_in_maintenance: return engine::HaServe::all;
    default: return engine::HaServe::none;
  }
}

bool StateMachine::partner_ack_possible() const noexcept { return is_normal(state_) && !unresponsive_; }

bool StateMachine::partner_blocks(std::uint64_t now_ms) const noexcept {
  return state_ == HaState::partner_down && now_ms - since_ms_ >= std::uint64_t{settings_.mclt_s} * 1000;
}

std::string StateMachine::maintenance_start(std::uint64_t now_ms) {
  if (!is_normal(state_) && state_ != HaState::communication_recovery)
    return std::string("cannot start maintenance in state ") + ha_state_name(state_);
  go(HaState::partner_in_maintenance, now_ms, "ha-maintenance-start");
  return {};
}

std::string StateMachine::maintenance_cancel(std::uint64_t now_ms) {
  if (state_ == HaState::in_maintenance) {
    go(HaState::waiting, now_ms, "ha-maintenance-cancel: resync");
    return {};
  }
  if (state_ == HaState::partner_in_maintenance) return {};   // the partner's state brings us back
  return std::string("not in maintenance (state ") + ha_state_name(state_) + ")";
}

void StateMachine::partner_maintenance(bool on, std::uint64_t now_ms) {
  if (on && state_ != HaState::in_maintenance)
    go(HaState::in_maintenance, now_ms, "partner started maintenance");
  else if (!on && state_ == HaState::in_maintenance)
    go(HaState::waiting, now_ms, "partner cancelled maintenance: resync");
}

void StateMachine::resync(std::uint64_t now_ms) { go(HaState::waiting, now_ms, "ha-sync: resync from the partner"); }

}  // namespace dorado::ha
