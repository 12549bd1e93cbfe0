// The bytes of the store: lease records, journal segment files and snapshot
// files. Pure encode/decode over byte spans: no I/O, no allocation, no
// exceptions, no logging (a libFuzzer target drives every decoder:
// tests/fuzz/store_fuzz.cpp). All integers are little-endian.
//
// Record (16-byte header + 26-byte fixed body + key + hostname; a DORA
// commit with a 7-byte hardware key and a 10-byte hostname is 59 bytes):
//
//   off size field
//     0   4  crc32c       over bytes 4 .. end of the record
//     4   2  body_len     bytes after the header (26 + key_len + hostname_len,
//                         version 3: + 1 + relay_len)
//     6   1  type         1 = lease change
//     7   1  version      1; 2 when the lease has DNS flags; 3 when it has
//                         an option 82 (below)
//     8   8  seq          journal sequence number (snapshots: 0)
//    16   1  op           engine::LeaseOp, 1 (commit) .. 6 (reclaim)
//    17   1  htype
//    18   1  key_len      0 .. kMaxKeyLen (160)
//    19   1  hostname_len bits 0-5: 0 .. kMaxHostnameLen (63); versions 2, 3:
//                         bits 6-7: the DNS flags (engine::LeaseChange::ddns,
//                         engine/ddns.hpp: 1 forward, 2 reverse), never 0
//    20   4  subnet_id
//    24   4  address      IPv4, host order
//    28   4  start        unix seconds
//    32   4  expires      unix seconds
//    36   6  chaddr
//    42   k  key          kind byte + bytes
//  42+k   h  hostname     no terminator
// version 3 only (the lease's option 82, engine::LeaseChange::relay_len):
//  42+k+h 1  relay_len    1 .. engine::kMaxRelayInfoLen (118), and
//                         key_len + relay_len <= kMaxKeyLen
//  43+k+h r  relay info   option 82's value (sub-options), as the client's
//                         last relayed request carried it
//
// Segment file journal-<first seq, 16 hex digits>.log, and snapshot file
// snapshot-<seq, 16 hex digits>.snap, start with the same 32-byte header:
//
//     0   8  magic        "DORADOJ1" (segment) / "DORADOS1" (snapshot)
//     8   4  version      1
//    12   4  crc32c       over bytes 0..11 and 16..31
//    16   8  seq          segment: seq of its first record; snapshot: the
//                         journal seq it covers (replay starts after it)
//    24   8  created      unix seconds (information only)
//
// A segment's records follow, seq = first seq, first seq + 1, ... A snapshot's
// records (seq 0) follow, then a 24-byte trailer ending the file:
//
//     0   8  magic        "DORADOSE"
//     8   8  leases       number of records
//    16   4  records_crc  crc32c over all record bytes (32 .. size - 24)
//    20   4  crc32c       over trailer bytes 0..19
//
// Versions: a record is written as version 1 unless its lease has DNS flags
// (dynamic DNS), so that a store or HA partner without [ddns] writes what
// older dorado reads; version 1's bits 6-7 of byte 19 are 0 (a larger
// hostname_len is hostname_too_long). Version 2 is version 1 with the flags
// in those bits, and a version 2 record without flags is corrupt
// (bad_version): one encoding per record, as store_fuzz checks.
// Version 3 (dorado with [leasequery], which keeps each lease's option 82:
// engine/relay_info.hpp) is written only for a record that carries an option
// 82; its byte 19 is version 2's (DNS flags optional: 0 is fine there) and
// the relay info follows the hostname. A version 3 record with relay_len 0
// is corrupt (bad_version). Older journals (versions 1 and 2) still load;
// a dorado older than version 3 refuses a version 3 record (its HA partner
// too: upgrade both, or the one without [leasequery] last).
//
// Decoding a record at the start of a span gives one of:
//   ok       a complete, valid record;
//   end      the span is empty (exactly at the end of the data);
//   torn     the data ends inside the record, or the header is all zeros
//            (some file systems leave a zero-filled tail after a crash), or
//            the CRC fails and the record's last byte and everything after
//            it are zero (the write stopped inside it);
//   corrupt  complete but wrong: CRC, type, version, lengths, op, sequence.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "engine/lease.hpp"

namespace dorado::store {

inline constexpr std::size_t kRecordHeaderSize = 16;
inline constexpr std::size_t kRecordFixedBody = 26;
inline constexpr std::size_t kRecordMinSize = kRecordHeaderSize + kRecordFixedBody;
// Key and option 82 share LeaseChange::key's 160 bytes (version 3 adds the
// relay_len byte): 42 + 160 + 63 + 1.
inline constexpr std::size_t kMaxRecordSize =
    kRecordMinSize + engine::kMaxKeyLen + engine::kMaxHostnameLen + 1;   // 266
inline constexpr std::uint8_t kRecordTypeLease = 1;
inline constexpr std::uint8_t kRecordVersion = 1;       // no DNS flags
inline constexpr std::uint8_t kRecordVersionDdns = 2;   // DNS flags in byte 19's top bits
inline constexpr std::uint8_t kRecordVersionRelay = 3;  // version 2 + option 82 after the hostname

inline constexpr std::size_t kFileHeaderSize = 32;
inline constexpr std::size_t kSnapshotTrailerSize = 24;
inline constexpr std::uint32_t kFileVersion = 1;

enum class Status : std::uint8_t { ok, end, torn, corrupt };

enum class FormatError : std::uint8_t {
  none,
  short_header,       // torn
  zero_filled,        // torn
  short_body,         // torn
  bad_length,         // corrupt: body_len impossible or not 26 + key + hostname
  bad_crc,            // corrupt
  bad_type,
  bad_version,
  key_too_long,
  hostname_too_long,
  bad_op,
  bad_seq,            // a segment record whose seq does not follow
  bad_magic,          // file header or trailer
  bad_file_version,
  bad_header_crc,
  bad_trailer_crc,
  count_mismatch,     // snapshot trailer's lease count != records found
  bad_records_crc,    // snapshot trailer's records_crc != the records
  relay_info_too_long,   // version 3: relay_len 0 is bad_version; > 118 or past the key's room
};
const char* format_error_name(FormatError e) noexcept;

// ---- records ----------------------------------------------------------------

// Encoded size of `c`: kRecordMinSize + key_len + hostname_len (+ 1 +
// relay_len when it carries an option 82: engine::relay_info_of). The caller
// keeps key_len <= kMaxKeyLen and hostname_len <= kMaxHostnameLen (the store
// clamps what it takes) and op in range.
inline std::size_t record_size(const engine::LeaseChange& c) noexcept {
  const std::size_t relay = engine::relay_info_of(c).size();
  return kRecordMinSize + c.key_len + c.hostname_len + (relay != 0 ? 1 + relay : 0);
}

// Writes the record for `c` with sequence number `seq` at the start of `out`
// (out.size() >= record_size(c)). Returns the bytes written. c.seq and
// c.shard are not stored.
std::size_t encode_record(std::uint64_t seq, const engine::LeaseChange& c,
                          std::span<std::uint8_t> out) noexcept;

struct DecodedRecord {
  Status status = Status::end;
  FormatError error = FormatError::none;
  std::size_t size = 0;          // bytes of the record (status ok)
  std::uint64_t seq = 0;
  engine::LeaseChange change{};  // seq and shard 0
};

// Decodes the record at the start of `data`.
DecodedRecord decode_record(std::span<const std::uint8_t> data) noexcept;

// ---- file header and snapshot trailer -------------------------------------------

enum class FileKind : std::uint8_t { segment, snapshot };

struct FileHeader {
  FileKind kind = FileKind::segment;
  std::uint64_t seq = 0;        // segment: first record's seq; snapshot: seq covered
  std::uint64_t created = 0;
};

std::array<std::uint8_t, kFileHeaderSize> encode_file_header(const FileHeader& h) noexcept;

struct DecodedHeader {
  Status status = Status::ok;   // torn: fewer than 32 bytes; corrupt: magic, version, crc
  FormatError error = FormatError::none;
  FileHeader header;
};
DecodedHeader decode_file_header(FileKind expected, std::span<const std::uint8_t> data) noexcept;

struct SnapshotTrailer {
  std::uint64_t leases = 0;
  std::uint32_t records_crc = 0;
};

std::array<std::uint8_t, kSnapshotTrailerSize> encode_snapshot_trailer(const SnapshotTrailer& t) noexcept;

struct DecodedTrailer {
  Status status = Status::ok;
  FormatError error = FormatError::none;
  SnapshotTrailer trailer;
};
// `data` is the last kSnapshotTrailerSize bytes of the file (fewer: torn).
DecodedTrailer decode_snapshot_trailer(std::span<const std::uint8_t> data) noexcept;

// ---- scanning whole images ----------------------------------------------------------

struct ScanResult {
  Status status = Status::end;   // end: every byte consumed; torn/corrupt: stopped at `offset`
  FormatError error = FormatError::none;
  std::size_t offset = 0;        // end of the last good record
  std::uint64_t records = 0;     // good records passed to fn
  std::uint64_t last_seq = 0;    // seq of the last good record
};

// Decodes records from data[offset..] until the end or the first bad one,
// calling fn(const DecodedRecord&) for each good one. expect_seq != 0: the
// first record must carry expect_seq and each next one the previous + 1 (a
// record that does not follow is corrupt, bad_seq).
template <typename Fn>
ScanResult scan_records(std::span<const std::uint8_t> data, std::size_t offset,
                        std::uint64_t expect_seq, Fn&& fn) {
  ScanResult r;
  r.offset = offset;
  while (true) {
    const DecodedRecord d = decode_record(data.subspan(r.offset));
    if (d.status == Status::ok && expect_seq != 0 && d.seq != expect_seq) {
      r.status = Status::corrupt;
      r.error = FormatError::bad_seq;
      return r;
    }
    if (d.status != Status::ok) {
      r.status = d.status;
      r.error = d.error;
      return r;
    }
    fn(d);
    r.offset += d.size;
    ++r.records;
    r.last_seq = d.seq;
    if (expect_seq != 0) ++expect_seq;
  }
}

struct SegmentScan {
  DecodedHeader header;   // status not ok: no records were read
  ScanResult records;     // from offset kFileHeaderSize
};

// A whole segment image: its header, then its records from the header's seq.
template <typename Fn>
SegmentScan scan_segment(std::span<const std::uint8_t> data, Fn&& fn) {
  SegmentScan s;
  s.header = decode_file_header(FileKind::segment, data);
  if (s.header.status != Status::ok) {
    s.records.status = s.header.status;
    s.records.error = s.header.error;
    return s;
  }
  // Sequence numbers start at 1; 0 would also turn the seq check off.
  if (s.header.header.seq == 0) {
    s.header.status = s.records.status = Status::corrupt;
    s.header.error = s.records.error = FormatError::bad_seq;
    return s;
  }
  s.records = scan_records(data, kFileHeaderSize, s.header.header.seq, fn);
  return s;
}

struct SnapshotScan {
  Status status = Status::ok;    // ok, torn (short file) or corrupt
  FormatError error = FormatError::none;
  FileHeader header;
  std::uint64_t leases = 0;      // records passed to fn
};

// A whole snapshot image: header, trailer and the records' CRC are checked
// before fn sees any record; then fn(const DecodedRecord&) for every record.
// A record that fails after that (impossible unless the writer was wrong) or
// a count mismatch returns corrupt after fn has seen the records before it:
// the caller discards what it built.
std::uint32_t snapshot_records_crc(std::span<const std::uint8_t> records) noexcept;

template <typename Fn>
SnapshotScan scan_snapshot(std::span<const std::uint8_t> data, Fn&& fn) {
  SnapshotScan s;
  const DecodedHeader h = decode_file_header(FileKind::snapshot, data);
  s.header = h.header;
  if (h.status != Status::ok) {
    s.status = h.status;
    s.error = h.error;
    return s;
  }
  if (data.size() < kFileHeaderSize + kSnapshotTrailerSize) {
    s.status = Status::torn;
    s.error = FormatError::short_body;
    return s;
  }
  const DecodedTrailer t = decode_snapshot_trailer(data.last(kSnapshotTrailerSize));
  if (t.status != Status::ok) {
    // A snapshot is written whole and renamed; a bad trailer is most likely
    // a file cut short.
    s.status = t.status;
    s.error = t.error;
    return s;
  }
  const auto records =
      data.subspan(kFileHeaderSize, data.size() - kFileHeaderSize - kSnapshotTrailerSize);
  if (snapshot_records_crc(records) != t.trailer.records_crc) {
    s.status = Status::corrupt;
    s.error = FormatError::bad_records_crc;
    return s;
  }
  const ScanResult r = scan_records(records, 0, 0, fn);
  s.leases = r.records;
  if (r.status != Status::end) {
    s.status = Status::corrupt;
    s.error = r.error;
  } else if (r.records != t.trailer.leases) {
    s.status = Status::corrupt;
    s.error = FormatError::count_mismatch;
  }
  return s;
}

// ---- file names ----------------------------------------------------------------------

// "journal-0000000000000001.log", "snapshot-00000000000f4240.snap".
std::array<char, 29> segment_name(std::uint64_t first_seq) noexcept;   // NUL-terminated
std::array<char, 31> snapshot_name(std::uint64_t seq) noexcept;

struct ParsedName {
  bool ok = false;
  std::uint64_t seq = 0;
};
// Exactly the names above (16 lower- or upper-case hex digits); anything else
// (.tmp, .tail-N, editor backups) is not a store file.
ParsedName parse_segment_name(const char* name) noexcept;
ParsedName parse_snapshot_name(const char* name) noexcept;

}  // namespace dorado::store
