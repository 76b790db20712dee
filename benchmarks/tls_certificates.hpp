// Throwaway certificates for mutual TLS over 127.0.0.1: a CA made for one benchmark run, and a
// server and a client certificate it signed, written as PEM files to a fresh temporary
// directory that the destructor removes.
#pragma once

#include <string>

namespace remote_bench {

class tls_certificates {
 public:
  // Generates a P-256 CA and two leaf certificates (the server's names 127.0.0.1 as its IP
  // address). Throws std::runtime_error with OpenSSL's reason if anything fails.
  tls_certificates();
  ~tls_certificates();
  tls_certificates(const tls_certificates&) = delete;
  tls_certificates& operator=(const tls_certificates&) = delete;

  // The directory holding ca.pem, server.pem, server.key, client.pem and client.key.
  const std::string& dir() const { return dir_; }

  // Paths of the files in a directory made by this class (a child process gets only the dir).
  static std::string ca(const std::string& dir) { return dir + "/ca.pem"; }
  static std::string certificate(const std::string& dir, const std::string& who) { return dir + "/" + who + ".pem"; }
  static std::string key(const std::string& dir, const std::string& who) { return dir + "/" + who + ".key"; }

 private:
  std::string dir_;
};

}  // namespace remote_bench
