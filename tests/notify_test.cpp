// control/daemon/notify: the sd_notify messages dorado sends under systemd
// (READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1), read from a
// datagram socket standing in for systemd's NOTIFY_SOCKET.
#include "daemon/notify.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using dorado::daemon::notify::built_with_systemd;
using dorado::daemon::notify::Notifier;

// A bound AF_UNIX datagram socket; NOTIFY_SOCKET points at it while it lives.
class FakeSystemd {
 public:
  FakeSystemd() {
    path_ = "/tmp/dorado-notify-test-" + std::to_string(getpid()) + ".sock";
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeSystemd() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    unlink(path_.c_str());
  }
  // Every message that arrived (waits up to 200 ms for the first).
  std::vector<std::string> messages() {
    std::vector<std::string> out;
    int wait_ms = 200;
    pollfd p{fd_, POLLIN, 0};
    while (poll(&p, 1, wait_ms) == 1) {
      char buf[512];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.emplace_back(buf, static_cast<std::size_t>(n));
      wait_ms = 0;
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(NotifyTest, WithoutNotifySocketEverythingIsANoOp) {
  setenv("WATCHDOG_USEC", "1000000", 1);
  Notifier n;
  EXPECT_FALSE(n.enabled());
  EXPECT_EQ(n.watchdog_usec(), 0u);
  n.ready("serving");
  EXPECT_FALSE(n.watchdog(0));
  n.stopping();
}

TEST_F(NotifyTest, ReadyAndStopping) {
  FakeSystemd systemd;
  Notifier n;
  if (!built_with_systemd()) {
    EXPECT_FALSE(n.enabled());
    n.ready("serving");
    EXPECT_TRUE(systemd.messages().empty());
    GTEST_SKIP() << "built without libsystemd: nothing is sent";
  }
  EXPECT_TRUE(n.enabled());
  EXPECT_EQ(n.watchdog_usec(), 0u);   // no WATCHDOG_USEC: no watchdog
  n.ready("serving with 2 worker(s), server address 10.99.0.1");
  EXPECT_FALSE(n.watchdog(0));
  n.stopping();
  const std::vector<std::string> m = systemd.messages();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], "READY=1\nSTATUS=serving with 2 worker(s), server address 10.99.0.1");
  EXPECT_EQ(m[1], "STOPPING=1\nSTATUS=stopping");
}

TEST_F(NotifyTest, WatchdogAtHalfTheInterval) {
  if (!built_with_systemd()) GTEST_SKIP() << "built without libsystemd";
  FakeSystemd systemd;
  setenv("WATCHDOG_USEC", "1000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  Notifier n;
  ASSERT_EQ(n.watchdog_usec(), 1'000'000u);
  EXPECT_TRUE(n.watchdog(5'000'000));    // the first call sends
  EXPECT_FALSE(n.watchdog(5'000'001));   // one per loop iteration: no flood
  EXPECT_FALSE(n.watchdog(5'499'999));
  EXPECT_TRUE(n.watchdog(5'500'000));    // half of WATCHDOG_USEC later
  EXPECT_FALSE(n.watchdog(5'900'000));
  EXPECT_TRUE(n.watchdog(7'000'000));
  const std::vector<std::string> m = systemd.messages();
  EXPECT_EQ(m, (std::vector<std::string>{"WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"}));
}

TEST_F(NotifyTest, WatchdogForAnotherProcessIsOff) {
  if (!built_with_systemd()) GTEST_SKIP() << "built without libsystemd";
  FakeSystemd systemd;
  setenv("WATCHDOG_USEC", "1000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  Notifier n;
  EXPECT_EQ(n.watchdog_usec(), 0u);
  EXPECT_FALSE(n.watchdog(0));
  EXPECT_TRUE(systemd.messages().empty());
}

}  // namespace
