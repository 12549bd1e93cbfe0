// systemd service notifications (sd_notify(3)) for the Type=notify unit
// (packaging/dorado.service, docs/operations.md "Running as a service"):
// READY=1 once dorado serves, WATCHDOG=1 from the control loop at half of
// WATCHDOG_USEC (the unit's WatchdogSec=), STOPPING=1 when it stops.
//
// Built with libsystemd when CMake finds it (DORADO_HAVE_SYSTEMD). Without
// it, or when dorado was not started by systemd (no NOTIFY_SOCKET), every
// call does nothing; a build without libsystemd that is started with
// NOTIFY_SOCKET set says so once on stderr, since its unit would wait for a
// READY=1 that never comes.
//
// Threads: the control (main) thread only.
#pragma once

#include <cstdint>
#include <string>

namespace dorado::daemon::notify {

// True when this binary was built with libsystemd.
bool built_with_systemd();

class Notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (sd_watchdog_enabled:
  // a WATCHDOG_PID other than this process's turns the watchdog off).
  Notifier();

  // systemd listens: built with libsystemd and NOTIFY_SOCKET is set.
  bool enabled() const { return enabled_; }
  // The watchdog interval systemd asked for, 0 when none.
  std::uint64_t watchdog_usec() const { return watchdog_usec_; }

  // "READY=1" and "STATUS=<status>".
  void ready(const std::string& status);
  // "WATCHDOG=1" when none was sent yet or half of watchdog_usec() has
  // passed since the last one (now_us: a monotonic clock). Cheap otherwise:
  // one comparison per call. Returns whether it sent one.
  bool watchdog(std::uint64_t now_us);
  // "STOPPING=1" and "STATUS=stopping".
  void stopping();

 private:
  bool enabled_ = false;
  [[maybe_unused]] bool warned_ = false;   // used without libsystemd
  std::uint64_t watchdog_usec_ = 0;
  bool pinged_ = false;
  std::uint64_t last_ping_us_ = 0;
};

// The process's notifier (created on first use), for control/daemon/serve.cpp.
void ready(const std::string& status);
void watchdog();   // the monotonic clock's now
void stopping();

}  // namespace dorado::daemon::notify
