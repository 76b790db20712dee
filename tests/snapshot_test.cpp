// The snapshot codec against damaged and hostile input: every failure is a snapshot_error
// that says what and where, never a crash, never an allocation sized by a forged length.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <random>
#include <variant>

#include <cereal/types/polymorphic.hpp>

#include "storage/internal/crc32c.hpp"
#include "storage/snapshot.hpp"
#include "tests/support/fixtures.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

// A graph with every kind of edge: nested closures, a self-cycle, mutual recursion, a ring of
// cells, and user state shared through Cereal's own pointer tracking.
using rich_graph = std::tuple<closure<std::string()>, closure<const void*()>,
                              std::pair<closure<bool(int)>, closure<bool(int)>>, cell<light>>;

rich_graph make_rich_graph() { return {f1("hi"), g1(), make_parity(), make_traffic_light()}; }

// Builds payloads field by field, in the encoding of docs/format.md.
struct payload_writer {
  std::string bytes;
  payload_writer& u8(std::uint8_t v) { return raw(&v, 1); }
  payload_writer& u32(std::uint32_t v) { return raw(&v, 4); }
  payload_writer& u64(std::uint64_t v) { return raw(&v, 8); }
  payload_writer& str(std::string_view s) {
    u64(s.size());
    bytes.append(s);
    return *this;
  }
  payload_writer& raw(const void* p, std::size_t n) {
    bytes.append(static_cast<const char*>(p), n);
    return *this;
  }
};

std::string seal(const std::string& payload) {
  std::string snapshot(snapshot_header_size, '\0');
  snapshot += payload;
  detail::seal_snapshot(snapshot);
  return snapshot;
}

// Recomputes the header checksum after a test edited a header field on purpose.
void reseal_header(std::string& snapshot) {
  const std::uint32_t crc = detail::crc32c(snapshot.data(), 20);
  std::memcpy(snapshot.data() + 20, &crc, 4);
}

template <class T>
snapshot_error decode_error(const std::string& bytes, std::string subject = {}) {
  try {
    auto result = decode_snapshot<T>(bytes, std::move(subject));
    release(result);
  } catch (const snapshot_error& e) {
    return e;
  }
  FAIL("decoding did not fail");
  throw std::logic_error("unreachable");
}

// is_even(n, odd_slot) as a root: closure 1 -> cell 2 -> (empty closure).
payload_writer is_even_payload(std::string_view name = "test.is_even", std::uint32_t captures = 1) {
  payload_writer w;
  w.u32(1).u32(0).str(name).u32(captures);  // root: new node 1, new function 0
  w.u32(2);                                 // node 1's capture: new cell, node 2
  w.u32(0);                                 // node 2's value: an empty closure
  return w;
}

}  // namespace

TEST_CASE("CRC32C matches the standard check value on both implementations") {
  CHECK(detail::crc32c("123456789", 9) == 0xE3069283u);
  CHECK(detail::crc32c_portable("123456789", 9) == 0xE3069283u);
  std::mt19937 rng(7);
  std::string buf(1000, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  for (std::size_t n = 0; n < buf.size(); n += 37)
    CHECK(detail::crc32c(buf.data(), n) == detail::crc32c_portable(buf.data(), n));
}

TEST_CASE("a hand-built payload in the documented encoding decodes") {
  auto even = decode_snapshot<closure<bool(int)>>(seal(is_even_payload().bytes));
  CHECK(even(0));
  CHECK_THROWS_AS(even(1), bad_closure_call);  // its slot holds an empty closure
  release(even);
}

TEST_CASE("every truncation of a snapshot is reported as truncated") {
  const rich_graph graph = make_rich_graph();
  const std::string bytes = encode_snapshot(graph);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    const snapshot_error e = decode_error<rich_graph>(bytes.substr(0, length));
    INFO("length " << length);
    REQUIRE(e.code() == snapshot_errc::truncated);
  }
  release(graph);
}

TEST_CASE("a flipped bit anywhere in a snapshot is reported, never loaded") {
  const rich_graph graph = make_rich_graph();
  const std::string bytes = encode_snapshot(graph);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << bit));
      const snapshot_error e = decode_error<rich_graph>(damaged);
      INFO("byte " << at << " bit " << bit << ": " << e.what());
      REQUIRE((e.code() == snapshot_errc::checksum_mismatch || e.code() == snapshot_errc::bad_magic));
    }
  }
  release(graph);
}

TEST_CASE("forged payloads with valid checksums either load or fail with snapshot_error") {
  // Checksums catch accidents, not forgery: the decoder must stand on its own bounds checks.
  const rich_graph graph = make_rich_graph();
  const std::string payload = encode_snapshot(graph).substr(snapshot_header_size);
  std::map<std::string, int> outcomes;
  for (std::size_t at = 0; at < payload.size(); ++at) {
    for (std::uint8_t replacement : {std::uint8_t(payload[at] ^ 0x01), std::uint8_t(payload[at] ^ 0x80),
                                     std::uint8_t(0x00), std::uint8_t(0xFF)}) {
      std::string forged = payload;
      forged[at] = static_cast<char>(replacement);
      try {
        auto loaded = decode_snapshot<rich_graph>(seal(forged));
        release(loaded);
        ++outcomes["loaded"];
      } catch (const snapshot_error& e) {
        ++outcomes[std::string(to_string(e.code()))];
      }
    }
  }
  for (const auto& [outcome, count] : outcomes) UNSCOPED_INFO(outcome << ": " << count);
  CHECK(outcomes["size_limit"] + outcomes["truncated"] > 0);
  CHECK(outcomes["bad_reference"] > 0);
  CHECK(outcomes["signature_mismatch"] + outcomes["unknown_function"] > 0);
  release(graph);
}

TEST_CASE("a length field larger than the input is refused before allocating") {
  payload_writer w;
  w.u32(1).u32(0).str("test.seed.f2").u32(1);  // f2 captures one std::string...
  w.u64(6'000'000'000ull);                     // ...that claims to be 6 GB long
  const snapshot_error e = decode_error<closure<std::string()>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::size_limit);
  CHECK(e.offset() == snapshot_header_size + 32);
  CHECK_THAT(e.what(), Catch::Contains("length 6000000000 exceeds the 0 bytes that remain"));
}

namespace {

// An allocator that remembers the largest single allocation it was asked for.
inline std::size_t largest_allocation = 0;
template <class T>
struct measuring_allocator {
  using value_type = T;
  measuring_allocator() = default;
  template <class U>
  measuring_allocator(const measuring_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    largest_allocation = std::max(largest_allocation, n * sizeof(T));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const measuring_allocator&, const measuring_allocator&) { return true; }
};

// A user type that nests as deep as its data.
struct tree {
  std::vector<tree> children;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(children);
  }
};

}  // namespace

TEST_CASE("a vector of large elements allocates only for elements the input can hold") {
  using big = std::array<std::uint8_t, 65536>;
  payload_writer w;
  w.u64(1000);                              // claims 1,000 elements of 64 KiB (64 MB)...
  w.bytes.append(1000, '\x01');             // ...and carries 1,000 bytes
  largest_allocation = 0;
  const snapshot_error e = decode_error<std::vector<big, measuring_allocator<big>>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::truncated);
  CHECK(largest_allocation <= sizeof(big));  // room for the one element being read, no more
}

TEST_CASE("a vector of numbers longer than the input is refused before allocating") {
  payload_writer w;
  w.u64(100).u64(1);  // 100 uint64 claimed, 8 bytes present
  largest_allocation = 0;
  const snapshot_error e = decode_error<std::vector<std::uint64_t, measuring_allocator<std::uint64_t>>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::size_limit);
  CHECK(largest_allocation == 0);
}

TEST_CASE("values nested deeper than the limit are refused on load, not a stack overflow") {
  payload_writer w;
  for (int i = 0; i < 200'000; ++i) w.u64(1);  // each tree has one child, 200,000 deep
  w.u64(0);
  const snapshot_error e = decode_error<tree>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::nesting_limit);
}

TEST_CASE("values nested deeper than the limit are refused on save, not a stack overflow") {
  tree deep;
  tree* at = &deep;
  for (int i = 0; i < 5'000; ++i) at = &at->children.emplace_back();
  CHECK_THROWS_AS(encode_snapshot(deep), std::length_error);
  // Modest nesting round-trips.
  tree shallow;
  at = &shallow;
  for (int i = 0; i < 100; ++i) at = &at->children.emplace_back();
  tree restored = decode_snapshot<tree>(encode_snapshot(shallow));
  int depth = 0;
  for (const tree* t = &restored; !t->children.empty(); t = &t->children.front()) ++depth;
  CHECK(depth == 100);
}

TEST_CASE("bools inside arrays must be 0 or 1 too") {
  std::string payload = encode_snapshot(std::array<bool, 4>{true, false, true, true}).substr(snapshot_header_size);
  payload[2] = 2;
  const snapshot_error e = decode_error<std::array<bool, 4>>(seal(payload));
  CHECK(e.code() == snapshot_errc::malformed);
  CHECK(e.offset() == snapshot_header_size + 2);
}

TEST_CASE("a function name not registered in this program is an error that names it") {
  const snapshot_error e =
      decode_error<closure<bool(int)>>(seal(is_even_payload("billing.charge_card").bytes), "actor \"account/42\"");
  CHECK(e.code() == snapshot_errc::unknown_function);
  CHECK_THAT(e.what(), Catch::StartsWith("snapshot of actor \"account/42\": unknown_function at offset 32"));
  CHECK_THAT(e.what(), Catch::Contains("\"billing.charge_card\""));
}

TEST_CASE("a function of another signature than the reader expects is refused") {
  const snapshot_error e = decode_error<closure<int(int)>>(seal(is_even_payload().bytes));
  CHECK(e.code() == snapshot_errc::signature_mismatch);
  CHECK_THAT(e.what(), Catch::Contains("makes closures of signature bool(int), expected int(int)"));
}

TEST_CASE("a function saved with another number of captures is refused") {
  const snapshot_error e = decode_error<closure<bool(int)>>(seal(is_even_payload("test.is_even", 2).bytes));
  CHECK(e.code() == snapshot_errc::signature_mismatch);
  CHECK_THAT(e.what(), Catch::Contains("saved with 2 captured values"));
}

TEST_CASE("a node reference to a node not yet defined is refused") {
  payload_writer w;
  w.u32(7);
  const snapshot_error e = decode_error<closure<bool(int)>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::bad_reference);
  CHECK(e.offset() == snapshot_header_size);
}

TEST_CASE("a function reference past the function table is refused") {
  payload_writer w;
  w.u32(1).u32(3);
  const snapshot_error e = decode_error<closure<bool(int)>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::bad_reference);
  CHECK(e.offset() == snapshot_header_size + 4);
}

TEST_CASE("a back-reference to a node of another type is refused, not cast") {
  payload_writer w;
  w.u32(1).u32(0).str("test.is_even").u32(1);
  w.u32(1);  // the captured cell<closure<bool(int)>> refers back to node 1, a closure
  const snapshot_error e = decode_error<closure<bool(int)>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::signature_mismatch);
  CHECK_THAT(e.what(), Catch::Contains("node 1 is a revenant::closure<bool(int)>"));
}

TEST_CASE("a bool stored as anything but 0 or 1 is refused at its offset") {
  std::string bytes = encode_snapshot(std::pair<int, bool>{1, true});
  bytes.back() = 2;
  std::string payload = bytes.substr(snapshot_header_size);
  const snapshot_error e = decode_error<std::pair<int, bool>>(seal(payload));
  CHECK(e.code() == snapshot_errc::malformed);
  CHECK(e.offset() == snapshot_header_size + 4);
}

TEST_CASE("bytes after the last node are refused") {
  payload_writer w = is_even_payload();
  w.u8(0);
  const snapshot_error e = decode_error<closure<bool(int)>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::malformed);
  CHECK_THAT(e.what(), Catch::Contains("1 bytes remain after the last node"));
}

TEST_CASE("errors raised inside Cereal are reported as malformed with their offset") {
  payload_writer w;
  w.u32(7);  // a std::variant of two alternatives, said to hold alternative 7
  const snapshot_error e = decode_error<std::variant<std::int32_t, std::string>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::malformed);
  CHECK(e.offset() == snapshot_header_size + 4);  // just past the index, where Cereal threw
  CHECK_THAT(e.what(), Catch::Contains("Invalid 'index' selector"));
}

TEST_CASE("a Cereal pointer back-reference to an id never defined is refused at the id") {
  payload_writer w;
  w.u32(1).u32(0).str("test.deposit").u32(1);
  w.u32(5);  // Cereal pointer id 5, not new (top bit clear) and unknown
  const snapshot_error e = decode_error<closure<std::int64_t(std::int64_t)>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::bad_reference);
  CHECK(e.offset() == snapshot_header_size + 32);
  CHECK_THAT(e.what(), Catch::Contains("unknown shared pointer id 5"));
}

TEST_CASE("a snapshot of a newer format version is refused") {
  std::string bytes = encode_snapshot(1);
  bytes[4] = 2;
  reseal_header(bytes);
  const snapshot_error e = decode_error<int>(bytes);
  CHECK(e.code() == snapshot_errc::unsupported_version);
  CHECK_THAT(e.what(), Catch::Contains("format version 2, this build reads version 1"));
}

TEST_CASE("reserved header flags must be zero") {
  std::string bytes = encode_snapshot(1);
  bytes[6] = 1;
  reseal_header(bytes);
  CHECK(decode_error<int>(bytes).code() == snapshot_errc::malformed);
}

TEST_CASE("bytes that are not a snapshot are refused by their magic") {
  const snapshot_error e = decode_error<int>(std::string(64, 'x'));
  CHECK(e.code() == snapshot_errc::bad_magic);
  CHECK(e.offset() == 0);
}

TEST_CASE("bytes after the payload are refused") {
  std::string bytes = encode_snapshot(1) + "extra";
  CHECK(decode_error<int>(bytes).code() == snapshot_errc::malformed);
}

TEST_CASE("a failed decode frees the cyclic graph it had half built") {
  // Under the asan preset, leak checking proves the half-built cycle was broken.
  const rich_graph graph = make_rich_graph();
  std::string payload = encode_snapshot(graph).substr(snapshot_header_size);
  payload += '\0';  // everything loads, then the trailing byte fails the decode
  CHECK(decode_error<rich_graph>(seal(payload)).code() == snapshot_errc::malformed);
  release(graph);
}

namespace {

// Values shared through Cereal's pointer tracking, read back by each of the loaders the codec
// uses: its own (one allocation), Cereal's for a type only Cereal may construct, and Cereal's
// load_and_construct.
struct pooled {
  int v = 0;
  template <class A>
  void serialize(A& a) {
    a(v);
  }
};
class guarded {
 public:
  explicit guarded(int x) : v(x) {}
  int v = 0;
  template <class A>
  void serialize(A& a) {
    a(v);
  }

 private:
  friend class cereal::access;
  guarded() = default;
};
struct built {
  explicit built(int x) : v(x) {}
  int v;
  template <class A>
  void serialize(A& a) {
    a(v);
  }
  template <class A>
  static void load_and_construct(A& a, cereal::construct<built>& construct) {
    int x = 0;
    a(x);
    construct(x);
  }
};
struct sharing {
  std::shared_ptr<pooled> a, b;
  std::weak_ptr<pooled> weak;
  std::shared_ptr<const pooled> as_const;
  std::shared_ptr<guarded> g1, g2;
  std::shared_ptr<built> c1, c2;
  std::shared_ptr<pooled> none;
  template <class A>
  void serialize(A& ar) {
    ar(a, b, weak, as_const, g1, g2, c1, c2, none);
  }
};

}  // namespace

TEST_CASE("objects shared through Cereal pointers stay shared, whichever loader builds them") {
  sharing s;
  s.a = std::make_shared<pooled>(pooled{7});
  s.b = s.a;
  s.weak = s.a;
  s.as_const = s.a;
  s.g1 = std::make_shared<guarded>(8);
  s.g2 = s.g1;
  s.c1 = std::make_shared<built>(9);
  s.c2 = s.c1;
  sharing back = decode_snapshot<sharing>(encode_snapshot(s));
  REQUIRE(back.a);
  CHECK(back.a->v == 7);
  CHECK(back.b == back.a);
  CHECK(back.weak.lock() == back.a);
  CHECK(back.as_const == back.a);
  CHECK(back.a.use_count() == 3);  // a, b, as_const: the archive kept no reference
  REQUIRE(back.g1);
  CHECK(back.g1->v == 8);
  CHECK(back.g2 == back.g1);
  REQUIRE(back.c1);
  CHECK(back.c1->v == 9);
  CHECK(back.c2 == back.c1);
  CHECK(back.none == nullptr);
}

TEST_CASE("a Cereal pointer back-reference must name an object read before it, whatever its id") {
  // Ids 1..4 are kept inline, others in a map: a forged first id of 9 with a back-reference to
  // it loads; a back-reference to an id defined nowhere does not.
  payload_writer ok;
  ok.u32(0x80000000u | 9).u32(41).u32(9);
  const auto pair = decode_snapshot<std::pair<std::shared_ptr<int>, std::shared_ptr<int>>>(seal(ok.bytes));
  REQUIRE(pair.first);
  CHECK(*pair.first == 41);
  CHECK(pair.second == pair.first);
  for (std::uint32_t missing : {2u, 4u, 5u, 0x7fffffffu}) {
    payload_writer bad;
    bad.u32(0x80000001u).u32(41).u32(missing);
    const snapshot_error e = decode_error<std::pair<std::shared_ptr<int>, std::shared_ptr<int>>>(seal(bad.bytes));
    CHECK(e.code() == snapshot_errc::bad_reference);
    CHECK(e.offset() == snapshot_header_size + 8);
    CHECK_THAT(e.what(), Catch::Contains("unknown shared pointer id " + std::to_string(missing)));
  }
}

namespace {

// A user type that may hold itself through Cereal pointers: a strong cycle in memory, which
// neither release() nor anything else can break.
struct knot {
  std::int32_t v = 0;
  std::shared_ptr<knot> next;
  template <class A>
  void serialize(A& a) {
    a(v, next);
  }
};

// A tree whose children point back at their parent weakly: the legitimate way to refer back to
// an object whose load has not finished.
struct family {
  std::int32_t v = 0;
  std::vector<std::shared_ptr<family>> kids;
  std::weak_ptr<family> parent;
  template <class A>
  void serialize(A& a) {
    a(v, kids, parent);
  }
};

// Polymorphic values loaded through a base pointer end in the concrete type's loader.
struct shape {
  virtual ~shape() = default;
  virtual std::int32_t area() const = 0;
  template <class A>
  void serialize(A&) {}
};
struct square final : shape {
  std::int32_t side = 0;
  std::int32_t area() const override { return side * side; }
  template <class A>
  void serialize(A& a) {
    a(cereal::base_class<shape>(this), side);
  }
};
struct strip final : shape {
  std::int32_t length = 0, width = 0;
  std::int32_t area() const override { return length * width; }
  template <class A>
  void serialize(A& a) {
    a(cereal::base_class<shape>(this), length, width);
  }
};

}  // namespace

CEREAL_REGISTER_TYPE_WITH_NAME(square, "test.snapshot.square")
CEREAL_REGISTER_TYPE_WITH_NAME(strip, "test.snapshot.strip")

TEST_CASE("a Cereal pointer back-reference to an object of another type is refused, not cast") {
  // Id 1 is a 4-byte int; read as a std::string it would be read past its end.
  payload_writer w;
  w.u32(0x80000001u).u32(41);  // first: new id 1, an int
  w.u32(1);                    // second: id 1 again, where a std::string is expected
  const snapshot_error e =
      decode_error<std::pair<std::shared_ptr<std::int32_t>, std::shared_ptr<std::string>>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::signature_mismatch);
  CHECK(e.offset() == snapshot_header_size + 8);
  CHECK_THAT(e.what(), Catch::Contains("shared pointer id 1 names an object of type int, expected std::"));
}

TEST_CASE("a Cereal pointer back-reference is type-checked whichever loader built the object") {
  // pooled: revenant's loader; guarded: only cereal::access constructs it; built:
  // load_and_construct. Each is referred back to as a pooled, then as a guarded.
  payload_writer from_built;
  from_built.u32(0x80000001u).u32(9).u32(1);
  const snapshot_error b = decode_error<std::pair<std::shared_ptr<built>, std::shared_ptr<pooled>>>(seal(from_built.bytes));
  CHECK(b.code() == snapshot_errc::signature_mismatch);
  CHECK_THAT(b.what(), Catch::Contains("names an object of type {anonymous}::built, expected {anonymous}::pooled"));

  payload_writer from_guarded;
  from_guarded.u32(0x80000001u).u32(8).u32(1);
  const snapshot_error g =
      decode_error<std::pair<std::shared_ptr<guarded>, std::shared_ptr<pooled>>>(seal(from_guarded.bytes));
  CHECK(g.code() == snapshot_errc::signature_mismatch);
  CHECK_THAT(g.what(), Catch::Contains("names an object of type {anonymous}::guarded, expected {anonymous}::pooled"));

  payload_writer from_pooled;
  from_pooled.u32(0x80000001u).u32(7).u32(1);
  const snapshot_error p =
      decode_error<std::pair<std::shared_ptr<pooled>, std::shared_ptr<guarded>>>(seal(from_pooled.bytes));
  CHECK(p.code() == snapshot_errc::signature_mismatch);

  // A std::weak_ptr back-reference is checked just the same.
  const snapshot_error weak =
      decode_error<std::pair<std::shared_ptr<pooled>, std::weak_ptr<built>>>(seal(from_pooled.bytes));
  CHECK(weak.code() == snapshot_errc::signature_mismatch);
}

TEST_CASE("a Cereal pointer back-reference to an object of another polymorphic type is refused") {
  // a and c are one square, b is a strip; the forgery makes c name the strip's type.
  const std::shared_ptr<shape> a = std::make_shared<square>();
  const std::shared_ptr<shape> b = std::make_shared<strip>();
  using shapes = std::tuple<std::shared_ptr<shape>, std::shared_ptr<shape>, std::shared_ptr<shape>>;
  std::string payload = encode_snapshot(shapes{a, b, a}).substr(snapshot_header_size);
  // c is written last: its polymorphic name id (1, the square's), then its pointer id (1).
  std::uint32_t name_id;
  std::memcpy(&name_id, payload.data() + payload.size() - 8, 4);
  REQUIRE(name_id == 1);
  const shapes legit = decode_snapshot<shapes>(seal(payload));
  CHECK(std::get<2>(legit) == std::get<0>(legit));
  CHECK(std::get<2>(legit) != std::get<1>(legit));

  name_id = 2;  // the strip's
  std::memcpy(payload.data() + payload.size() - 8, &name_id, 4);
  const snapshot_error e = decode_error<shapes>(seal(payload));
  CHECK(e.code() == snapshot_errc::signature_mismatch);
  CHECK(e.offset() == snapshot_header_size + payload.size() - 4);
  CHECK_THAT(e.what(), Catch::Contains("names an object of type {anonymous}::square, expected {anonymous}::strip"));
}

namespace {
// Built by load_and_construct, which reads more after constructing it: what it owns must be
// freed when that later read fails.
struct owning {
  explicit owning(std::string s) : text(std::move(s)) {}
  std::string text;
  template <class A>
  void serialize(A& a) {
    a(text);
  }
  template <class A>
  static void load_and_construct(A& a, cereal::construct<owning>& construct) {
    std::string text;
    a(text);
    construct(std::move(text));
    std::int32_t extra = 0;
    a(extra);  // after construction: a truncated input fails here
  }
};
}  // namespace

TEST_CASE("an object load_and_construct built before its load failed is destroyed, not leaked") {
  // Under the asan preset, leak checking proves the constructed object's string was freed.
  payload_writer w;
  w.u32(0x80000001u).str("a string long enough to live on the heap");  // no extra field follows
  const snapshot_error e = decode_error<std::shared_ptr<owning>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::truncated);
}

TEST_CASE("a Cereal pointer that refers back to the object holding it is refused, not a leak") {
  // Under the asan preset, leak checking proves no cycle was left behind.
  payload_writer w;
  w.u32(0x80000001u).u32(5);  // new id 1, a knot with v = 5...
  w.u32(1);                   // ...whose next is id 1: itself
  const snapshot_error e = decode_error<std::shared_ptr<knot>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::bad_reference);
  CHECK(e.offset() == snapshot_header_size + 8);
  CHECK_THAT(e.what(), Catch::Contains("shared pointer id 1 refers back to an object of type {anonymous}::knot whose load has not finished"));
}

TEST_CASE("a Cereal pointer back to an ancestor still being loaded is refused, not a leak") {
  payload_writer w;
  w.u32(0x80000001u).u32(1);  // knot 1...
  w.u32(0x80000002u).u32(2);  // ...holds knot 2...
  w.u32(0x80000003u).u32(3);  // ...holds knot 3...
  w.u32(1);                   // ...which holds knot 1, whose load has not finished
  const snapshot_error e = decode_error<std::shared_ptr<knot>>(seal(w.bytes));
  CHECK(e.code() == snapshot_errc::bad_reference);
  CHECK(e.offset() == snapshot_header_size + 24);
  // The same object met again once its load has finished is plain sharing.
  payload_writer ok;
  ok.u32(0x80000001u).u32(1).u32(0);  // knot 1, next null
  ok.u32(1);                          // knot 1 again
  const auto pair = decode_snapshot<std::pair<std::shared_ptr<knot>, std::shared_ptr<knot>>>(seal(ok.bytes));
  CHECK(pair.second == pair.first);
}

TEST_CASE("a Cereal pointer id defined twice is refused") {
  for (std::uint32_t id : {1u, 9u}) {
    payload_writer w;
    w.u32(0x80000000u | id).u32(41);
    w.u32(0x80000000u | id).u32(42);
    const snapshot_error e = decode_error<std::pair<std::shared_ptr<int>, std::shared_ptr<int>>>(seal(w.bytes));
    CHECK(e.code() == snapshot_errc::bad_reference);
    CHECK(e.offset() == snapshot_header_size + 8);
    CHECK_THAT(e.what(), Catch::Contains("shared pointer id " + std::to_string(id) + " is defined twice"));
  }
  payload_writer zero;
  zero.u32(0x80000000u).u32(41);
  CHECK(decode_error<std::shared_ptr<int>>(seal(zero.bytes)).code() == snapshot_errc::bad_reference);
}

TEST_CASE("a std::weak_ptr back to an object still being loaded loads, as in memory") {
  auto root = std::make_shared<family>();
  root->v = 1;
  for (std::int32_t i = 2; i <= 3; ++i) {
    auto kid = std::make_shared<family>();
    kid->v = i;
    kid->parent = root;
    root->kids.push_back(kid);
  }
  const auto back = decode_snapshot<std::shared_ptr<family>>(encode_snapshot(root));
  REQUIRE(back->kids.size() == 2);
  CHECK(back->kids[0]->parent.lock() == back);
  CHECK(back->kids[1]->parent.lock() == back);
  CHECK(back->kids[1]->v == 3);
  CHECK(back.use_count() == 1);  // the children hold it weakly: no cycle to leak
}

TEST_CASE("polymorphic objects shared through base pointers stay shared and keep their type") {
  const auto sq = std::make_shared<square>();
  sq->side = 3;
  const std::shared_ptr<shape> as_base = sq;
  const auto st = std::make_shared<strip>();
  st->length = 2;
  st->width = 5;
  using mixed = std::tuple<std::shared_ptr<shape>, std::shared_ptr<shape>, std::weak_ptr<shape>, std::shared_ptr<shape>>;
  const mixed back = decode_snapshot<mixed>(encode_snapshot(mixed{as_base, st, as_base, as_base}));
  REQUIRE(std::get<0>(back));
  CHECK(std::get<0>(back)->area() == 9);
  CHECK(std::get<1>(back)->area() == 10);
  CHECK(std::get<2>(back).lock() == std::get<0>(back));
  CHECK(std::get<3>(back) == std::get<0>(back));
}

TEST_CASE("a cycle of strong std::shared_ptrs is refused on save, naming the type") {
  // No reader accepts it (it could never be freed), so no writer produces it.
  auto k = std::make_shared<knot>();
  k->next = k;
  try {
    encode_snapshot(k);
    FAIL("a strong cycle was encoded");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains("std::shared_ptr<{anonymous}::knot> refers back to an object that holds it"));
  }
  k->next.reset();  // break the test's own cycle
  // The same knot reached twice without a cycle is plain sharing.
  auto tail = std::make_shared<knot>();
  const auto pair = decode_snapshot<std::pair<std::shared_ptr<knot>, std::shared_ptr<knot>>>(encode_snapshot(std::pair{tail, tail}));
  CHECK(pair.first == pair.second);
}
