// The inspect tool's `dot` command (commands.hpp): one actor's closure graph in Graphviz DOT.
#include "tools/internal/commands.hpp"

#include <memory>
#include <string>

#include "storage/store.hpp"
#include "tools/internal/actor_report.hpp"
#include "tools/internal/closure_graph.hpp"
#include "tools/internal/text.hpp"

namespace revenant::detail {

int dot_graph(const std::string& path, const std::string& name, std::ostream& out, std::ostream& err,
              const std::string& program) {
  const std::unique_ptr<store> db = open_existing(path);
  const actor_report r = read_actor(*db, name);
  if (!r.graph) {
    err << program << ": " << r.graph_error << '\n';
    return 1;
  }
  const closure_graph& g = *r.graph;
  out << "digraph " << dot_string("actor " + name) << " {\n"
      << "  node [fontname=\"Helvetica\", fontsize=11];\n"
      << "  actor [shape=doubleoctagon, label=" << dot_string("actor \"" + name + "\"") << "];\n";
  for (const graph_vertex& v : g.vertices) {
    const char* shape = v.kind == vertex_kind::closure ? "box" : v.kind == vertex_kind::cell ? "ellipse" : "note";
    std::string style = v.kind == vertex_kind::closure ? "rounded" : "";
    if (v.shared()) style += style.empty() ? "filled" : ",filled";
    out << "  " << v.name() << " [shape=" << shape;
    if (!style.empty()) out << ", style=\"" << style << '"';
    if (v.shared()) out << ", fillcolor=\"gold\"";
    out << ", label=" << dot_string(v.label) << "];\n";
  }
  for (const graph_root& root : g.roots)
    out << "  actor -> " << g.vertices[root.vertex].name() << " [style=dashed, label="
        << dot_string(root.role == "continuation" ? "ask " + std::to_string(root.request) : root.role) << "];\n";
  for (const graph_edge& e : g.edges) {
    out << "  " << g.vertices[e.from].name() << " -> " << g.vertices[e.to].name();
    if (e.closes_cycle) out << " [color=red, penwidth=2]";
    out << ";\n";
  }
  out << "}\n";
  return 0;
}

}  // namespace revenant::detail
