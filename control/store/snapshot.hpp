// Snapshot files (format.hpp): writing one, from the mirror, either at once
// or a piece at a time on the control thread with the I/O on a background
// thread; and loading one into a fresh mirror.
//
// A snapshot is written to snapshot-<seq>.snap.tmp, fdatasynced, renamed to
// snapshot-<seq>.snap and the directory fsynced: a .snap file is complete or
// absent (a stale .tmp is deleted at the next open).
//
// Threads: SnapshotEncoder and the free functions run on the caller's thread;
// SnapshotThread owns one std::thread that only writes and syncs the buffers
// it is handed (bounded queue, mutex + condition variable).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/format.hpp"
#include "store/journal.hpp"
#include "store/mirror.hpp"

namespace dorado::store {

// The file being written: header at begin(), records, trailer + rename at finish().
class SnapshotWriter {
 public:
  struct Opened {
    std::unique_ptr<SnapshotWriter> writer;
    IoResult result;
  };
  static Opened begin(int dir_fd, std::uint64_t seq, std::uint64_t created_unix);
  ~SnapshotWriter();   // abandons the .tmp unless finish() succeeded
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  IoResult write(std::span<const std::uint8_t> records) noexcept;
  // Trailer, fdatasync, rename, directory fsync. On failure the .tmp is removed.
  IoResult finish(const SnapshotTrailer& trailer) noexcept;
  const std::string& name() const noexcept { return name_; }

 private:
  SnapshotWriter(int dir_fd, int fd, std::string name) : dir_fd_(dir_fd), fd_(fd), name_(std::move(name)) {}
  void abandon() noexcept;
  int dir_fd_;
  int fd_;
  std::string name_;   // final name; the file is name_ + ".tmp" until finish()
};

// Encodes the mirror's entries [0, end) in pieces, keeping the trailer's
// count and CRC. Entries are read by position (Mirror's stable entry numbers),
// so the mirror may change between pieces (see store.cpp on why that is right).
class SnapshotEncoder {
 public:
  explicit SnapshotEncoder(std::uint32_t end) : end_(end) {}
  // The records of up to `max_entries` further entry positions (may be empty
  // when those were free); done() once every position is covered.
  std::vector<std::uint8_t> next(const Mirror& mirror, std::uint32_t max_entries);
  bool done() const noexcept { return pos_ >= end_; }
  SnapshotTrailer trailer() const noexcept { return {leases_, crc_}; }

 private:
  std::uint32_t pos_ = 0;
  std::uint32_t end_;
  std::uint64_t leases_ = 0;
  std::uint32_t crc_ = 0;
};

// One snapshot being written by a background thread from buffers it is
// handed. Destroying it before it is done abandons the file.
class SnapshotThread {
 public:
  SnapshotThread(int dir_fd, std::uint64_t seq, std::uint64_t created_unix, std::size_t max_queued);
  ~SnapshotThread();
  SnapshotThread(const SnapshotThread&) = delete;
  SnapshotThread& operator=(const SnapshotThread&) = delete;

  bool full() const;   // push() would exceed max_queued
  void push(std::vector<std::uint8_t> records);
  void finish(const SnapshotTrailer& trailer);
  // nullopt while running; then the result (once finish() was called).
  std::optional<IoResult> result() const;
  std::size_t queued_bytes() const;
  const std::string& name() const noexcept { return name_; }

 private:
  void run(int dir_fd, std::uint64_t seq, std::uint64_t created_unix);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::vector<std::uint8_t>> queue_;   // guarded by mutex_
  std::size_t queued_bytes_ = 0;                  // guarded by mutex_
  std::optional<SnapshotTrailer> trailer_;        // guarded by mutex_: set by finish()
  bool stop_ = false;                             // guarded by mutex_: abandon
  std::optional<IoResult> result_;                // guarded by mutex_: set by the thread
  std::size_t max_queued_;
  std::string name_;
  std::thread thread_;
};

// The whole mirror as snapshot `seq`, synchronously.
IoResult write_snapshot(int dir_fd, std::uint64_t seq, const Mirror& mirror);

struct LoadedSnapshot {
  IoResult result;      // the file could not be read
  SnapshotScan scan;    // status ok: `mirror` holds its leases
  Mirror mirror;
};
LoadedSnapshot load_snapshot(int dir_fd, const std::string& name);

}  // namespace dorado::store
