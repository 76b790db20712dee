// A RocksDB file system for fault-injection tests, put under a whole actor system through
// detail::store_test_env(): it can fill the disk, and it can cut the power — throw
// away every byte not yet synced, as an OS crash or a power loss does — the way LevelDB's
// fault-injection test models one.
//
// Model of durability (what a power cut keeps): a file's bytes up to its last Sync/Fsync, if
// its directory entry was synced (a directory Fsync after its creation). Everything else is
// lost: bytes appended since the last sync are cut off, files created since their directory's
// last sync are deleted. Metadata reaches the disk in order, as on a journaling file system:
// renames and deletions are taken as durable at once (RocksDB syncs the renamed file before and
// its directory after), and a rename makes every entry created before it in its directory
// durable too.
//
// Thread-safety: every operation may come from any thread; file writes are serialised.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace revenant::test {

class fault_file_system : public rocksdb::FileSystemWrapper {
 public:
  explicit fault_file_system(const std::shared_ptr<rocksdb::FileSystem>& base = rocksdb::FileSystem::Default());
  static const char* kClassName() { return "RevenantTestFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // Full disk: once `bytes` more have been written, every write and file creation fails with
  // NoSpace (as ENOSPC does), until free_space().
  void fill_after(std::uint64_t bytes);
  void free_space();
  // Writes that failed for want of space so far.
  std::uint64_t refused_writes() const;

  // Power cut: from now on every write, sync and file operation blocks for ever (the process
  // is expected to be killed next); on disk, what a power loss would not have kept is thrown
  // away now (see above). Returns the bytes thrown away.
  std::uint64_t cut_power();
  // Power cut at a named point: just before the `operation`-th file operation from now (1 is
  // the next one: a create, write, sync, rename or delete, or a directory sync), the power is
  // cut as above, "power cut at operation N" is printed on stdout, and the process dies by
  // SIGKILL.
  void cut_power_before(std::uint64_t operation);

  // ---- rocksdb::FileSystem ----
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the file and directory wrappers (internal).
  struct file_state {
    std::uint64_t size = 0;    // bytes written
    std::uint64_t synced = 0;  // bytes a power cut keeps
    bool entry_synced = false; // the directory entry survives a power cut
  };
  // Holds the file-operation lock for one real operation (a power cut waits for it to end);
  // once the power is cut, blocks for ever instead.
  std::unique_lock<std::mutex> hold();
  rocksdb::IOStatus appending(const std::string& name, std::uint64_t bytes);  // before a write, under hold()
  void appended(const std::string& name, std::uint64_t bytes);
  void truncated(const std::string& name, std::uint64_t size);
  void synced(const std::string& name);
  void directory_synced(const std::string& directory);

 private:
  rocksdb::IOStatus track(const std::string& name, rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* result,
                          bool fresh);
  // Every entry in `directory` (normalised) survives a power cut from now on; under mutex_.
  void entries_durable(const std::string& directory);
  // cut_power()'s work, with io_mutex_ held by the caller.
  std::uint64_t discard_unsynced();

  std::mutex io_mutex_;       // held across each real file operation (hold())
  mutable std::mutex mutex_;  // the bookkeeping below
  std::map<std::string, file_state> files_;  // guarded by mutex_; files written through this
  bool powered_ = true;                       // guarded by mutex_
  std::uint64_t operations_ = 0;              // guarded by io_mutex_: counted by hold()
  std::uint64_t cut_before_ = 0;              // guarded by io_mutex_: 0 is never
  bool limited_ = false;                      // guarded by mutex_
  std::uint64_t space_left_ = 0;              // guarded by mutex_
  std::uint64_t refused_ = 0;                 // guarded by mutex_
};

// An Env running on fs (RocksDB's default threads and clock), for store_test_env().
std::unique_ptr<rocksdb::Env> make_env(const std::shared_ptr<rocksdb::FileSystem>& fs);

// Puts a fault file system under every store opened while it lives, and takes it away again.
class fault_env_scope {
 public:
  explicit fault_env_scope(std::shared_ptr<fault_file_system> fs);
  ~fault_env_scope();
  fault_env_scope(const fault_env_scope&) = delete;
  fault_env_scope& operator=(const fault_env_scope&) = delete;

 private:
  std::shared_ptr<fault_file_system> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

// Cuts the power on fs after `delay` (fault_file_system::cut_power) and kills this process
// with SIGKILL, from a thread of its own; if the process ends first, nothing happens.
void cut_power_later(std::shared_ptr<fault_file_system> fs, std::chrono::microseconds delay);

}  // namespace revenant::test
