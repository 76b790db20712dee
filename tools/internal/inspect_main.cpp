// The inspect tool's entry point (tools/inspect.hpp): usage and the dispatch to its commands
// (commands.hpp).
#include "tools/inspect.hpp"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tools/internal/commands.hpp"

namespace revenant {
namespace {

constexpr std::string_view usage_text =
    "usage:\n"
    "  %s list <store-dir>          every actor: behavior, record size, mailbox, asks, timers, quarantine;\n"
    "                               then migrations: actors moving, moved, or arriving\n"
    "  %s dump <store-dir> <actor>  one actor as JSON, with its closure graph\n"
    "  %s dot  <store-dir> <actor>  the actor's closure graph as Graphviz DOT (| dot -Tsvg)\n"
    "The store must not be open in another process. Rebuilding a closure graph needs the application's\n"
    "registered functions: link them into a program that calls revenant::inspect_main.\n";

void print_usage(std::ostream& to, const std::string& program) {
  std::string text(usage_text);
  for (std::size_t at = text.find("%s"); at != std::string::npos; at = text.find("%s", at + program.size()))
    text.replace(at, 2, program);
  to << text;
}

}  // namespace

int inspect_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string program = "revenant-inspect";
  if (argc > 0 && argv[0] != nullptr && argv[0][0] != '\0') program = std::filesystem::path(argv[0]).filename().string();
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + std::max(argc, 0));
  const auto bad_usage = [&](const std::string& why) {
    err << program << ": " << why << '\n';
    print_usage(err, program);
    return 2;
  };
  if (args.empty()) return bad_usage("no command given");
  const std::string& command = args[0];
  if (command == "help" || command == "--help" || command == "-h") {
    print_usage(out, program);
    return 0;
  }
  try {
    if (command == "list") {
      if (args.size() != 2) return bad_usage("`list` takes one argument: <store-dir>");
      return detail::list_actors(args[1], out);
    }
    if (command == "dump" || command == "dot") {
      if (args.size() != 3) return bad_usage("`" + command + "` takes two arguments: <store-dir> <actor>");
      return command == "dump" ? detail::dump_actor(args[1], args[2], out)
                               : detail::dot_graph(args[1], args[2], out, err, program);
    }
  } catch (const std::exception& e) {
    err << program << ": " << e.what() << '\n';
    return 1;
  } catch (...) {
    err << program << ": failed with a non-standard exception\n";
    return 1;
  }
  return bad_usage("unknown command \"" + command + "\"");
}

}  // namespace revenant
