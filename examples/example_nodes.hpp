// What the two-process examples share: a free port of 127.0.0.1, and a node started as a child
// process of the example's own program that says "up" when it is ready and serves until its
// standard input closes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/actor_system.hpp"

extern char** environ;

namespace examples {

// Node self of cluster, listening on 127.0.0.1:port, with one peer at 127.0.0.1:peer_port;
// plaintext links (two processes on one machine: no TLS for a demo).
inline revenant::actor_system_config two_node_config(const std::string& cluster, const std::string& self,
                                                     const std::string& peer, std::uint16_t port,
                                                     std::uint16_t peer_port) {
  revenant::node_config n;
  n.name = self;
  n.cluster = cluster;
  n.listen = {"127.0.0.1", port};
  n.peers[peer] = {"127.0.0.1", peer_port};
  n.plaintext = true;
  revenant::actor_system_config config;
  config.node = n;
  return config;
}

// A child process: its pid, and the write end of its standard input (closing it stops it).
struct child {
  pid_t pid = -1;
  int to = -1;
};

// Starts `self args...` with its standard input and output on pipes, and returns once it
// writes "up" as its first line. Throws std::runtime_error if it cannot start or says otherwise.
inline child start_node(const std::string& self, std::vector<std::string> args) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("cannot make a pipe for a node");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, in[1]);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  args.insert(args.begin(), self);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  child c;
  const int rc = posix_spawn(&c.pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  if (rc != 0) throw std::runtime_error("cannot start node " + args.at(1));
  c.to = in[1];
  FILE* said = fdopen(out[0], "r");
  char line[64];
  const bool up = fgets(line, sizeof line, said) != nullptr && std::string(line) == "up\n";
  fclose(said);
  if (!up) throw std::runtime_error("node " + args.at(1) + " did not start");
  return c;
}

// The main() of a two-process example named program: `program demo <dir>` runs demo(self, dir)
// (self: this program's path, to start node b with), and `program serve-b <dir> <port>
// <a's port>` is node b, run by serve(dir, port, a_port). Errors are printed, never thrown.
template <class Demo, class Serve>
int run_two_node_example(int argc, char** argv, const char* program, Demo demo, Serve serve) {
  const std::string self = std::filesystem::canonical("/proc/self/exe").string();
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "demo" && argc == 3) return demo(self, argv[2]);
    if (command == "serve-b" && argc == 5)
      return serve(argv[2], static_cast<std::uint16_t>(std::stoi(argv[3])), static_cast<std::uint16_t>(std::stoi(argv[4])));
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << '\n';
    return 1;
  }
  std::cerr << "usage: " << program << " demo <dir>\n";
  return 2;
}

// A port of 127.0.0.1 that is free now (a node will listen on it).
inline std::uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof at;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size) == 0;
  if (fd >= 0) close(fd);
  if (!ok) throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(at.sin_port);
}

}  // namespace examples
