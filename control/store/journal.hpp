// File primitives of the store directory: the open journal segment (append
// with pwrite, fdatasync, truncate back), listing the store's files, reading
// a whole file (mmap), small helpers. Every function returns errno-style
// results; nothing throws, nothing logs.
//
// Threads: a SegmentFile belongs to the control thread; the helpers are
// reentrant (the snapshot thread uses them too).
// Cost: each call is one or a few system calls; sync() is one fdatasync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dorado::store {

// errno of the failed call (0: success) and what it was doing.
struct IoResult {
  int err = 0;
  const char* op = "";
  bool ok() const noexcept { return err == 0; }
};
// "write journal-0000000000000001.log: No space left on device"
std::string io_text(const IoResult& r, const std::string& file);

// One journal segment open for appending. create() writes the header,
// fdatasyncs the file and fsyncs the directory, so a listed segment always
// has a readable header unless the disk lost it.
class SegmentFile {
 public:
  struct Created {
    std::unique_ptr<SegmentFile> file;
    IoResult result;
  };
  // An existing file of that name is replaced (recovery only leaves one
  // behind when it holds no valid record).
  static Created create(int dir_fd, std::uint64_t first_seq, std::uint64_t created_unix);
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  // Writes all of `bytes` at `offset` (partial writes and EINTR retried).
  IoResult write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) noexcept;
  IoResult sync() noexcept;
  // ftruncate to `size`, then fdatasync.
  IoResult truncate(std::uint64_t size) noexcept;

  std::uint64_t first_seq() const noexcept { return first_seq_; }
  const std::string& name() const noexcept { return name_; }

 private:
  SegmentFile(int fd, std::uint64_t first_seq, std::string name);
  int fd_;
  std::uint64_t first_seq_;
  std::string name_;
};

// The store files found in a directory, each list sorted by seq ascending.
struct StoreFile {
  std::uint64_t seq = 0;   // segment: first seq; snapshot: seq covered
  std::string name;
};
struct DirListing {
  std::vector<StoreFile> segments;
  std::vector<StoreFile> snapshots;
  std::vector<std::string> temporaries;   // snapshot-*.snap.tmp (unfinished writes)
  IoResult result;
};
DirListing list_store_dir(int dir_fd);

// A whole file mapped read-only (empty files give an empty span).
class MappedFile {
 public:
  struct Opened {
    std::unique_ptr<MappedFile> file;
    IoResult result;
  };
  static Opened open(int dir_fd, const std::string& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }

 private:
  MappedFile(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  const std::uint8_t* data_;
  std::size_t size_;
};

IoResult fsync_dir(int dir_fd) noexcept;
IoResult remove_file(int dir_fd, const std::string& name) noexcept;
// Creates `name` (replacing it) with `bytes`, fdatasynced.
IoResult write_new_file(int dir_fd, const std::string& name, std::span<const std::uint8_t> bytes) noexcept;
// ftruncate + fdatasync of an existing file.
IoResult truncate_file(int dir_fd, const std::string& name, std::uint64_t size) noexcept;
// write() all of `bytes` to fd (partial writes and EINTR retried).
IoResult write_all(int fd, std::span<const std::uint8_t> bytes) noexcept;

}  // namespace dorado::store
