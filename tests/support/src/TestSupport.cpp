// Implementation of the test support helpers (see TestSupport.h for the contract).
#include "ordersystem/testing/TestSupport.h"

#include "ordersystem/testing/RawClient.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace ordersystem::testing {

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ordersystem-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    _path = buf.data();
}

TempDir::~TempDir() {
    // ORDERSYSTEM_TEST_KEEP_TMP=1 keeps a failed run's servers' files for a post-mortem.
    if (const char* keep = std::getenv("ORDERSYSTEM_TEST_KEEP_TMP"); keep && *keep == '1') return;
    std::error_code ec;
    fs::remove_all(_path, ec);
}

int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

bool waitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (predicate()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return predicate();
        std::this_thread::sleep_for(interval);
    }
}

void writeFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

bool evictFromPageCache(const std::string& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    char byte = 0;
    iovec iov{&byte, 1};
    const ssize_t n = preadv2(fd, &iov, 1, lseek(fd, 0, SEEK_END) / 2, RWF_NOWAIT);
    const bool evicted = n < 0 && errno == EAGAIN;
    ::close(fd);
    return evicted;
}

double metricSample(const std::string& metricsText, const std::string& sample) {
    const std::string line = sample + " ";
    for (size_t at = metricsText.find(line); at != std::string::npos; at = metricsText.find(line, at + 1))
        if (at == 0 || metricsText[at - 1] == '\n') return std::strtod(metricsText.c_str() + at + line.size(), nullptr);
    return -1;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---------------------------------------------------------------- ChildProcess

double processCpuSeconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return -1;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double processRssMiB(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
    return -1;
}

int processOpenFiles(int pid) {
    std::error_code ec;
    int n = 0;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end; it.increment(ec))
        ++n;
    return ec ? -1 : n;
}

ChildProcess::ChildProcess(std::string executable, std::vector<std::string> args, std::string logFile,
                           std::map<std::string, std::string> extraEnv, int maxOpenFiles)
    : _logFile(std::move(logFile)) {
    std::vector<std::string> argvStore;
    argvStore.push_back(executable);
    for (auto& a : args) argvStore.push_back(a);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Child: own process group, output to the log file, default signal dispositions.
        ::setpgid(0, 0);
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        const int fd = ::open(_logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::close(fd);
        }
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        for (const auto& kv : extraEnv) ::setenv(kv.first.c_str(), kv.second.c_str(), 1);
        if (maxOpenFiles > 0) {
            const rlimit files{static_cast<rlim_t>(maxOpenFiles), static_cast<rlim_t>(maxOpenFiles)};
            ::setrlimit(RLIMIT_NOFILE, &files);
        }
        std::vector<char*> argv;
        for (auto& a : argvStore) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        std::fprintf(stderr, "exec %s failed: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    _pid = pid;
}

ChildProcess::~ChildProcess() {
    if (_pid > 0 && !_exited) terminate(std::chrono::seconds(10));
}

int ChildProcess::reap(bool block) {
    if (_exited) return _exitCode;
    int status = 0;
    const pid_t r = ::waitpid(_pid, &status, block ? 0 : WNOHANG);
    if (r == _pid) {
        _exited = true;
        _exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    return _exitCode;
}

bool ChildProcess::running() {
    if (_pid <= 0) return false;
    reap(false);
    return !_exited;
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    waitUntil([this] { return !running(); }, timeout, std::chrono::milliseconds(20));
    return _exited ? _exitCode : -1000;
}

int ChildProcess::terminate(std::chrono::milliseconds timeout) {
    if (!running()) return _exitCode;
    ::kill(_pid, SIGTERM);
    ::kill(_pid, SIGCONT);  // a stopped process only acts on SIGTERM once it runs again
    if (wait(timeout) != -1000) return _exitCode;
    kill9();
    return -1000;
}

void ChildProcess::signal(int sig) {
    if (running()) ::kill(_pid, sig);
}

void ChildProcess::kill9() {
    if (!running()) return;
    ::kill(_pid, SIGKILL);
    reap(true);
}

// ---------------------------------------------------------------- HTTP

ordersystem::sdk::JsonValue HttpResult::json() const {
    auto r = ordersystem::sdk::parseJson(body);
    return r.isOk() ? r.value() : ordersystem::sdk::JsonValue();
}

HttpResult httpRequest(int port, const std::string& method, const std::string& pathAndQuery, const std::string& body,
                       std::vector<std::pair<std::string, std::string>> headers, std::chrono::milliseconds timeout) {
    return httpRequest("127.0.0.1", port, method, pathAndQuery, body, std::move(headers), timeout);
}

HttpResult httpRequest(const std::string& host, int port, const std::string& method, const std::string& pathAndQuery,
                       const std::string& body, std::vector<std::pair<std::string, std::string>> headers,
                       std::chrono::milliseconds timeout) {
    HttpResult result;
    try {
        Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
        session.setTimeout(Poco::Timespan(static_cast<long>(timeout.count() / 1000),
                                          static_cast<long>((timeout.count() % 1000) * 1000)));
        Poco::Net::HTTPRequest req(method, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(false);
        for (const auto& h : headers) req.set(h.first, h.second);
        if (!body.empty() || method == "POST" || method == "PUT")
            req.setContentLength(static_cast<std::streamsize>(body.size()));
        std::ostream& os = session.sendRequest(req);
        os << body;
        Poco::Net::HTTPResponse res;
        std::istream& is = session.receiveResponse(res);
        Poco::StreamCopier::copyToString(is, result.body);
        result.status = static_cast<int>(res.getStatus());
        for (const auto& h : res) {
            std::string name = h.first;
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            result.headers[name] = h.second;
        }
    } catch (const std::exception& e) {
        result.status = 0;
        result.error = e.what();
    }
    return result;
}

HttpResult httpPostJson(int port, const std::string& path, const std::string& json,
                        std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back("Content-Type", "application/json");
    return httpRequest(port, "POST", path, json, std::move(headers));
}

std::string urlEncode(const std::string& text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
    return out;
}

// ---------------------------------------------------------------- build layout

std::string buildDir() {
    const char* b = std::getenv("ORDERSYSTEM_BUILD_DIR");
    return b && *b ? b : ORDERSYSTEM_DEFAULT_BUILD_DIR;
}

std::string sourceDir() {
    const char* s = std::getenv("ORDERSYSTEM_SOURCE_DIR");
    return s && *s ? s : ORDERSYSTEM_DEFAULT_SOURCE_DIR;
}

std::string hostExecutable() { return buildDir() + "/bin/ordersystem"; }
std::string pluginDir() { return buildDir() + "/lib/ordersystem/plugins"; }

// ---------------------------------------------------------------- OrderNode

OrderNode::OrderNode(std::string dataRoot, Options options, int port)
    : _dataRoot(std::move(dataRoot)), _options(std::move(options)), _port(port == 0 ? freePort() : port) {
    fs::create_directories(_dataRoot);
    _configPath = _dataRoot + "/ordersystem.ini";
    std::map<std::string, std::map<std::string, std::string>> ini;
    ini["node"]["id"] = _options.nodeId;
    ini["node"]["data_dir"] = "data";
    ini["node"]["durability"] = _options.durability;
    ini["http"]["host"] = _options.host;
    ini["http"]["port"] = std::to_string(_port);
    ini["plugins"]["dir"] = pluginDir();
    std::string load = "orders, " + _options.transport;
    if (!_options.extraPlugins.empty()) load += ", " + _options.extraPlugins;
    ini["plugins"]["load"] = load;
    if (_options.transport == "transport-redis") ini["transport.redis"]["url"] = _options.brokerUrl;
    if (_options.transport == "transport-nats") ini["transport.nats"]["url"] = _options.brokerUrl;
    if (_options.extraPlugins.find("notifications") != std::string::npos)
        ini["notifications"]["webhook_url"] = _options.webhookUrl;
    for (const auto& section : _options.extraKeys)
        for (const auto& kv : section.second) ini[section.first][kv.first] = kv.second;
    std::string text = "; written by the test\n";
    for (const auto& section : ini) {
        text += "[" + section.first + "]\n";
        for (const auto& kv : section.second) text += kv.first + " = " + kv.second + "\n";
        text += "\n";
    }
    writeFile(_configPath, text);
}

OrderNode::~OrderNode() {
    if (_process) _process->terminate(std::chrono::seconds(15));
}

bool OrderNode::start(std::chrono::milliseconds timeout) {
    if (_process && _process->running()) return true;
    ++_starts;
    std::string executable = hostExecutable();
    std::vector<std::string> args{"--config=" + _configPath};
    if (!_options.netns.empty()) {
        args.insert(args.begin(), {"netns", "exec", _options.netns, executable});
        executable = "ip";  // execs in place, so the pid is the node's own
    }
    _process = std::make_unique<ChildProcess>(executable, args, _dataRoot + "/node-" + std::to_string(_starts) + ".log",
                                              std::map<std::string, std::string>{}, _options.maxOpenFiles);
    return waitUntil(
               [this] {
                   if (!_process->running()) return true;
                   return tls() ? RawClient(_port, true).stillServes("/health/live")
                                : httpRequest(host(), _port, "GET", "/health/live").status == 200;
               },
               timeout, std::chrono::milliseconds(50)) &&
           _process->running();
}

bool OrderNode::waitReady(std::chrono::milliseconds timeout) {
    return waitUntil([this] { return running() && httpRequest(host(), _port, "GET", "/health/ready").status == 200; },
                     timeout, std::chrono::milliseconds(100));
}

int OrderNode::stop() { return _process ? _process->terminate(std::chrono::seconds(15)) : 0; }

void OrderNode::kill9() {
    if (_process) _process->kill9();
}

// ---------------------------------------------------------------- brokers

namespace {
bool onPath(const char* program) {
    const std::string cmd = std::string("command -v ") + program + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}
}  // namespace

bool portOpen(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

RedisServer::RedisServer(std::string dir, int port) : _dir(std::move(dir)), _port(port == 0 ? freePort() : port) {
    fs::create_directories(_dir);
}
RedisServer::~RedisServer() { stop(); }
bool RedisServer::available() { return onPath("redis-server"); }

bool RedisServer::start(std::chrono::milliseconds timeout) {
    _process = std::make_unique<ChildProcess>(
        "redis-server",
        std::vector<std::string>{"--port", std::to_string(_port), "--bind", "127.0.0.1", "--dir", _dir, "--appendonly",
                                 "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no",
                                 "--daemonize", "no"},
        _dir + "/redis.log");
    return waitUntil([this] { return !_process->running() || portOpen(_port); }, timeout) && _process->running();
}
void RedisServer::stop() {
    if (_process) _process->terminate(std::chrono::seconds(10));
}
void RedisServer::kill9() {
    if (_process) _process->kill9();
}

NatsServer::NatsServer(std::string dir, int port) : _dir(std::move(dir)), _port(port == 0 ? freePort() : port) {
    fs::create_directories(_dir);
}
NatsServer::~NatsServer() { stop(); }
bool NatsServer::available() { return onPath("nats-server"); }

bool NatsServer::start(std::chrono::milliseconds timeout) {
    _process = std::make_unique<ChildProcess>(
        "nats-server",
        std::vector<std::string>{"-js", "-a", "127.0.0.1", "-p", std::to_string(_port), "-sd", _dir + "/store"},
        _dir + "/nats.log");
    return waitUntil([this] { return !_process->running() || portOpen(_port); }, timeout) && _process->running();
}
void NatsServer::stop() {
    if (_process) _process->terminate(std::chrono::seconds(10));
}
void NatsServer::kill9() {
    if (_process) _process->kill9();
}

}  // namespace ordersystem::testing
