// A test hook: the RocksDB environment (file system, clock, threads) that every store opened
// afterwards in this process runs on, so fault-injection tests can put a file system that fails
// or forgets writes under a whole actor system. Null (the default): RocksDB's own.
// Not for applications; set it before opening a store and keep the environment alive until
// every store opened on it is closed.
#pragma once

namespace rocksdb {
class Env;
}

namespace revenant::detail {

rocksdb::Env*& store_test_env() noexcept;

}  // namespace revenant::detail
