// Records an actor's closure graph from the encoder's walk and marks its shared vertices and
// cycle-closing edges (closure_graph.hpp).
#include "tools/internal/closure_graph.hpp"

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "actors/detail/archive.hpp"
#include "actors/graph.hpp"
#include "runtime/internal/image.hpp"
#include "storage/snapshot.hpp"
#include "tools/internal/text.hpp"

namespace revenant::detail {
namespace {

using detail::actor_image;

// Builds a closure_graph from an encoder's walk.
class graph_recorder final : public detail::graph_tracer {
 public:
  void on_node(std::uint32_t id, const detail::node_base& node) override {
    (void)id;  // ids arrive as 1, 2, 3, ...: node id is node_vertex_[id - 1]
    const detail::function_entry* fn = node.function();
    node_vertex_.push_back(add_vertex(fn != nullptr ? vertex_kind::closure : vertex_kind::cell,
                                      static_cast<std::uint32_t>(node_vertex_.size() + 1),
                                      fn != nullptr ? fn->name : short_type_name(node.type_display_name())));
    node_id_.emplace(&node, static_cast<std::uint32_t>(node_vertex_.size()));
  }
  void on_edge(std::uint32_t from, std::uint32_t to) override {
    if (from != 0) add_edge(node_vertex_[from - 1], node_vertex_[to - 1]);
    // References from the root are found from the image itself (add_root), which knows their roles.
  }
  void on_shared(std::uint32_t from, const void* object) override {
    auto [it, fresh] = object_vertex_.try_emplace(object, 0);
    if (fresh) {
      const auto number = static_cast<std::uint32_t>(object_vertex_.size());
      it->second = add_vertex(vertex_kind::shared_object, number, "shared object #" + std::to_string(number));
    }
    if (from != 0) add_edge(node_vertex_[from - 1], it->second);
  }

  // Names a node the image references itself; node must be one the walk met.
  void add_root(std::string role, std::uint64_t request, const detail::node_base* node) {
    if (node == nullptr) return;
    const auto id = node_id_.find(node);
    if (id != node_id_.end()) graph_.roots.push_back(graph_root{std::move(role), request, node_vertex_[id->second - 1]});
  }

  // The graph, with shared state and cycle-closing edges marked.
  closure_graph finish() && {
    for (const graph_edge& e : graph_.edges) ++graph_.vertices[e.to].incoming;
    mark_cycles();
    return std::move(graph_);
  }

  closure_graph& graph() noexcept { return graph_; }

 private:
  std::size_t add_vertex(vertex_kind kind, std::uint32_t number, std::string label) {
    graph_.vertices.push_back(graph_vertex{kind, number, std::move(label)});
    return graph_.vertices.size() - 1;
  }
  void add_edge(std::size_t from, std::size_t to) {
    if (edge_keys_.insert((static_cast<std::uint64_t>(from) << 32) | to).second)
      graph_.edges.push_back(graph_edge{from, to});
  }

  // Marks the back edges of a depth-first walk from the roots in order (then from any vertex
  // not reached): exactly one edge per independent cycle is marked. Iterative, like the codec,
  // so a long chain does not exhaust the stack.
  void mark_cycles() {
    const std::size_t n = graph_.vertices.size();
    std::vector<std::vector<std::size_t>> out(n);
    for (std::size_t e = 0; e < graph_.edges.size(); ++e) out[graph_.edges[e].from].push_back(e);
    enum : std::uint8_t { unseen, open, done };
    std::vector<std::uint8_t> state(n, unseen);
    std::vector<std::pair<std::size_t, std::size_t>> stack;  // vertex, next out-edge to follow
    const auto walk_from = [&](std::size_t start) {
      if (state[start] != unseen) return;
      state[start] = open;
      stack.emplace_back(start, 0);
      while (!stack.empty()) {
        const std::size_t v = stack.back().first;
        if (stack.back().second == out[v].size()) {
          state[v] = done;
          stack.pop_back();
          continue;
        }
        graph_edge& e = graph_.edges[out[v][stack.back().second++]];
        if (state[e.to] == open) {
          e.closes_cycle = true;
        } else if (state[e.to] == unseen) {
          state[e.to] = open;
          stack.emplace_back(e.to, 0);
        }
      }
    };
    for (const graph_root& r : graph_.roots) walk_from(r.vertex);
    for (std::size_t v = 0; v < n; ++v) walk_from(v);
  }

  closure_graph graph_;
  std::vector<std::size_t> node_vertex_;  // vertex of node id, at id - 1
  std::unordered_map<const detail::node_base*, std::uint32_t> node_id_;
  std::unordered_map<const void*, std::size_t> object_vertex_;
  std::unordered_set<std::uint64_t> edge_keys_;
};

// Stands for an actor named in a snapshot: the tool has no actor system, and only the name matters.
class named_actor final : public detail::actor_base {
 public:
  explicit named_actor(std::string name) : detail::actor_base(0, std::move(name)) {}
  void enqueue(message_ptr) override {}
  void add_watcher(const std::shared_ptr<detail::actor_base>&) override {}
};

// Resolves every actor reference to a named_actor and remembers the names.
class naming_resolver final : public detail::actor_resolver {
 public:
  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override {
    names.insert(name);
    return std::make_shared<named_actor>(name);
  }
  std::set<std::string> names;
};

}  // namespace

closure_graph trace_graph(std::string_view snapshot, const std::string& subject) {
  naming_resolver resolver;
  actor_image image;
  image = decode_snapshot<actor_image>(snapshot, subject, &resolver);
  graph_recorder recorder;
  try {
    detail::graph_output_archive walk(nullptr, &recorder);
    walk(image);
    walk.drain();
    recorder.add_root("behavior", 0, detail::edge_traits<behavior>::node(image.current));
    for (const auto& p : image.pending)
      recorder.add_root("continuation", p.request, detail::edge_traits<continuation>::node(p.then));
  } catch (...) {
    release(image);
    throw;
  }
  release(image);
  recorder.graph().referenced_actors = std::move(resolver.names);
  return std::move(recorder).finish();
}

}  // namespace revenant::detail
