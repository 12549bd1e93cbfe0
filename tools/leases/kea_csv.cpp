#include "leases/kea_csv.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <string>

#include "wire/text.hpp"

namespace dorado::leases {

namespace {

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <typename T>
std::optional<T> parse_uint(std::string_view text) {
  T v{};
  if (text.empty()) return std::nullopt;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string q = "'";
  q.append(text.substr(0, kMax));
  if (text.size() > kMax) q += "...";
  return q + "'";
}

}  // namespace

std::string kea_unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size();) {
    if (field.compare(i, 3, "&#x") == 0 && i + 5 <= field.size()) {
      const int hi = hex_digit(field[i + 3]), lo = hex_digit(field[i + 4]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 5;
        continue;
      }
    }
    out += field[i++];
  }
  return out;
}

std::string kea_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == ',' || c == '&' || c == '\r' || c == '\n') {
      const auto u = static_cast<unsigned char>(c);
      out += "&#x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_hex_colon(const std::uint8_t* data, std::size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 3);
  for (std::size_t i = 0; i < len; ++i) {
    if (i != 0) out += ':';
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> parse_hex_colon(std::string_view text) {
  std::vector<std::uint8_t> bytes;
  if (text.empty()) return bytes;
  if (text.find(':') == std::string_view::npos) {   // "0a1b2c"
    if (text.size() % 2 != 0) return std::nullopt;
    for (std::size_t i = 0; i < text.size(); i += 2) {
      const int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return bytes;
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = text.find(':', start);
    const std::string_view part =
        text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (part.empty() || part.size() > 2) return std::nullopt;
    int v = 0;
    for (const char c : part) {
      const int d = hex_digit(c);
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    bytes.push_back(static_cast<std::uint8_t>(v));
    if (colon == std::string_view::npos) return bytes;
    start = colon + 1;
  }
}

HeaderResult parse_kea_header(std::string_view line) {
  HeaderResult r;
  const auto names = split(line);
  r.header.columns = names.size();
  struct Column {
    std::string_view name;
    int KeaHeader::*index;
    bool required;
  };
  static constexpr std::array<Column, 11> kColumns{{
      {"address", &KeaHeader::address, true},
      {"hwaddr", &KeaHeader::hwaddr, true},
      {"client_id", &KeaHeader::client_id, true},
      {"valid_lifetime", &KeaHeader::valid_lifetime, true},
      {"expire", &KeaHeader::expire, true},
      {"subnet_id", &KeaHeader::subnet_id, true},
      {"fqdn_fwd", &KeaHeader::fqdn_fwd, false},
      {"fqdn_rev", &KeaHeader::fqdn_rev, false},
      {"hostname", &KeaHeader::hostname, false},
      {"state", &KeaHeader::state, false},
      {"user_context", &KeaHeader::user_context, false},
  }};
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (const Column& c : kColumns) {
      if (names[i] != c.name) continue;
      if (r.header.*c.index >= 0) {
        r.error = "not a Kea lease4 header: column '" + std::string(c.name) + "' twice";
        return r;
      }
      r.header.*c.index = static_cast<int>(i);
    }
  }
  std::string missing;
  for (const Column& c : kColumns) {
    if (c.required && r.header.*c.index < 0) missing += (missing.empty() ? "" : ", ") + std::string(c.name);
  }
  if (!missing.empty()) {
    r.error = "not a Kea lease4 header (expected " + std::string(kKeaLease4Header) +
              "): missing " + missing;
  }
  return r;
}

RowResult parse_kea_row(std::string_view line, const KeaHeader& h) {
  RowResult r;
  const auto f = split(line);
  if (f.size() != h.columns) {
    r.error = std::to_string(f.size()) + " fields, the header has " + std::to_string(h.columns);
    return r;
  }
  auto field = [&](int index) { return index >= 0 ? f[static_cast<std::size_t>(index)] : std::string_view{}; };
  KeaRow& row = r.row;

  if (const auto ip = wire::parse_ipv4(field(h.address))) {
    row.address = *ip;
  } else {
    r.error = "bad address " + quoted(field(h.address));
    return r;
  }
  if (auto hw = parse_hex_colon(field(h.hwaddr))) {
    row.hwaddr = std::move(*hw);
  } else {
    r.error = "bad hwaddr " + quoted(field(h.hwaddr));
    return r;
  }
  if (auto id = parse_hex_colon(field(h.client_id))) {
    row.client_id = std::move(*id);
  } else {
    r.error = "bad client_id " + quoted(field(h.client_id));
    return r;
  }
  if (const auto v = parse_uint<std::uint32_t>(field(h.valid_lifetime))) {
    row.valid_lifetime = *v;
  } else {
    r.error = "bad valid_lifetime " + quoted(field(h.valid_lifetime));
    return r;
  }
  if (const auto v = parse_uint<std::uint64_t>(field(h.expire))) {
    row.expire = *v;
  } else {
    r.error = "bad expire " + quoted(field(h.expire));
    return r;
  }
  if (const auto v = parse_uint<std::uint32_t>(field(h.subnet_id))) {
    row.subnet_id = *v;
  } else {
    r.error = "bad subnet_id " + quoted(field(h.subnet_id));
    return r;
  }
  // Kea writes 0/1; its reader also takes true/false.
  auto flag = [&](int index, bool& out, const char* name) {
    const std::string_view v = field(index);
    if (index < 0 || v == "0" || v == "false") out = false;
    else if (v == "1" || v == "true") out = true;
    else r.error = std::string("bad ") + name + " " + quoted(v);
    return r.error.empty();
  };
  if (!flag(h.fqdn_fwd, row.fqdn_fwd, "fqdn_fwd") || !flag(h.fqdn_rev, row.fqdn_rev, "fqdn_rev")) return r;
  row.hostname = kea_unescape(field(h.hostname));
  if (h.state >= 0) {
    const auto v = parse_uint<unsigned>(field(h.state));
    if (!v || *v > 2) {
      r.error = "bad state " + quoted(field(h.state)) + " (0 default, 1 declined, 2 expired-reclaimed)";
      return r;
    }
    row.state = static_cast<KeaState>(*v);
  }
  row.user_context = kea_unescape(field(h.user_context));
  return r;
}

std::string format_kea_row(const KeaRow& row) {
  std::string s = wire::format_ipv4(row.address);
  s += ',';
  s += format_hex_colon(row.hwaddr.data(), row.hwaddr.size());
  s += ',';
  s += format_hex_colon(row.client_id.data(), row.client_id.size());
  s += ',';
  s += std::to_string(row.valid_lifetime);
  s += ',';
  s += std::to_string(row.expire);
  s += ',';
  s += std::to_string(row.subnet_id);
  s += row.fqdn_fwd ? ",1" : ",0";
  s += row.fqdn_rev ? ",1," : ",0,";
  s += kea_escape(row.hostname);
  s += ',';
  s += std::to_string(static_cast<unsigned>(row.state));
  s += ',';
  s += kea_escape(row.user_context);
  return s;
}

KeaFile read_kea_csv(std::istream& in, std::uint32_t file_index) {
  KeaFile file;
  std::optional<KeaHeader> header;
  std::string line;
  std::uint32_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const Located at{file_index, number};
    if (!header) {
      HeaderResult h = parse_kea_header(line);
      if (!h.error.empty()) {
        file.errors.push_back({at, std::move(h.error)});
        return file;
      }
      header = h.header;
      continue;
    }
    ++file.lines;
    RowResult r = parse_kea_row(line, *header);
    if (r.error.empty()) file.rows.push_back({std::move(r.row), at});
    else file.errors.push_back({at, std::move(r.error)});
  }
  if (!header) file.errors.push_back({{file_index, 1}, "empty file: no Kea lease4 header"});
  return file;
}

}  // namespace dorado::leases
