#include "store/snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "store/crc32c.hpp"

namespace dorado::store {
namespace {

constexpr std::size_t kEncodeChunk = 65536;   // entries per buffer in write_snapshot

IoResult failed(const char* op) noexcept { return IoResult{errno != 0 ? errno : EIO, op}; }

}  // namespace

// ---- writer --------------------------------------------------------------------

SnapshotWriter::Opened SnapshotWriter::begin(int dir_fd, std::uint64_t seq, std::uint64_t created_unix) {
  Opened o;
  std::string name = snapshot_name(seq).data();
  const std::string tmp = name + ".tmp";
  const int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    o.result = failed("create");
    return o;
  }
  std::unique_ptr<SnapshotWriter> w(new SnapshotWriter(dir_fd, fd, std::move(name)));
  o.result = w->write(encode_file_header({FileKind::snapshot, seq, created_unix}));
  if (o.result.ok()) o.writer = std::move(w);
  return o;
}

SnapshotWriter::~SnapshotWriter() { abandon(); }

void SnapshotWriter::abandon() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlinkat(dir_fd_, (name_ + ".tmp").c_str(), 0);
}

IoResult SnapshotWriter::write(std::span<const std::uint8_t> records) noexcept {
  return write_all(fd_, records);
}

IoResult SnapshotWriter::finish(const SnapshotTrailer& trailer) noexcept {
  IoResult r = write(encode_snapshot_trailer(trailer));
  if (r.ok() && ::fdatasync(fd_) != 0) r = failed("fdatasync");
  if (!r.ok()) {
    abandon();
    return r;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) r = failed("close");
  const std::string tmp = name_ + ".tmp";
  if (r.ok() && ::renameat(dir_fd_, tmp.c_str(), dir_fd_, name_.c_str()) != 0) r = failed("rename");
  if (!r.ok()) {
    ::unlinkat(dir_fd_, tmp.c_str(), 0);
    return r;
  }
  return fsync_dir(dir_fd_);
}

// ---- encoder ---------------------------------------------------------------------

std::vector<std::uint8_t> SnapshotEncoder::next(const Mirror& mirror, std::uint32_t max_entries) {
  std::vector<std::uint8_t> out;
  const std::uint32_t stop = end_ - pos_ > max_entries ? pos_ + max_entries : end_;
  // Positions past the mirror's current end (it may have shrunk by clear(),
  // never during a store's life) hold nothing.
  const std::uint32_t last = std::min(stop, mirror.slot_end());
  out.reserve(static_cast<std::size_t>(last > pos_ ? last - pos_ : 0) * 64);
  for (std::uint32_t i = pos_; i < last; ++i) {
    const auto lease = mirror.lease_at(i);
    if (!lease) continue;
    const std::size_t at = out.size();
    out.resize(at + record_size(*lease));
    encode_record(0, *lease, {out.data() + at, out.size() - at});
    ++leases_;
  }
  pos_ = stop;
  crc_ = crc32c(out, crc_);
  return out;
}

// ---- background thread ---------------------------------------------------------------

SnapshotThread::SnapshotThread(int dir_fd, std::uint64_t seq, std::uint64_t created_unix,
                               std::size_t max_queued)
    : max_queued_(max_queued),
      name_(snapshot_name(seq).data()),
      thread_([this, dir_fd, seq, created_unix] { run(dir_fd, seq, created_unix); }) {}

SnapshotThread::~SnapshotThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

bool SnapshotThread::full() const {
  std::lock_guard lock(mutex_);
  return queue_.size() >= max_queued_;
}

std::size_t SnapshotThread::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

void SnapshotThread::push(std::vector<std::uint8_t> records) {
  if (records.empty()) return;
  {
    std::lock_guard lock(mutex_);
    queued_bytes_ += records.capacity();
    queue_.push_back(std::move(records));
  }
  wake_.notify_one();
}

void SnapshotThread::finish(const SnapshotTrailer& trailer) {
  {
    std::lock_guard lock(mutex_);
    trailer_ = trailer;
  }
  wake_.notify_one();
}

std::optional<IoResult> SnapshotThread::result() const {
  std::lock_guard lock(mutex_);
  return result_;
}

void SnapshotThread::run(int dir_fd, std::uint64_t seq, std::uint64_t created_unix) {
  SnapshotWriter::Opened opened = SnapshotWriter::begin(dir_fd, seq, created_unix);
  IoResult error = opened.result;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty() || trailer_.has_value(); });
    if (stop_) break;   // abandoned: the writer's destructor removes the .tmp
    if (!queue_.empty()) {
      std::vector<std::uint8_t> buf = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= buf.capacity();
      // After an error the rest is only drained: the control thread waits for finish().
      if (error.ok()) {
        lock.unlock();
        error = opened.writer->write(buf);
        buf = {};
        lock.lock();
      }
      continue;
    }
    // Queue empty and the trailer is set: everything was written.
    const SnapshotTrailer trailer = *trailer_;
    lock.unlock();
    if (error.ok()) error = opened.writer->finish(trailer);
    opened.writer.reset();
    lock.lock();
    result_ = error;
    return;
  }
}

// ---- whole snapshots --------------------------------------------------------------------

IoResult write_snapshot(int dir_fd, std::uint64_t seq, const Mirror& mirror) {
  SnapshotWriter::Opened w = SnapshotWriter::begin(dir_fd, seq, static_cast<std::uint64_t>(std::time(nullptr)));
  if (!w.result.ok()) return w.result;
  SnapshotEncoder encoder(mirror.slot_end());
  while (!encoder.done()) {
    const std::vector<std::uint8_t> buf = encoder.next(mirror, kEncodeChunk);
    if (const IoResult r = w.writer->write(buf); !r.ok()) return r;
  }
  return w.writer->finish(encoder.trailer());
}

LoadedSnapshot load_snapshot(int dir_fd, const std::string& name) {
  LoadedSnapshot l;
  const MappedFile::Opened f = MappedFile::open(dir_fd, name);
  if (!f.result.ok()) {
    l.result = f.result;
    return l;
  }
  const auto bytes = f.file->bytes();
  // Size the index once from the trailer's count (checked again by the scan).
  if (bytes.size() >= kFileHeaderSize + kSnapshotTrailerSize) {
    const DecodedTrailer t = decode_snapshot_trailer(bytes.last(kSnapshotTrailerSize));
    if (t.status == Status::ok && t.trailer.leases <= bytes.size() / kRecordMinSize)
      l.mirror.reserve(static_cast<std::size_t>(t.trailer.leases));
  }
  {
    MirrorLoader loader(l.mirror);
    l.scan = scan_snapshot(bytes, [&](const DecodedRecord& d) { loader.add(d.change); });
    loader.flush();
  }
  if (l.scan.status != Status::ok) l.mirror.clear();
  return l;
}

}  // namespace dorado::store
