#include "daemon/notify.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#ifdef DORADO_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace dorado::daemon::notify {
namespace {

#ifdef DORADO_HAVE_SYSTEMD
void send(const std::string& state) {
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) std::fprintf(stderr, "dorado: sd_notify: error %d\n", -rc);
}
#endif

Notifier& process_notifier() {
  static Notifier n;
  return n;
}

}  // namespace

bool built_with_systemd() {
#ifdef DORADO_HAVE_SYSTEMD
  return true;
#else
  return false;
#endif
}

Notifier::Notifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return;
#ifdef DORADO_HAVE_SYSTEMD
  enabled_ = true;
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
#endif
}

void Notifier::ready(const std::string& status) {
#ifdef DORADO_HAVE_SYSTEMD
  if (enabled_) send("READY=1\nSTATUS=" + status);
#else
  (void)status;
  if (!warned_ && std::getenv("NOTIFY_SOCKET") != nullptr) {
    warned_ = true;
    std::fprintf(stderr,
                 "dorado: NOTIFY_SOCKET is set but this dorado was built without libsystemd: "
                 "no READY=1 is sent (use Type=simple, or build with libsystemd-dev)\n");
  }
#endif
}

bool Notifier::watchdog(std::uint64_t now_us) {
  if (watchdog_usec_ == 0) return false;
  if (pinged_ && now_us - last_ping_us_ < watchdog_usec_ / 2) return false;
  pinged_ = true;
  last_ping_us_ = now_us;
#ifdef DORADO_HAVE_SYSTEMD
  send("WATCHDOG=1");
#endif
  return true;
}

void Notifier::stopping() {
#ifdef DORADO_HAVE_SYSTEMD
  if (enabled_) send("STOPPING=1\nSTATUS=stopping");
#endif
}

void ready(const std::string& status) { process_notifier().ready(status); }

void watchdog() {
  Notifier& n = process_notifier();
  if (n.watchdog_usec() == 0) return;
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  n.watchdog(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

void stopping() { process_notifier().stopping(); }

}  // namespace dorado::daemon::notify
