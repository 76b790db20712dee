#include "actors/detail/archive.hpp"

namespace revenant::detail {

const function_entry& graph_input_archive::load_function(const void* signature, std::string_view signature_name) {
  const std::size_t at = pos_;
  const std::uint32_t index = read_u32();
  const function_entry* fn = nullptr;
  if (index < functions_.size()) {
    fn = functions_[index];
  } else if (index == functions_.size()) {
    // A new function-table entry: name, then the capture count the writer's code had.
    const std::size_t name_at = pos_;
    const std::string_view name = read_view(read_length());
    const std::uint32_t captures = read_u32();
    // Entries are never removed or changed once registered, so a per-thread memo of the last
    // lookup stays valid and spares the registry's lock for the common one-function snapshot.
    thread_local const function_entry* last_found = nullptr;
    fn = last_found != nullptr && last_found->name == name ? last_found : find_function(name);
    if (fn != nullptr) last_found = fn;
    if (fn == nullptr)
      fail_at(name_at, snapshot_errc::unknown_function,
              "unknown function \"" + std::string(name) +
                  "\": no function is registered under this name in this program "
                  "(register it with revenant::function<Signature, fn>{\"" + std::string(name) + "\"})");
    if (captures != fn->capture_count)
      fail_at(name_at, snapshot_errc::signature_mismatch,
              "function \"" + std::string(name) + "\" was saved with " + std::to_string(captures) + " captured values, but " +
                  std::string(fn->cpp_name) + " captures " + std::to_string(fn->capture_count) +
                  " in this program (give a changed function a new name)");
    functions_.push_back(fn);
  } else {
    fail_at(at, snapshot_errc::bad_reference,
            "function reference " + std::to_string(index) + " but only " + std::to_string(functions_.size()) +
                " functions are defined so far");
  }
  if (fn->signature != signature)
    fail_at(at, snapshot_errc::signature_mismatch,
            "function \"" + fn->name + "\" makes closures of signature " + std::string(fn->signature_name) +
                ", expected " + std::string(signature_name));
  return *fn;
}

void graph_input_archive::finish() {
  while (filled_ < nodes_.size()) nodes_[filled_++]->load_contents(*this);
  if (remaining() != 0)
    fail(snapshot_errc::malformed, std::to_string(remaining()) + " bytes remain after the last node");
  finished_ = true;
}

}  // namespace revenant::detail
