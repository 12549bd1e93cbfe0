#include "migrate/kea_json.hpp"

#include <cctype>
#include <string>

namespace dorado::migrate {
namespace {

std::string at(std::string_view text, std::size_t pos) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string kea_json_to_plain(std::string_view text, std::string& error) {
  std::string out;
  out.reserve(text.size() + 16);
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = text[i];
    if (c == '"') {   // a string: copied as is, escapes included
      const std::size_t start = i;
      out += c;
      ++i;
      while (i < n && text[i] != '"' && text[i] != '\n') {
        if (text[i] == '\\' && i + 1 < n) out += text[i++];
        out += text[i++];
      }
      if (i >= n || text[i] != '"') {
        error = at(text, start) + ": string without its closing quote";
        return {};
      }
      out += text[i++];
      continue;
    }
    if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
      while (i < n && text[i] != '\n') {
        out += ' ';
        ++i;
      }
      continue;
    }
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const std::size_t start = i;
      const std::size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) {
        error = at(text, start) + ": comment /* without its closing */";
        return {};
      }
      for (; i < end + 2; ++i) out += text[i] == '\n' ? '\n' : ' ';
      continue;
    }
    if (c == '<' && text.substr(i, 9) == "<?include") {
      error = at(text, i) +
              ": <?include ...?> is not followed by dorado-migrate; put the included file's text in its place "
              "(or convert the file Kea reads after its own includes)";
      return {};
    }
    if (c == '.') {
      // Kea's numbers may start or end with the point: ".5", "-.5", "5.".
      const bool before = !out.empty() && digit(out.back());
      const bool after = i + 1 < n && digit(text[i + 1]);
      if (!before && after) out += '0';
      out += '.';
      if (before && !after) out += '0';
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

KeaJson parse_kea_json(std::string_view text) {
  KeaJson r;
  const std::string plain = kea_json_to_plain(text, r.error);
  if (!r.error.empty()) return r;
  try {
    r.doc = Json::parse(plain);
  } catch (const Json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    std::string what = e.what();
    if (const std::size_t p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      what.erase(0, p + 2);
    if (what.rfind("parse error at ", 0) == 0) what.erase(0, 15);
    r.error = what;
    r.doc.reset();
  } catch (const std::exception& e) {
    r.error = e.what();
    r.doc.reset();
  }
  return r;
}

}  // namespace dorado::migrate
