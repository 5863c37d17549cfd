// KeyText: an immutable string shared by reference count, for the keys of
// rollup cells and series (tenant, metric, series key). A batch has one copy
// of each label set's tenant and series key (in its CanonicalLabelSet, shared
// with the LabelSetCache and the batches after it) and of each metric name;
// its cells and series refer to those copies instead of holding three
// std::strings each, so building, merging, journaling and dropping a cell
// allocates nothing for its keys. Two KeyTexts of one copy compare equal
// without reading the bytes.
//
// Named copies (KeyText::Named: metric names and tenants) also carry a
// process-wide id of their text, so two copies of one name made by
// different batches compare equal without reading the bytes either, while
// each batch keeps its own copy (its own reference count: no cache line
// shared by every executor thread). Equal non-zero ids are equal texts.
// Thread-safe as a std::shared_ptr to const: copies may be made and dropped
// on any thread; the text never changes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <ostream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace agentwatch::monitor {

class KeyText {
 public:
  // The empty text (no allocation).
  KeyText() = default;
  // A new copy of `text` (the empty text allocates nothing). Implicit, so a
  // key is assigned from a string as before.
  KeyText(absl::string_view text) : rep_(Make(text)) {}  // NOLINT(runtime/explicit)
  KeyText(const std::string& text)                       // NOLINT(runtime/explicit)
      : KeyText(absl::string_view(text)) {}
  KeyText(const char* text) : KeyText(absl::string_view(text)) {}  // NOLINT(runtime/explicit)

  // A new copy of `text` carrying the process-wide id of that text (see the
  // file comment): equal to every other named copy of it without a
  // comparison of the bytes. Takes a mutex: for names a batch makes once
  // (its metric names, a new label set's tenant), not per cell. Past
  // kMaxNamedTexts distinct texts, or for a text longer than
  // kMaxNamedTextBytes, the copy has no id and compares by its bytes.
  static KeyText Named(absl::string_view text);
  static constexpr size_t kMaxNamedTexts = 1 << 14;
  static constexpr size_t kMaxNamedTextBytes = 256;
  // The id of a named copy; 0 for other copies and the empty text.
  uint32_t name_id() const { return rep_ == nullptr ? 0 : rep_->id; }

  KeyText(const KeyText& other) noexcept : rep_(other.rep_) {
    if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  KeyText(KeyText&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  KeyText& operator=(const KeyText& other) noexcept {
    if (other.rep_ != nullptr) other.rep_->refs.fetch_add(1, std::memory_order_relaxed);
    Release(std::exchange(rep_, other.rep_));
    return *this;
  }
  KeyText& operator=(KeyText&& other) noexcept {
    if (this != &other) Release(std::exchange(rep_, std::exchange(other.rep_, nullptr)));
    return *this;
  }
  ~KeyText() { Release(rep_); }

  const char* data() const { return rep_ == nullptr ? "" : rep_->text(); }
  size_t size() const { return rep_ == nullptr ? 0 : rep_->size; }
  bool empty() const { return size() == 0; }
  absl::string_view view() const { return absl::string_view(data(), size()); }
  operator absl::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  std::string str() const { return std::string(view()); }

  // Whether both refer to one copy (then they are equal).
  bool SharesCopyWith(const KeyText& other) const { return rep_ == other.rep_; }
  // Whether both are known equal without reading the bytes: one copy, or
  // named copies of one text. False says nothing.
  bool KnownEqual(const KeyText& other) const {
    return rep_ == other.rep_ ||
           (rep_ != nullptr && other.rep_ != nullptr && rep_->id != 0 && rep_->id == other.rep_->id);
  }

  friend bool operator==(const KeyText& a, const KeyText& b) {
    return a.KnownEqual(b) || a.view() == b.view();
  }
  friend bool operator!=(const KeyText& a, const KeyText& b) { return !(a == b); }
  friend bool operator<(const KeyText& a, const KeyText& b) {
    return !a.KnownEqual(b) && a.view() < b.view();
  }
  friend bool operator>(const KeyText& a, const KeyText& b) { return b < a; }
  friend bool operator<=(const KeyText& a, const KeyText& b) { return !(b < a); }
  friend bool operator>=(const KeyText& a, const KeyText& b) { return !(a < b); }

#define AW_KEY_TEXT_COMPARE_WITH(Other)                                              \
  friend bool operator==(const KeyText& a, const Other& b) { return a.view() == b; } \
  friend bool operator==(const Other& a, const KeyText& b) { return a == b.view(); } \
  friend bool operator!=(const KeyText& a, const Other& b) { return a.view() != b; } \
  friend bool operator!=(const Other& a, const KeyText& b) { return a != b.view(); } \
  friend bool operator<(const KeyText& a, const Other& b) { return a.view() < b; }   \
  friend bool operator<(const Other& a, const KeyText& b) { return a < b.view(); }
  AW_KEY_TEXT_COMPARE_WITH(absl::string_view)
  AW_KEY_TEXT_COMPARE_WITH(std::string)
#undef AW_KEY_TEXT_COMPARE_WITH
  friend bool operator==(const KeyText& a, const char* b) { return a.view() == b; }
  friend bool operator==(const char* a, const KeyText& b) { return b.view() == a; }
  friend bool operator!=(const KeyText& a, const char* b) { return a.view() != b; }
  friend bool operator!=(const char* a, const KeyText& b) { return b.view() != a; }

  template <typename H>
  friend H AbslHashValue(H h, const KeyText& text) {
    return H::combine(std::move(h), text.view());
  }
  template <typename Sink>
  friend void AbslStringify(Sink& sink, const KeyText& text) {
    sink.Append(text.view());
  }
  friend std::ostream& operator<<(std::ostream& os, const KeyText& text) {
    return os << text.view();
  }

 private:
  struct Rep {
    std::atomic<uint32_t> refs;
    uint32_t size;
    uint32_t id;  // Named's id of the text, 0: none
    uint32_t unused;
    char* text() { return reinterpret_cast<char*>(this + 1); }
  };

  static Rep* Make(absl::string_view text, uint32_t id = 0) {
    if (text.empty()) return nullptr;
    void* memory = ::operator new(sizeof(Rep) + text.size());
    Rep* rep = new (memory) Rep;
    rep->refs.store(1, std::memory_order_relaxed);
    rep->size = static_cast<uint32_t>(text.size());
    rep->id = id;
    rep->unused = 0;
    std::memcpy(rep->text(), text.data(), text.size());
    return rep;
  }
  static void Release(Rep* rep) {
    if (rep == nullptr) return;
    // The last holder needs no atomic read-modify-write: nobody else can
    // add a reference to a copy only it holds.
    if (rep->refs.load(std::memory_order_acquire) == 1 ||
        rep->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      rep->~Rep();
      ::operator delete(rep);
    }
  }

  Rep* rep_ = nullptr;
};

}  // namespace agentwatch::monitor
