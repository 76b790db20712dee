// The inspect tool's commands (tools/inspect.hpp says what each shows). Each opens the store at
// path itself, writes its result to out and returns the exit code; each throws inspect_error
// (actor_report.hpp) or store_error for a store or actor it cannot read.
#pragma once

#include <ostream>
#include <string>

namespace revenant::detail {

// `list`: one row per actor, then a summary line.
int list_actors(const std::string& path, std::ostream& out);

// `dump`: the actor name as one JSON object.
int dump_actor(const std::string& path, const std::string& name, std::ostream& out);

// `dot`: the closure graph of the actor name in Graphviz DOT. Returns 1, with the reason written to
// err after program, if the graph cannot be rebuilt.
int dot_graph(const std::string& path, const std::string& name, std::ostream& out, std::ostream& err,
              const std::string& program);

}  // namespace revenant::detail
