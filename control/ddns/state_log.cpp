#include "ddns/state_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/crc32c.hpp"

namespace dorado::ddns {
namespace {

constexpr std::size_t kHeader = 8;
constexpr std::size_t kFixedBody = 7;   // address, flags, fqdn_len, dhcid_len
constexpr std::uint8_t kTypeRegistered = 1;
constexpr std::uint8_t kTypeErased = 2;
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxFqdn = 253;
constexpr std::size_t kMaxDhcid = 64;
constexpr const char* kFileName = "ddns-state";
constexpr std::uint64_t kMinRewriteBytes = 1u << 20;

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

std::size_t encode_state_record(wire::Ipv4 address, const Registered& r, std::vector<std::uint8_t>& out) {
  const bool erased = r.flags == 0;
  const std::size_t f = erased ? 0 : std::min(r.fqdn.size(), kMaxFqdn);
  const std::size_t d = erased ? 0 : std::min(r.dhcid.size(), kMaxDhcid);
  const std::size_t body = kFixedBody + f + d;
  const std::size_t at = out.size();
  out.resize(at + kHeader + body);
  std::uint8_t* p = out.data() + at;
  put16(p + 4, static_cast<std::uint16_t>(body));
  p[6] = erased ? kTypeErased : kTypeRegistered;
  p[7] = kVersion;
  put32(p + 8, address);
  p[12] = erased ? 0 : static_cast<std::uint8_t>(r.flags & (kRegisteredForward | kRegisteredReverse));
  p[13] = static_cast<std::uint8_t>(f);
  p[14] = static_cast<std::uint8_t>(d);
  if (f) std::memcpy(p + 15, r.fqdn.data(), f);
  if (d) std::memcpy(p + 15 + f, r.dhcid.data(), d);
  put32(p, store::crc32c({p + 4, kHeader - 4 + body}));
  return kHeader + body;
}

DecodedStateRecord decode_state_record(std::span<const std::uint8_t> b) {
  DecodedStateRecord d;
  if (b.empty()) return d;   // end
  d.status = StateRecordStatus::torn;
  if (b.size() < kHeader) return d;
  const std::size_t body = get16(b.data() + 4);
  if (b.size() < kHeader + body) {
    // All zeros from here: a file system's zero-filled tail, torn as well.
    return d;
  }
  d.status = StateRecordStatus::corrupt;
  if (store::crc32c(b.subspan(4, kHeader - 4 + body)) != get32(b.data())) {
    bool zero_tail = true;
    for (std::size_t i = 0; i < kHeader + body && zero_tail; ++i) zero_tail = b[i] == 0;
    if (zero_tail) d.status = StateRecordStatus::torn;
    return d;
  }
  const std::uint8_t type = b[6];
  if ((type != kTypeRegistered && type != kTypeErased) || b[7] != kVersion || body < kFixedBody) return d;
  const std::uint8_t* p = b.data() + kHeader;
  const std::size_t f = p[5], n = p[6];
  if (f > kMaxFqdn || n > kMaxDhcid || kFixedBody + f + n != body) return d;
  const std::uint8_t flags = p[4];
  if (type == kTypeErased ? (flags != 0 || f != 0 || n != 0)
                          : (flags == 0 || (flags & ~(kRegisteredForward | kRegisteredReverse)) != 0))
    return d;
  d.address = get32(p);
  d.registered.flags = flags;
  d.registered.fqdn.assign(reinterpret_cast<const char*>(p + kFixedBody), f);
  d.registered.dhcid.assign(p + kFixedBody + f, p + kFixedBody + f + n);
  d.size = kHeader + body;
  d.status = StateRecordStatus::ok;
  return d;
}

StateLog::Opened StateLog::open(const std::string& dir) {
  Opened o;
  std::unique_ptr<StateLog> log(new StateLog());
  log->path_ = dir + "/" + kFileName;
  log->fd_ = ::open(log->path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (log->fd_ < 0) {
    o.error = errno_text(log->path_);
    return o;
  }
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[65536];
  while (true) {
    const ssize_t n = ::read(log->fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      o.error = errno_text(log->path_);
      return o;
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  std::size_t off = 0;
  while (true) {
    const DecodedStateRecord d = decode_state_record({bytes.data() + off, bytes.size() - off});
    if (d.status != StateRecordStatus::ok) break;
    if (d.registered.flags == 0)
      o.entries.erase(d.address);
    else
      o.entries[d.address] = d.registered;
    off += d.size;
    ++o.records;
  }
  if (off != bytes.size()) {
    o.truncated = true;
    if (::ftruncate(log->fd_, static_cast<off_t>(off)) != 0 || ::fdatasync(log->fd_) != 0) {
      o.error = errno_text(log->path_);
      return o;
    }
  }
  if (::lseek(log->fd_, static_cast<off_t>(off), SEEK_SET) < 0) {
    o.error = errno_text(log->path_);
    return o;
  }
  log->file_bytes_ = off;
  o.log = std::move(log);
  return o;
}

StateLog::~StateLog() {
  if (fd_ >= 0) ::close(fd_);
}

void StateLog::put(wire::Ipv4 address, const Registered& r) { encode_state_record(address, r, pending_); }

std::string StateLog::sync(const RegisteredMap& live) {
  if (pending_.empty()) return {};
  // Rewrite when the file would hold more than twice the live entries.
  std::uint64_t live_bytes = 0;
  for (const auto& [a, r] : live) live_bytes += kHeader + kFixedBody + r.fqdn.size() + r.dhcid.size();
  if (file_bytes_ + pending_.size() > std::max<std::uint64_t>(kMinRewriteBytes, 2 * live_bytes)) {
    std::vector<std::uint8_t> all;
    all.reserve(live_bytes);
    for (const auto& [a, r] : live) encode_state_record(a, r, all);
    const std::string tmp = path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return errno_text(tmp);
    if (!write_all(fd, all.data(), all.size()) || ::fdatasync(fd) != 0) {
      const std::string e = errno_text(tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      const std::string e = errno_text(path_);
      ::close(fd);
      return e;
    }
    ::close(fd_);
    fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    ::close(fd);
    if (fd_ < 0) return errno_text(path_);
    ::lseek(fd_, 0, SEEK_END);
    file_bytes_ = all.size();
    pending_.clear();
    return {};
  }
  if (!write_all(fd_, pending_.data(), pending_.size()) || ::fdatasync(fd_) != 0) {
    // Keep the records: the next sync writes them again from where the file
    // ends now (a partial write is cut off at the next open at worst).
    const std::string e = errno_text(path_);
    ::ftruncate(fd_, static_cast<off_t>(file_bytes_));
    ::lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET);
    return e;
  }
  file_bytes_ += pending_.size();
  pending_.clear();
  return {};
}

}  // namespace dorado::ddns
