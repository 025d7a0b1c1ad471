#include "bench/load/frame_scan.hpp"

namespace paysync::bench {

namespace {

class scanner {
 public:
  explicit scanner(std::string_view in) noexcept : in_(in) {}

  void ws() noexcept {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool eat(char c) noexcept {
    ws();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() noexcept {
    ws();
    return pos_ < in_.size() ? in_[pos_] : '\0';
  }
  // REQUIRES: at a '"'. The raw bytes between the quotes.
  bool string(std::string_view& out) noexcept {
    if (!eat('"')) return false;
    const std::size_t begin = pos_;
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '"') {
        out = in_.substr(begin, pos_ - begin);
        ++pos_;
        return true;
      }
      ++pos_;
    }
    return false;
  }
  // Skips one value of any kind; integers are returned through `number`.
  bool value(std::string_view& text, std::int64_t& number, bool& is_number) noexcept {
    is_number = false;
    const char c = peek();
    if (c == '"') return string(text);
    if (c == '{' || c == '[') return nested();
    const std::size_t begin = pos_;
    while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '}' && in_[pos_] != ']' &&
           in_[pos_] != ' ' && in_[pos_] != '\n') {
      ++pos_;
    }
    text = in_.substr(begin, pos_ - begin);
    if (text.empty()) return false;
    std::int64_t v = 0;
    std::size_t i = 0;
    const bool negative = text[0] == '-';
    if (negative) i = 1;
    if (i == text.size()) return true;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return true;  // a fraction, true, false or null
      v = v * 10 + (text[i] - '0');
    }
    number = negative ? -v : v;
    is_number = true;
    return true;
  }
  // A balanced object or array, strings included.
  bool nested() noexcept {
    int depth = 0;
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '"') {
        std::string_view ignored;
        if (!string(ignored)) return false;
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return true;
      }
    }
    return false;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

frame_fields scan_frame(std::string_view json) noexcept {
  frame_fields f;
  scanner s(json);
  if (!s.eat('{')) return f;
  if (s.eat('}')) {
    f.ok = true;
    return f;
  }
  for (;;) {
    std::string_view key;
    if (!s.string(key) || !s.eat(':')) return f;
    std::string_view text;
    std::int64_t number = 0;
    bool is_number = false;
    if (!s.value(text, number, is_number)) return f;
    if (key == "type") {
      f.type = text;
    } else if (key == "ref") {
      f.ref = text;
    } else if (key == "txn") {
      f.txn = text;
    } else if (key == "code") {
      f.code = text;
    } else if (key == "for") {
      f.for_ = text;
    } else if (key == "by") {
      f.by = text;
    } else if (key == "amount" && is_number) {
      f.amount = number;
    }
    if (s.eat(',')) continue;
    if (s.eat('}')) {
      f.ok = true;
      return f;
    }
    return f;
  }
}

}  // namespace paysync::bench
