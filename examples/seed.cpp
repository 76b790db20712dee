// The two closure shapes that defeat naive serializers, saved by one process and restored,
// then called, by another:
//   1. nested: f1(arg) returns f3, which captured f2; both print arg.
//   2. cyclic: g1() returns g2, whose closure holds g2 itself.
//
//   seed save FILE   build both closures and write one snapshot to FILE
//   seed load FILE   read FILE in a fresh process, call what it restored
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <utility>

#include <unistd.h>

#include "actors/closure.hpp"
#include "actors/graph.hpp"
#include "storage/snapshot.hpp"

namespace seed {

// Shape 1. Call arguments come first, captured values after them: these take none.
void print_arg(const std::string& arg) { std::cout << "f2 prints " << arg << '\n'; }
inline const revenant::function<void(), print_arg> f2_fn{"seed.f2"};

void print_then_call(const revenant::closure<void()>& f2, const std::string& arg) {
  std::cout << "f3 prints " << arg << '\n';
  f2();
}
inline const revenant::function<void(), print_then_call> f3_fn{"seed.f3"};

revenant::closure<void()> f1(const std::string& arg) { return f3_fn.bind(f2_fn.bind(arg), arg); }

// Shape 2. g2 reaches itself through `self`; it returns the identity of what it holds.
const void* holds_itself(const revenant::self_ref<const void*()>& self) { return self.get().identity(); }
inline const revenant::function<const void*(), holds_itself> g2_fn{"seed.g2"};

revenant::closure<const void*()> g1() { return g2_fn.bind_recursive(); }

// Both roots travel in one snapshot.
using roots = std::pair<revenant::closure<void()>, revenant::closure<const void*()>>;

}  // namespace seed

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode == "save") {
    seed::roots roots{seed::f1("hello"), seed::g1()};
    const std::string bytes = revenant::encode_snapshot(roots);
    std::ofstream(argv[2], std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout << "process " << getpid() << " saved f3 (captures f2) and g2 (captures itself): " << bytes.size()
              << " bytes to " << argv[2] << '\n';
    revenant::release(roots);  // g2's knot would otherwise keep it alive forever
    return 0;
  }
  if (mode == "load") {
    std::ifstream in(argv[2], std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    try {
      auto [f3, g2] = revenant::decode_snapshot<seed::roots>(bytes, std::string("file ") + argv[2]);
      std::cout << "restored f3, calling it:\n";
      f3();
      const bool same = g2() == g2.identity();
      std::cout << "restored g2: the closure it captured is " << (same ? "g2 itself" : "A DIFFERENT OBJECT")
                << " (restored in process " << getpid() << ")\n";
      revenant::release(g2);
      return same ? 0 : 1;
    } catch (const revenant::snapshot_error& e) {
      std::cerr << e.what() << '\n';
      return 2;
    }
  }
  std::cerr << "usage: " << argv[0] << " save|load FILE\n";
  return 64;
}
