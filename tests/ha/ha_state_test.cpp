// The HA state machine (ha/state.hpp): every transition of docs/ha.md
// "States", driven with a fake clock and observations.
#include "ha/state.hpp"

#include <gtest/gtest.h>

namespace dorado::ha {
namespace {

using engine::HaServe;

class Machine : public ::testing::Test {
 protected:
  void make(Mode mode, Role role, std::uint32_t max_unacked = 10) {
    m_ = std::make_unique<StateMachine>(MachineSettings{mode, role, 5000, max_unacked, 3600});
    now_ = 1000;
    o_ = {};
    step();
  }
  // Advances the clock and steps with the partner heard now (if connected).
  void step(std::uint64_t dt = 0) {
    now_ += dt;
    o_.now_ms = now_;
    if (o_.connected) o_.last_heard_ms = now_;
    m_->step(o_);
  }
  void connect(HaState partner) {
    o_.connected = true;
    o_.partner_state = partner;
    step();
  }
  void cut() { o_.connected = false; }
  std::unique_ptr<StateMachine> m_;
  Observation o_;
  std::uint64_t now_ = 0;
};

TEST_F(Machine, StartsWaitingAndSilent) {
  make(Mode::hot_standby, Role::primary);
  EXPECT_EQ(m_->state(), HaState::waiting);
  EXPECT_EQ(m_->serve(), HaServe::none);
  EXPECT_FALSE(m_->partner_ack_possible());
}

TEST_F(Machine, SyncsThenJoinsAReadyPartner) {
  make(Mode::hot_standby, Role::primary);
  connect(HaState::waiting);
  EXPECT_EQ(m_->state(), HaState::syncing);
  step(100);
  EXPECT_EQ(m_->state(), HaState::syncing);   // not synced yet
  o_.synced = true;
  step(100);
  EXPECT_EQ(m_->state(), HaState::ready);
  o_.partner_state = HaState::syncing;
  step(100);
  EXPECT_EQ(m_->state(), HaState::ready);     // the partner is not in sync yet
  o_.partner_state = HaState::ready;
  step(100);
  EXPECT_EQ(m_->state(), HaState::hot_standby);
  EXPECT_EQ(m_->serve(), HaServe::all);       // the primary answers everyone
  EXPECT_TRUE(m_->partner_ack_possible());
}

TEST_F(Machine, StandbyAnswersNobodyButWatches) {
  make(Mode::hot_standby, Role::standby);
  connect(HaState::hot_standby);
  o_.synced = true;
  step();
  step();
  EXPECT_EQ(m_->state(), HaState::hot_standby);
  EXPECT_EQ(m_->serve(), HaServe::buckets);   // with no bucket of its own: counts retrying clients
}

TEST_F(Machine, LoadBalancingServesBuckets) {
  make(Mode::load_balancing, Role::secondary);
  connect(HaState::ready);
  o_.synced = true;
  step();
  step();
  EXPECT_EQ(m_->state(), HaState::load_balancing);
  EXPECT_EQ(m_->serve(), HaServe::buckets);
}

TEST_F(Machine, NoPartnerAtStartGoesPartnerDownAfterTheDelay) {
  make(Mode::hot_standby, Role::standby);
  step(4999);
  EXPECT_EQ(m_->state(), HaState::waiting);
  step(1);
  EXPECT_EQ(m_->state(), HaState::partner_down);
  EXPECT_EQ(m_->serve(), HaServe::all);
  EXPECT_EQ(m_->epoch(), 1u);
  EXPECT_FALSE(m_->partner_blocks(now_));
  EXPECT_TRUE(m_->partner_blocks(now_ + 3600 * 1000));   // after the MCLT
}

TEST_F(Machine, StandbyGoesPartnerDownOnlyWithUnackedClients) {
  make(Mode::hot_standby, Role::standby);
  connect(HaState::hot_standby);
  o_.synced = true;
  step();
  step();
  ASSERT_EQ(m_->state(), HaState::hot_standby);
  cut();
  step(4000);
  EXPECT_FALSE(m_->unresponsive());
  step(1000);
  EXPECT_TRUE(m_->unresponsive());
  EXPECT_TRUE(m_->counting_unacked());
  EXPECT_EQ(m_->state(), HaState::hot_standby);
  o_.unacked_clients = 9;
  step(1000);
  EXPECT_EQ(m_->state(), HaState::hot_standby);
  EXPECT_FALSE(m_->partner_ack_possible());   // ACKs go on local durability meanwhile
  o_.unacked_clients = 10;
  step(1);
  EXPECT_EQ(m_->state(), HaState::partner_down);
}

TEST_F(Machine, PrimaryInHotStandbyStaysWithDefaultsAndGoesDownWithZero) {
  for (std::uint32_t max : {10u, 0u}) {
    make(Mode::hot_standby, Role::primary, max);
    connect(HaState::ready);
    o_.synced = true;
    step();
    step();
    ASSERT_EQ(m_->state(), HaState::hot_standby);
    cut();
    step(6000);
    o_.unacked_clients = 100;   // a primary never sees any; even so
    step(1000);
    EXPECT_EQ(m_->state(), max == 0 ? HaState::partner_down : HaState::hot_standby) << max;
  }
}

TEST_F(Machine, LoadBalancingRecoversCommunication) {
  make(Mode::load_balancing, Role::primary);
  connect(HaState::ready);
  o_.synced = true;
  step();
  step();
  ASSERT_EQ(m_->state(), HaState::load_balancing);
  cut();
  step(5000);
  EXPECT_EQ(m_->state(), HaState::communication_recovery);
  EXPECT_EQ(m_->serve(), HaServe::buckets);
  connect(HaState::load_balancing);
  EXPECT_EQ(m_->state(), HaState::load_balancing);
  cut();
  step(5000);
  o_.unacked_clients = 10;
  step(1);
  EXPECT_EQ(m_->state(), HaState::partner_down);
}

TEST_F(Machine, PartnerDownReturnsWhenThePartnerIsReady) {
  make(Mode::hot_standby, Role::standby);
  step(5000);
  ASSERT_EQ(m_->state(), HaState::partner_down);
  connect(HaState::syncing);
  EXPECT_EQ(m_->state(), HaState::partner_down);   // keeps serving while the partner syncs
  o_.partner_state = HaState::ready;
  step(10);
  // It started alone: it has not caught up the partner's journal yet (a
  // full transfer can take a minute): it keeps serving meanwhile.
  EXPECT_EQ(m_->state(), HaState::partner_down);
  o_.synced = true;
  step(10);
  EXPECT_EQ(m_->state(), HaState::hot_standby);
  EXPECT_EQ(m_->serve(), HaServe::buckets);
}

TEST_F(Machine, BothPartnerDownTheSecondaryResyncs) {
  for (Role role : {Role::primary, Role::secondary}) {
    make(Mode::load_balancing, role, 0);
    step(5000);
    ASSERT_EQ(m_->state(), HaState::partner_down);
    connect(HaState::partner_down);
    EXPECT_EQ(m_->state(), role == Role::primary ? HaState::partner_down : HaState::waiting);
  }
}

TEST_F(Machine, NormalServerSeeingPartnerDownResyncs) {
  make(Mode::hot_standby, Role::primary);
  connect(HaState::ready);
  o_.synced = true;
  step();
  step();
  ASSERT_EQ(m_->state(), HaState::hot_standby);
  o_.partner_state = HaState::partner_down;
  step(10);
  EXPECT_EQ(m_->state(), HaState::waiting);
  EXPECT_EQ(m_->serve(), HaServe::none);
}

TEST_F(Machine, LinkLossWhileSyncingGoesBackToWaiting) {
  make(Mode::hot_standby, Role::standby);
  connect(HaState::hot_standby);
  ASSERT_EQ(m_->state(), HaState::syncing);
  cut();
  step(10);
  EXPECT_EQ(m_->state(), HaState::waiting);
}

TEST_F(Machine, Maintenance) {
  make(Mode::load_balancing, Role::primary);
  EXPECT_FALSE(m_->maintenance_start(now_).empty());   // not in a normal state
  connect(HaState::ready);
  o_.synced = true;
  step();
  step();
  ASSERT_EQ(m_->state(), HaState::load_balancing);
  EXPECT_EQ(m_->maintenance_start(now_), "");
  EXPECT_EQ(m_->state(), HaState::partner_in_maintenance);
  EXPECT_EQ(m_->serve(), HaServe::all);
  o_.partner_state = HaState::in_maintenance;
  step(10);
  EXPECT_EQ(m_->state(), HaState::partner_in_maintenance);
  o_.partner_state = HaState::ready;   // the partner came back and synced
  step(10);
  EXPECT_EQ(m_->state(), HaState::load_balancing);

  // The other side of it.
  make(Mode::load_balancing, Role::secondary);
  m_->partner_maintenance(true, now_);
  EXPECT_EQ(m_->state(), HaState::in_maintenance);
  EXPECT_EQ(m_->serve(), HaServe::none);
  m_->partner_maintenance(false, now_);
  EXPECT_EQ(m_->state(), HaState::waiting);
}

TEST_F(Machine, TransitionsAreLoggedWithReasons) {
  make(Mode::hot_standby, Role::standby);
  step(5000);
  ASSERT_FALSE(m_->transitions().empty());
  EXPECT_EQ(m_->transitions().back().from, HaState::waiting);
  EXPECT_EQ(m_->transitions().back().to, HaState::partner_down);
  EXPECT_NE(m_->transitions().back().why.find("not heard"), std::string::npos);
}

}  // namespace
}  // namespace dorado::ha
