// Atom: an immutable string interned for the life of the process, held by one pointer.
//
// For the values that repeat across every instance of an account: tenant ids, cloud providers,
// regions, instance types, sizes, versions, statuses, phases, namespaces, file names. At 100,000
// instances each such field as a std::string costs 32 bytes (and a heap block when longer than
// 15 characters, as a tenant id is) in every spec, journal entry, observation and status;
// as an Atom it costs 8, and comparing two Atoms compares two pointers.
//
// An Atom reads as a `const std::string&` (implicitly), compares with strings, string views and
// C strings, and is assigned from any of them. Each distinct value is kept once, never freed:
// use it only for values of small variety (never ids, names or anything per instance, never
// secrets). Atom::Count() says how many distinct values the process holds.
//
// Thread-safety: Atoms are values; making one from a string takes a process-wide lock once.
#pragma once

#include <compare>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace aura::base {

class Atom {
 public:
  Atom() noexcept : s_(&Empty()) {}
  Atom(std::string_view value);  // NOLINT(google-explicit-constructor): reads as a string
  Atom(const std::string& value) : Atom(std::string_view(value)) {}  // NOLINT
  Atom(const char* value) : Atom(std::string_view(value)) {}         // NOLINT

  const std::string& str() const noexcept { return *s_; }
  void clear() noexcept { s_ = &Empty(); }
  operator const std::string&() const noexcept { return *s_; }  // NOLINT
  operator std::string_view() const noexcept { return *s_; }    // NOLINT
  bool empty() const noexcept { return s_->empty(); }
  std::size_t size() const noexcept { return s_->size(); }
  const char* c_str() const noexcept { return s_->c_str(); }
  const char* data() const noexcept { return s_->data(); }
  std::string::const_iterator begin() const noexcept { return s_->begin(); }
  std::string::const_iterator end() const noexcept { return s_->end(); }

  // Distinct values interned so far (for tests and benchmarks).
  static std::size_t Count();

  friend bool operator==(const Atom& a, const Atom& b) noexcept { return a.s_ == b.s_; }
  friend bool operator==(const Atom& a, const std::string& b) noexcept { return *a.s_ == b; }
  friend bool operator==(const Atom& a, std::string_view b) noexcept { return *a.s_ == b; }
  friend bool operator==(const Atom& a, const char* b) noexcept { return *a.s_ == b; }
  friend std::strong_ordering operator<=>(const Atom& a, const Atom& b) noexcept {
    return a.s_ == b.s_ ? std::strong_ordering::equal : *a.s_ <=> *b.s_;
  }
  friend std::strong_ordering operator<=>(const Atom& a, const std::string& b) noexcept {
    return *a.s_ <=> b;
  }
  friend std::strong_ordering operator<=>(const Atom& a, std::string_view b) noexcept {
    return std::string_view(*a.s_) <=> b;
  }
  friend std::strong_ordering operator<=>(const Atom& a, const char* b) noexcept {
    return std::string_view(*a.s_) <=> std::string_view(b);
  }
  friend std::string operator+(const Atom& a, std::string_view b) { return Cat(*a.s_, b); }
  friend std::string operator+(std::string_view a, const Atom& b) { return Cat(a, *b.s_); }
  friend std::string operator+(const Atom& a, const Atom& b) { return Cat(*a.s_, *b.s_); }
  friend std::string operator+(const Atom& a, const std::string& b) { return Cat(*a.s_, b); }
  friend std::string operator+(const std::string& a, const Atom& b) { return Cat(a, *b.s_); }
  friend std::string operator+(const Atom& a, const char* b) { return Cat(*a.s_, b); }
  friend std::string operator+(const char* a, const Atom& b) { return Cat(a, *b.s_); }
  friend std::string operator+(const Atom& a, char b) {
    return Cat(*a.s_, std::string_view(&b, 1));
  }
  friend std::string operator+(char a, const Atom& b) {
    return Cat(std::string_view(&a, 1), *b.s_);
  }
  friend std::ostream& operator<<(std::ostream& out, const Atom& a);

 private:
  static const std::string& Empty() noexcept;
  static std::string Cat(std::string_view a, std::string_view b) {
    std::string out;
    out.reserve(a.size() + b.size());
    out.append(a);
    out.append(b);
    return out;
  }
  const std::string* s_;
};

// nlohmann::json reads and writes an Atom as the string it is (found by argument-dependent
// lookup; templates, so this header needs no JSON include).
template <typename Json>
void to_json(Json& j, const Atom& a) {
  j = a.str();
}
template <typename Json>
void from_json(const Json& j, Atom& a) {
  a = Atom(j.template get<std::string>());
}

}  // namespace aura::base
