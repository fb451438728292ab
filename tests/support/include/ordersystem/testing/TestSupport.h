// Test support for end-to-end and integration tests: temp folders, free loopback ports,
// child processes that are always stopped, a small HTTP client, and throwaway redis-server /
// nats-server instances. Every process started here is stopped by its destructor.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ordersystem/sdk/json.h"

namespace ordersystem::testing {

/// A fresh folder under $TMPDIR, removed (recursively) by the destructor.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }

private:
    std::string _path;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int freePort();
/// Something accepts connections on 127.0.0.1:port now.
bool portOpen(int port);

/// Polls until predicate() is true or timeout passes; returns the last predicate() value.
bool waitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

void writeFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);
/// Drops a file's pages from the kernel's page cache (fdatasync, then POSIX_FADV_DONTNEED); false
/// when they stay (tmpfs) or the kernel cannot tell (no RWF_NOWAIT for buffered reads).
bool evictFromPageCache(const std::string& file);
/// The value of one sample of a /metrics text (its name with labels exactly as printed, e.g.
/// `ordersystem_reads_sent_to_workers_total{reason="disk"}`); -1 when no line starts with it.
double metricSample(const std::string& metricsText, const std::string& sample);

/// CPU seconds (user + system) a process has used so far; -1 when it is gone.
double processCpuSeconds(int pid);
/// A process's resident memory now, in MiB; -1 when it is gone.
double processRssMiB(int pid);
/// Open file descriptors of a process; -1 when it is gone.
int processOpenFiles(int pid);

/// A child process with stdout+stderr captured to a log file. Destructor: SIGTERM, then SIGKILL.
class ChildProcess {
public:
    /// maxOpenFiles > 0: the child's open-file limit (soft and hard), as `ulimit -n` would set it.
    ChildProcess(std::string executable, std::vector<std::string> args, std::string logFile,
                 std::map<std::string, std::string> extraEnv = {}, int maxOpenFiles = 0);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    int pid() const { return _pid; }
    bool running();
    /// Sends SIGTERM and waits; returns the exit code (-signal when killed), or -1000 on timeout
    /// (the process is then SIGKILLed).
    int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    /// SIGKILL and reap.
    void kill9();
    /// Sends a signal without waiting (SIGSTOP / SIGCONT to freeze and thaw it).
    void signal(int sig);
    /// Waits for exit without signalling; exit code or -1000 on timeout.
    int wait(std::chrono::milliseconds timeout);
    std::string output() const { return readFile(_logFile); }

private:
    int reap(bool block);
    int _pid = -1;
    int _exitCode = -1000;
    bool _exited = false;
    std::string _logFile;
};

struct HttpResult {
    int status = 0;                              ///< 0 = no answer (connection refused, timeout)
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    std::string error;
    /// Parsed body (JsonValue null when not JSON).
    ordersystem::sdk::JsonValue json() const;
    std::string header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// One request on a fresh connection to host:port (an address outside loopback, e.g. a network
/// namespace's); connection errors and timeouts come back as status 0.
HttpResult httpRequest(const std::string& host, int port, const std::string& method, const std::string& pathAndQuery,
                       const std::string& body = {}, std::vector<std::pair<std::string, std::string>> headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
/// One request on a fresh connection to 127.0.0.1 (keep-alive not needed in tests).
HttpResult httpRequest(int port, const std::string& method, const std::string& pathAndQuery,
                       const std::string& body = {}, std::vector<std::pair<std::string, std::string>> headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
inline HttpResult httpGet(int port, const std::string& path) { return httpRequest(port, "GET", path); }
/// POST with Content-Type: application/json.
HttpResult httpPostJson(int port, const std::string& path, const std::string& json,
                        std::vector<std::pair<std::string, std::string>> headers = {});
/// Percent-encodes a path segment or query value.
std::string urlEncode(const std::string& text);

/// Where the build put things (env ORDERSYSTEM_BUILD_DIR set by ctest).
std::string buildDir();
std::string sourceDir();
std::string hostExecutable();  ///< <build>/bin/ordersystem
std::string pluginDir();       ///< <build>/lib/ordersystem/plugins

/// One ordersystem node: writes <dir>/ordersystem.ini from sections, starts the executable
/// with --config, waits for /health/live. Destructor stops it (SIGTERM).
class OrderNode {
public:
    struct Options {
        std::string nodeId = "node-1";
        std::string transport = "transport-inmemory";  ///< or transport-redis / transport-nats
        std::string brokerUrl;                         ///< for redis/nats
        std::string durability = "normal";
        std::string webhookUrl;
        std::string extraPlugins = "notifications, analytics";
        /// Extra ini text appended verbatim (e.g. "[http]\nmax_body_bytes = 100\n" is NOT allowed
        /// twice for one section: use extraKeys instead).
        std::map<std::string, std::map<std::string, std::string>> extraKeys;  ///< section -> key -> value
        int maxOpenFiles = 0;            ///< > 0: the node's open-file limit (ulimit -n)
        std::string host = "127.0.0.1";  ///< the address it listens on and is reached at
        std::string netns;               ///< non-empty: runs inside this network namespace (ip netns exec)
    };
    /// dataRoot: the node's folder (ini, data). port 0 = pick a free one.
    OrderNode(std::string dataRoot, Options options, int port = 0);
    ~OrderNode();

    /// Starts and waits until /health/live answers (false on timeout or early exit).
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Waits until /health/ready is 200.
    bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    int stop();  ///< SIGTERM; exit code
    void kill9();
    bool running() const { return _process && _process->running(); }
    int port() const { return _port; }
    const std::string& host() const { return _options.host; }
    /// The node serves HTTPS ([http] tls_cert in extraKeys).
    bool tls() const {
        auto it = _options.extraKeys.find("http");
        return it != _options.extraKeys.end() && it->second.count("tls_cert") > 0;
    }
    const std::string& configPath() const { return _configPath; }
    const std::string& dataRoot() const { return _dataRoot; }
    std::string output() const { return _process ? _process->output() : std::string(); }
    ChildProcess* process() { return _process.get(); }

private:
    std::string _dataRoot;
    Options _options;
    int _port;
    std::string _configPath;
    int _starts = 0;
    std::unique_ptr<ChildProcess> _process;
};

/// redis-server on a free loopback port in its own temp folder, appendonly yes.
class RedisServer {
public:
    explicit RedisServer(std::string dir, int port = 0);
    ~RedisServer();
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void stop();  ///< SIGTERM
    void kill9();
    int port() const { return _port; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(_port); }
    static bool available();  ///< redis-server is on PATH

private:
    std::string _dir;
    int _port;
    std::unique_ptr<ChildProcess> _process;
};

/// nats-server -js on a free loopback port with its store in its own temp folder.
class NatsServer {
public:
    explicit NatsServer(std::string dir, int port = 0);
    ~NatsServer();
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void stop();
    void kill9();
    int port() const { return _port; }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(_port); }
    static bool available();

private:
    std::string _dir;
    int _port;
    std::unique_ptr<ChildProcess> _process;
};

}  // namespace ordersystem::testing
