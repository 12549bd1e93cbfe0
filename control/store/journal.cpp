#include "store/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "store/format.hpp"

namespace dorado::store {
namespace {

IoResult failed(const char* op) noexcept { return IoResult{errno != 0 ? errno : EIO, op}; }

}  // namespace

std::string io_text(const IoResult& r, const std::string& file) {
  return std::string(r.op) + " " + file + ": " + std::strerror(r.err);
}

IoResult write_all(int fd, std::span<const std::uint8_t> bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failed("write");
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// ---- segment ---------------------------------------------------------------------

SegmentFile::SegmentFile(int fd, std::uint64_t first_seq, std::string name)
    : fd_(fd), first_seq_(first_seq), name_(std::move(name)) {}

SegmentFile::~SegmentFile() { ::close(fd_); }

SegmentFile::Created SegmentFile::create(int dir_fd, std::uint64_t first_seq, std::uint64_t created_unix) {
  Created c;
  const std::string name = segment_name(first_seq).data();
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    c.result = failed("create");
    return c;
  }
  std::unique_ptr<SegmentFile> f(new SegmentFile(fd, first_seq, name));
  const auto header = encode_file_header({FileKind::segment, first_seq, created_unix});
  IoResult r = f->write_at(0, header);
  if (r.ok()) r = f->sync();
  if (r.ok()) r = fsync_dir(dir_fd);
  if (!r.ok()) {
    f.reset();
    ::unlinkat(dir_fd, name.c_str(), 0);
    c.result = r;
    return c;
  }
  c.file = std::move(f);
  return c;
}

IoResult SegmentFile::write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failed("write");
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

IoResult SegmentFile::sync() noexcept {
  if (::fdatasync(fd_) != 0) return failed("fdatasync");
  return {};
}

IoResult SegmentFile::truncate(std::uint64_t size) noexcept {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return failed("truncate");
  return sync();
}

// ---- directory ---------------------------------------------------------------------

DirListing list_store_dir(int dir_fd) {
  DirListing l;
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    l.result = failed("list");
    return l;
  }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    l.result = failed("list");
    ::close(fd);
    return l;
  }
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) l.result = failed("list");
      break;
    }
    const std::string_view name(e->d_name);
    if (const ParsedName p = parse_segment_name(e->d_name); p.ok) {
      l.segments.push_back({p.seq, std::string(name)});
    } else if (const ParsedName q = parse_snapshot_name(e->d_name); q.ok) {
      l.snapshots.push_back({q.seq, std::string(name)});
    } else if (name.size() > 4 && name.ends_with(".tmp") &&
               parse_snapshot_name(std::string(name.substr(0, name.size() - 4)).c_str()).ok) {
      l.temporaries.emplace_back(name);
    }
  }
  ::closedir(d);
  const auto by_seq = [](const StoreFile& a, const StoreFile& b) { return a.seq < b.seq; };
  std::sort(l.segments.begin(), l.segments.end(), by_seq);
  std::sort(l.snapshots.begin(), l.snapshots.end(), by_seq);
  return l;
}

MappedFile::Opened MappedFile::open(int dir_fd, const std::string& name) {
  Opened o;
  const int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    o.result = failed("open");
    return o;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    o.result = failed("stat");
    ::close(fd);
    return o;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::uint8_t* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      o.result = failed("mmap");
      ::close(fd);
      return o;
    }
    ::madvise(p, size, MADV_SEQUENTIAL);
    data = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);   // the mapping stays valid
  o.file.reset(new MappedFile(data, size));
  return o;
}

MappedFile::~MappedFile() {
  if (size_ > 0) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

IoResult fsync_dir(int dir_fd) noexcept {
  if (::fsync(dir_fd) != 0) return failed("fsync directory");
  return {};
}

IoResult remove_file(int dir_fd, const std::string& name) noexcept {
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) return failed("remove");
  return {};
}

IoResult write_new_file(int dir_fd, const std::string& name, std::span<const std::uint8_t> bytes) noexcept {
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failed("create");
  IoResult r = write_all(fd, bytes);
  if (r.ok() && ::fdatasync(fd) != 0) r = failed("fdatasync");
  ::close(fd);
  return r;
}

IoResult truncate_file(int dir_fd, const std::string& name, std::uint64_t size) noexcept {
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return failed("open");
  IoResult r;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    r = failed("truncate");
  else if (::fdatasync(fd) != 0)
    r = failed("fdatasync");
  ::close(fd);
  return r;
}

}  // namespace dorado::store
