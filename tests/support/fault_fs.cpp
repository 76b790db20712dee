#include "tests/support/fault_fs.hpp"

#include "storage/internal/store_env.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <filesystem>
#include <system_error>

namespace revenant::test {
namespace {

std::string directory_of(const std::string& name) {
  return std::filesystem::path(name).parent_path().lexically_normal().string();
}
std::string normal(const std::string& name) { return std::filesystem::path(name).lexically_normal().string(); }

// A writable file whose writes and syncs go through the fault file system's bookkeeping. Every
// operation holds the file system's lock across the real call, so a power cut falls between
// operations, never inside one.
class fault_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  fault_file(fault_file_system& fs, std::string name, std::unique_ptr<rocksdb::FSWritableFile> file)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return write(data.size(), [&] { return target()->Append(data, options, dbg); });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    return write(data.size(), [&] { return target()->Append(data, options, info, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset, const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return write(data.size(), [&] { return target()->PositionedAppend(data, offset, options, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset, const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    return write(data.size(), [&] { return target()->PositionedAppend(data, offset, options, info, dbg); });
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    auto io = fs_.hold();
    rocksdb::IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) fs_.truncated(name_, size);
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return sync([&] { return target()->Sync(options, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return sync([&] { return target()->Fsync(options, dbg); });
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    auto io = fs_.hold();
    return target()->Flush(options, dbg);
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    auto io = fs_.hold();
    return target()->Close(options, dbg);
  }

 private:
  template <class Op>
  rocksdb::IOStatus write(std::uint64_t bytes, Op op) {
    auto io = fs_.hold();
    if (rocksdb::IOStatus refused = fs_.appending(name_, bytes); !refused.ok()) return refused;
    rocksdb::IOStatus s = op();
    fs_.appended(name_, s.ok() ? bytes : 0);
    return s;
  }
  template <class Op>
  rocksdb::IOStatus sync(Op op) {
    auto io = fs_.hold();
    rocksdb::IOStatus s = op();
    if (s.ok()) fs_.synced(name_);
    return s;
  }

  fault_file_system& fs_;
  std::string name_;
};

class fault_directory final : public rocksdb::FSDirectory {
 public:
  fault_directory(fault_file_system& fs, std::string name, std::unique_ptr<rocksdb::FSDirectory> dir)
      : fs_(fs), name_(std::move(name)), dir_(std::move(dir)) {}
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    auto io = fs_.hold();
    rocksdb::IOStatus s = dir_->Fsync(options, dbg);
    if (s.ok()) fs_.directory_synced(name_);
    return s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_options) override {
    auto io = fs_.hold();
    rocksdb::IOStatus s = dir_->FsyncWithDirOptions(options, dbg, dir_options);
    if (s.ok()) fs_.directory_synced(name_);
    return s;
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return dir_->Close(options, dbg);
  }
  size_t GetUniqueId(char* id, size_t max_size) const override { return dir_->GetUniqueId(id, max_size); }

 private:
  fault_file_system& fs_;
  std::string name_;
  std::unique_ptr<rocksdb::FSDirectory> dir_;
};

}  // namespace

fault_file_system::fault_file_system(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}

void fault_file_system::fill_after(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  limited_ = true;
  space_left_ = bytes;
}

void fault_file_system::free_space() {
  std::lock_guard lock(mutex_);
  limited_ = false;
}

std::uint64_t fault_file_system::refused_writes() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

std::uint64_t fault_file_system::cut_power() {
  std::lock_guard io(io_mutex_);  // between file operations, never inside one
  return discard_unsynced();
}

void fault_file_system::cut_power_before(std::uint64_t operation) {
  std::lock_guard io(io_mutex_);
  cut_before_ = operations_ + operation;
}

std::uint64_t fault_file_system::discard_unsynced() {
  std::lock_guard lock(mutex_);
  powered_ = false;
  std::uint64_t lost = 0;
  for (const auto& [name, state] : files_) {
    std::error_code error;
    if (!state.entry_synced) {
      lost += state.size;
      std::filesystem::remove(name, error);
    } else if (state.size > state.synced) {
      lost += state.size - state.synced;
      std::filesystem::resize_file(name, state.synced, error);
    }
  }
  return lost;
}

std::unique_lock<std::mutex> fault_file_system::hold() {
  std::unique_lock io(io_mutex_);
  if (++operations_ == cut_before_) {
    const std::uint64_t lost = discard_unsynced();
    std::printf("power cut at operation %llu: %llu unsynced bytes thrown away\n",
                static_cast<unsigned long long>(operations_), static_cast<unsigned long long>(lost));
    std::fflush(stdout);
    ::kill(::getpid(), SIGKILL);
  }
  bool on;
  {
    std::lock_guard lock(mutex_);
    on = powered_;
  }
  if (on) return io;
  io.unlock();
  for (;;) pause();  // the power is off: this thread waits for the kill
}

rocksdb::IOStatus fault_file_system::appending(const std::string& name, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  if (limited_) {
    if (bytes > space_left_) {
      ++refused_;
      return rocksdb::IOStatus::NoSpace("no space left on device (fault injection), writing " + name);
    }
    space_left_ -= bytes;
  }
  return rocksdb::IOStatus::OK();
}

void fault_file_system::appended(const std::string& name, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  files_[name].size += bytes;
}

void fault_file_system::truncated(const std::string& name, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  auto& f = files_[name];
  f.size = size;
  f.synced = std::min(f.synced, size);
}

void fault_file_system::synced(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& f = files_[name];
  f.synced = f.size;
}

void fault_file_system::directory_synced(const std::string& directory) {
  std::lock_guard lock(mutex_);
  entries_durable(normal(directory));
}

void fault_file_system::entries_durable(const std::string& directory) {
  for (auto& [name, state] : files_)
    if (directory_of(name) == directory) state.entry_synced = true;
}

rocksdb::IOStatus fault_file_system::track(const std::string& name, rocksdb::IOStatus s,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result, bool fresh) {
  if (!s.ok()) return s;
  const std::string key = normal(name);
  {
    std::lock_guard lock(mutex_);
    if (fresh || !files_.contains(key)) {
      file_state state;
      if (!fresh) {  // written by an earlier process: all of it is on disk already
        std::error_code error;
        state.size = state.synced = std::filesystem::file_size(key, error);
        state.entry_synced = true;
      }
      files_[key] = state;
    }
  }
  *result = std::make_unique<fault_file>(*this, key, std::move(*result));
  return s;
}

rocksdb::IOStatus fault_file_system::NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                     std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                     rocksdb::IODebugContext* dbg) {
  auto io = hold();
  {
    std::lock_guard lock(mutex_);
    if (limited_ && space_left_ == 0) {
      ++refused_;
      return rocksdb::IOStatus::NoSpace("no space left on device (fault injection), creating " + name);
    }
  }
  return track(name, target()->NewWritableFile(name, options, result, dbg), result, true);
}

rocksdb::IOStatus fault_file_system::ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                        std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                        rocksdb::IODebugContext* dbg) {
  auto io = hold();
  return track(name, target()->ReopenWritableFile(name, options, result, dbg), result, false);
}

rocksdb::IOStatus fault_file_system::ReuseWritableFile(const std::string& name, const std::string& old_name,
                                                       const rocksdb::FileOptions& options,
                                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                       rocksdb::IODebugContext* dbg) {
  auto io = hold();
  {
    std::lock_guard lock(mutex_);
    files_.erase(normal(old_name));
  }
  return track(name, target()->ReuseWritableFile(name, old_name, options, result, dbg), result, true);
}

rocksdb::IOStatus fault_file_system::NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                                  std::unique_ptr<rocksdb::FSDirectory>* result,
                                                  rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewDirectory(name, options, result, dbg);
  if (s.ok()) *result = std::make_unique<fault_directory>(*this, name, std::move(*result));
  return s;
}

rocksdb::IOStatus fault_file_system::DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                                                rocksdb::IODebugContext* dbg) {
  auto io = hold();
  rocksdb::IOStatus s = target()->DeleteFile(name, options, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    files_.erase(normal(name));
  }
  return s;
}

rocksdb::IOStatus fault_file_system::RenameFile(const std::string& from, const std::string& to,
                                                const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  auto io = hold();
  rocksdb::IOStatus s = target()->RenameFile(from, to, options, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    auto it = files_.find(normal(from));
    if (it != files_.end()) {
      file_state state = it->second;
      files_.erase(it);
      files_[normal(to)] = state;
    } else {
      files_.erase(normal(to));
    }
    // A rename is taken as durable at once, and metadata reaches the disk in order: every
    // entry created in the directory before it is durable too (see the header). Without this,
    // CURRENT could survive a cut naming a MANIFEST that did not.
    entries_durable(directory_of(normal(to)));
  }
  return s;
}

std::unique_ptr<rocksdb::Env> make_env(const std::shared_ptr<rocksdb::FileSystem>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

fault_env_scope::fault_env_scope(std::shared_ptr<fault_file_system> fs) : fs_(std::move(fs)), env_(make_env(fs_)) {
  detail::store_test_env() = env_.get();
}

fault_env_scope::~fault_env_scope() { detail::store_test_env() = nullptr; }

void cut_power_later(std::shared_ptr<fault_file_system> fs, std::chrono::microseconds delay) {
  std::thread([fs = std::move(fs), delay] {
    std::this_thread::sleep_for(delay);
    const std::uint64_t lost = fs->cut_power();
    std::printf("power cut: %llu unsynced bytes thrown away\n", static_cast<unsigned long long>(lost));
    std::fflush(stdout);
    ::kill(::getpid(), SIGKILL);
  }).detach();
}

}  // namespace revenant::test
