// The inspect tool: reads a durable store (runtime/actor_system.hpp, durable_config) and shows
// what its actors hold, without running them.
//
//   <prog> list <store-dir>          one row per actor: behavior, record size, pending mailbox
//                                    messages, asks and timers, quarantine, damage
//   <prog> dump <store-dir> <actor>  one actor as JSON: its record, asks, timers, order
//                                    tables, mailbox, journal, quarantine reason and closure graph
//   <prog> dot  <store-dir> <actor>  the actor's closure graph in Graphviz DOT
//
// Only registered code can rebuild a closure graph, so the tool is a library entry point: an
// application links its registrations (revenant::function, message_type) and calls
// inspect_main from its own main. The generic `revenant-inspect` binary knows no application
// function: its `list` works on any store, and `dump` prints everything but the graph
// ("graph": null, "graph_error" naming the unknown function); `dot` then fails.
//
// Link revenant::inspect (CMake target revenant_inspect) for it. The store is opened with
// revenant::store (store_options::must_exist: a missing store is refused, not created), which
// needs exclusive access: stop the application first. The tool reads only; it writes no key. A damaged record is reported (the decode error,
// naming the actor), never fatal.
//
// Everything shown is the actor's record. In journal mode (durable_config::snapshot_every > 1) the
// steps taken since it was written are listed under "journal" and not replayed.
//
// The graph: one vertex per closure (labelled with its registered function name), per cell
// (labelled with its type), and per object reached through a std::shared_ptr ("shared object
// #k", numbered in payload order); an edge from a vertex to every vertex its contents
// reference, counted once per pair. A vertex referenced by two or more vertices is shared state
// (filled in DOT, "shared": true in JSON); the actor's own references to its behavior and its
// continuations are drawn from an extra "actor" vertex and do not count. Edges that close a cycle
// (back edges of a depth-first walk from the behavior, then each continuation) are marked (red
// in DOT, "closes_cycle": true in JSON).
// Limitation: the encoder walks a shared object's contents as part of the node that first
// reaches it, so closures, cells and shared objects held inside a shared object are drawn as
// referenced by that node, not by the object; a node reaching the object again adds only the
// edge to the object.
#pragma once

#include <ostream>

namespace revenant {

// Runs the tool with main's arguments (argv[0] is the program name), writing results to out and
// errors to err. Returns the exit code: 0 on success; 1 if the store or actor does not exist,
// the store cannot be opened, or the graph cannot be rebuilt (dot); 2 on bad usage (the usage
// text goes to err). Never throws.
int inspect_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace revenant
